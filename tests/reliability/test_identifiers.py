"""Column names with backticks, quotes, spaces, dots and non-ASCII, through every write
mode that renders SQL text (issue #9, item 5), on the delta_rs engine.

Before the fix, delta-rs's ``when_matched_update_all`` built ``t.`a`b``` unescaped, so a
backtick in any source column broke every merge after the first load. The property test
loads generated names and values from a SQLite source through the real ``DataLoader``
twice (the second load merges / replaces / appends) and compares the Delta table with a
reference read done with raw ``sqlite3``. The Spark half is tests/spark/test_identifiers_spark.py.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataloader_sdk.config import Settings
from dataloader_sdk.engines.base import Engine, EngineSettings
from dataloader_sdk.engines.common.merge import column_map, delete_flag_sql, merge_condition
from dataloader_sdk.engines.delta_rs import DeltaRsEngine
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import (
    Column,
    CommitInfo,
    Compare,
    IsNull,
    Merge,
    ReplaceWhere,
    SourceConfig,
    TableConfig,
    TableState,
    TargetName,
)
from dataloader_sdk.plugins import PluginHost

TARGET = TargetName("bronze", "odd")

#: The characters that broke or could break quoting, each in a name of its own.
NAMES = ["a`b", "``", 'a"b', '"', "a'b", "a b", " lead", "a.b", "t.\"x\"", "é日本", "Mixed Case"]


def commit(version: int) -> CommitInfo:
    return CommitInfo(app_id="dataloader_sdk:1", txn_version=version, run_id=f"r{version}",
                      table_id=1, table="odd", strategy="incremental",
                      state_after=TableState(txn_version=version))


def reader(columns: dict[str, list[Any]]) -> pa.RecordBatchReader:
    table = pa.table(columns)
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=2))


@pytest.fixture
def engine(delta_root: Path) -> DeltaRsEngine:
    return DeltaRsEngine(EngineSettings(root=str(delta_root)))


def by_key(engine: DeltaRsEngine, key: str) -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in engine.read(TARGET).to_pylist()}


# ---------------------------------------------------------------------------
# the engine's write modes, one special name per role


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("delete_mode", ["delete", "flag"])
def test_merge_with_guard_soft_delete_and_new_column(
    engine: DeltaRsEngine, name: str, delete_mode: str
) -> None:
    key, seq, gone, val, new = (f"k{name}", f"s{name}", f"d{name}", name, f"n{name}")
    mode = Merge(keys=(key,), sequence=Column(seq), delete_column=gone,
                 delete_mode=delete_mode)  # type: ignore[arg-type]
    engine.write(TARGET, reader({key: [1, 2, 3], seq: [10, 10, 10], gone: [False] * 3,
                                 val: ["a", "b", "c"]}), mode, commit(1))
    # Second load: newer 1 updates, older 2 is refused by the guard, 3 is deleted at the
    # source, 4 is new, and a new column arrives (schema evolution with explicit maps).
    out = engine.write(TARGET, reader({key: [1, 2, 3, 4], seq: [11, 9, 12, 1],
                                       gone: [False, False, True, False],
                                       val: ["A", "B", "C", "D"], new: [1, 2, 3, 4]}),
                       mode, commit(2))
    assert not out.replayed
    table = by_key(engine, key)
    assert table[1][val] == "A" and table[1][new] == 1 and table[1][seq] == 11
    assert table[2][val] == "b" and table[2][new] is None and table[2][seq] == 10
    assert table[4][val] == "D" and table[4][new] == 4
    if delete_mode == "delete":
        assert sorted(table) == [1, 2, 4]
    else:
        assert table[3]["_dl_deleted"] is True and table[3][val] == "C"
        assert table[1]["_dl_deleted"] is False
    # count renders the predicate exactly as ReplaceWhere does.
    assert engine.count(TARGET, (Compare(Column(seq), ">=", 11),)) == (1 if delete_mode ==
                                                                         "delete" else 2)
    assert engine.count(TARGET, (IsNull(Column(new)),)) == 1


@pytest.mark.parametrize("name", NAMES)
def test_replace_where_and_count_over_a_special_column(engine: DeltaRsEngine, name: str) -> None:
    day, val = f"day{name}", name
    window = (Compare(Column(day), ">=", date(2024, 1, 2)),)
    engine.write(TARGET, reader({day: [date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)],
                                 val: ["old", "x", "y"]}), ReplaceWhere(window), commit(1))
    engine.write(TARGET, reader({day: [date(2024, 1, 3)], val: ["z"]}), ReplaceWhere(window),
                 commit(2))
    assert sorted(engine.read(TARGET).column(val).to_pylist()) == ["old", "z"]
    assert engine.count(TARGET, window) == 1
    assert engine.count(TARGET, (Compare(Column(val), "=", "it's `q` \"x\""),)) == 0


def test_updated_rows_keep_target_only_columns(engine: DeltaRsEngine) -> None:
    """The explicit maps name the source's columns only, as update_all did: a column the
    source no longer delivers keeps its value on update and is NULL on insert."""
    mode = Merge(keys=("id",))
    engine.write(TARGET, reader({"id": [1], "v": ["a"], "old`col": ["kept"]}), mode, commit(1))
    engine.write(TARGET, reader({"id": [1, 2], "v": ["A", "B"]}), mode, commit(2))
    table = by_key(engine, "id")
    assert table[1] == {"id": 1, "v": "A", "old`col": "kept"}
    assert table[2] == {"id": 2, "v": "B", "old`col": None}


def test_rendered_merge_sql_quotes_every_character() -> None:
    assert merge_condition(['a"b']) == 't."a""b" = s."a""b"'
    assert column_map(["a`b", 'q"']) == {'t."a`b"': 's."a`b"', 't."q"""': 's."q"""'}
    flag = Merge(keys=("k",), delete_column="it's")
    assert delete_flag_sql(flag) == "(coalesce(CAST(s.\"it's\" AS BOOLEAN), FALSE))"


# ---------------------------------------------------------------------------
# property: generated names and values, SQLite source -> DataLoader -> delta_rs, twice

#: Characters of generated names; Spark's half leaves out what Delta on Spark refuses.
NAME_CHARS = "ab_Z9 `\"'.-é日$#ßø"


def names_of(chars: str) -> st.SearchStrategy[str]:
    """Names over ``chars``; blank ones are refused by the strategy options."""
    return st.text(st.sampled_from(chars), min_size=1, max_size=6).filter(
        lambda n: n.strip() != "")


VALUES = st.one_of(st.none(), st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12))


@st.composite
def column_names(draw: st.DrawFn, chars: str = NAME_CHARS) -> list[str]:
    """Five names (key, cursor, flag, day, value) distinct case-insensitively, as SQLite
    and Delta both compare column names; none collides with the lineage columns."""
    names = draw(st.lists(names_of(chars), min_size=5, max_size=5,
                          unique_by=lambda n: n.casefold().strip()))
    # The lineage columns' prefix is reserved (the loader refuses such source columns).
    return [f"c{n}" if n.lower().startswith("_dl_") else n for n in names]


def q(name: str) -> str:
    """A SQLite identifier for the raw reference side (independent of the SDK)."""
    return '"' + name.replace('"', '""') + '"'


STRATEGIES = ("full", "incremental", "append_only", "rolling")


def _options(strategy: str, key: str, cur: str, flag: str, day: str) -> dict[str, Any]:
    if strategy == "incremental":
        return {"watermark_column": cur, "primary_keys": [key], "delete_column": flag}
    if strategy == "append_only":
        return {"watermark_column": cur}
    if strategy == "rolling":
        return {"window_column": day, "window": "7d"}
    return {}


def _expected(path: Path, table: str, names: Sequence[str], strategy: str) -> list[tuple[Any, ...]]:
    key = names[0]
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            f"SELECT {', '.join(q(n) for n in names)} FROM {q(table)} ORDER BY {q(key)}"
        ).fetchall()
    if strategy == "incremental":  # soft deletes remove the flagged rows
        rows = [r for r in rows if not r[2]]
    return [tuple(r) for r in rows]


def _actual(engine: Engine, names: Sequence[str]) -> list[tuple[Any, ...]]:
    out = []
    for row in engine.read(TARGET).select(list(names)).to_pylist():
        values = [row[n] for n in names]
        values[2] = int(values[2])  # the flag: 0/1 at the source
        values[3] = values[3].isoformat()  # the day: DATE text at the source
        out.append(tuple(values))
    return sorted(out, key=lambda r: r[0])


def load_twice(
    engine: Callable[[Settings], Engine] | None, names: list[str], table: str,
    values: list[str | None], strategy: str,
) -> None:
    """Create a SQLite table, load it, change it, load again, compare with raw sqlite3.

    ``engine``: builds the engine from the settings; ``None`` for the default delta_rs.
    """
    key, cur, flag, day, val = names
    work = Path(tempfile.mkdtemp(prefix="dl-ident-"))
    source = work / "src.db"
    today = date.today() - timedelta(days=1)  # inside rolling's 7-day window at any hour
    with sqlite3.connect(source) as conn:
        conn.execute(f"CREATE TABLE {q(table)} ({q(key)} INTEGER PRIMARY KEY, "
                     f"{q(cur)} INTEGER NOT NULL, {q(flag)} INTEGER NOT NULL, {q(day)} DATE "
                     f"NOT NULL, {q(val)} TEXT)")
        conn.executemany(f"INSERT INTO {q(table)} VALUES (?, ?, ?, ?, ?)",
                         [(i, i, 0, today.isoformat(), values[i]) for i in range(3)])
    settings_ = Settings.default(work / "home")
    loader = DataLoader.from_settings(settings_, host=PluginHost())
    if engine is not None:
        loader = DataLoader(loader.store, engine(settings_), host=loader.host)
    try:
        loader.add_source(SourceConfig(name="src", db_type="sqlalchemy",
                                       options={"url": f"sqlite:///{source}"}), actor="t")
        loader.add_table(TableConfig(name="odd", source="src", source_table=table,
                                     target=TARGET, strategy=strategy,
                                     strategy_options=_options(strategy, key, cur, flag, day)),
                         actor="t")
        first = loader.load_table("odd")
        assert first.status == "succeeded", first.error_message
        with sqlite3.connect(source) as conn:
            conn.execute(f"INSERT INTO {q(table)} VALUES (?, ?, ?, ?, ?)",
                         (10, 10, 0, today.isoformat(), values[3]))
            if strategy != "append_only":  # append_only's contract: rows are only added
                conn.execute(f"UPDATE {q(table)} SET {q(val)} = ?, {q(cur)} = 11 "
                             f"WHERE {q(key)} = 1", (values[4],))
                conn.execute(f"UPDATE {q(table)} SET {q(flag)} = 1, {q(cur)} = 12 "
                             f"WHERE {q(key)} = 2")
        second = loader.load_table("odd")
        assert second.status == "succeeded", second.error_message
        assert _actual(loader.engine, names) == _expected(source, table, names, strategy)
    finally:
        loader.close()
        shutil.rmtree(work, ignore_errors=True)


EXAMPLES = int(os.environ.get("DL_IDENTIFIER_EXAMPLES", "5"))


@pytest.mark.integration
@pytest.mark.parametrize("strategy", STRATEGIES)
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(names=column_names(), table=names_of(NAME_CHARS),
       values=st.lists(VALUES, min_size=6, max_size=6))
def test_generated_names_and_values_load_twice_like_the_source(
    names: list[str], table: str, values: list[str | None], strategy: str
) -> None:
    load_twice(None, names, table, values, strategy)
