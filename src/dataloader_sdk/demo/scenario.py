"""The demo scenario: set up, load, change the source, load again, verify.

Everything lives in one working directory, which is the demo's ``--home``::

    <dir>/source.db                 the SQLite source (customers, orders, events)
    <dir>/dataloader.toml           settings written by Settings.write()
    <dir>/.dataloader/dataloader.db the SQLite control DB
    <dir>/.dataloader/delta/...     the local Delta tables
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dataloader_sdk.demo.data import ChangeSummary, SourceCounts, apply_changes, create_source
from dataloader_sdk.demo.verify import Fingerprint, compare

if TYPE_CHECKING:
    from rich.console import Console

    from dataloader_sdk.loader import DataLoader
    from dataloader_sdk.model import JSONValue, RunRecord

__all__ = ["DEMO_SOURCE", "DEMO_TABLES", "DemoResult", "DemoTable", "RoundResult",
           "TableCheck", "run_demo"]

DEMO_SOURCE = "demo_sqlite"
SOURCE_FILE = "source.db"
# Files and folders the demo owns inside its directory; only these are ever deleted, so
# pointing --dir at a directory with other content cannot destroy it.
_OWNED = (SOURCE_FILE, "dataloader.toml", ".dataloader")


@dataclass(frozen=True)
class DemoTable:
    """One demo table: where it comes from, where it goes, how it is loaded."""

    name: str
    target: str
    strategy: str
    options: dict[str, JSONValue]
    #: The source table (defaults to ``name``).
    source: str = ""

    @property
    def source_table(self) -> str:
        """The SQLite table this demo table reads."""
        return self.source or self.name


_ORDERS_STEADY: dict[str, JSONValue] = {
    "watermark_column": "updated_at", "primary_keys": ["id"], "lookback": "1h",
}

#: One table per built-in strategy.
DEMO_TABLES: tuple[DemoTable, ...] = (
    DemoTable("customers", "bronze.customers", "full", {"primary_keys": ["id"]}),
    DemoTable("orders", "bronze.orders", "incremental", dict(_ORDERS_STEADY)),
    DemoTable("events", "bronze.events", "append_only", {"watermark_column": "id"}),
    # The generated events span 2024; a ten-year window keeps them all in it, so the
    # replaced window can be checked against the whole source table.
    DemoTable("events_window", "bronze.events_window", "rolling",
              {"window_column": "occurred_at", "window": "3650d"}, source="events"),
    DemoTable("countries", "bronze.countries", "check_and_load", {}),
    DemoTable("orders_backfill", "bronze.orders_backfill", "chunked_backfill",
              {"chunk_column": "id", "chunk_size": 20_000, "primary_keys": ["id"],
               "then": "incremental", "then_options": dict(_ORDERS_STEADY)},
              source="orders"),
)


@dataclass(frozen=True)
class TableCheck:
    """A Delta table compared with its source table."""

    table: str
    strategy: str
    source: Fingerprint
    target: Fingerprint

    @property
    def matches(self) -> bool:
        """Same columns, same row count, same content checksum."""
        return self.source == self.target


@dataclass(frozen=True)
class RoundResult:
    """One load of every demo table and the verification after it."""

    label: str
    runs: tuple[RunRecord, ...]
    checks: tuple[TableCheck, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        """Every run succeeded (or was skipped as unchanged) and every table matches."""
        return all(r.status in ("succeeded", "skipped") for r in self.runs) and all(
            c.matches for c in self.checks)

    def run(self, table: str) -> RunRecord:
        """The run record of ``table`` in this round."""
        return next(r for r in self.runs if r.table == table)

    def check(self, table: str) -> TableCheck:
        """The verification of ``table`` in this round."""
        return next(c for c in self.checks if c.table == table)


@dataclass(frozen=True)
class DemoResult:
    """What the demo did; ``ok`` is what the exit code reports."""

    directory: Path
    recreated: bool
    initial: SourceCounts
    changes: ChangeSummary
    rounds: tuple[RoundResult, RoundResult]
    generate_seconds: float
    total_seconds: float

    @property
    def ok(self) -> bool:
        """Both rounds loaded cleanly and ended with every table matching the source."""
        return all(r.ok for r in self.rounds)


def _say(console: Console | None, text: str) -> None:
    if console is not None:
        console.print(text)


def _prepare(directory: Path) -> bool:
    """Remove the demo's own files from a previous run; True if there were any."""
    directory.mkdir(parents=True, exist_ok=True)
    recreated = False
    for name in _OWNED:
        path = directory / name
        if path.is_dir():
            shutil.rmtree(path)
            recreated = True
        elif path.exists():
            path.unlink()
            recreated = True
    return recreated


def _open_loader(directory: Path) -> DataLoader:
    from dataloader_sdk.config import Settings
    from dataloader_sdk.loader import DataLoader

    settings = Settings.load(home=directory, environment="dataloader")
    settings.write()
    return DataLoader.from_settings(settings)


def _register(loader: DataLoader, source_db: Path) -> None:
    from dataloader_sdk.model import SourceConfig, TableConfig, TargetName

    store = loader.store
    actor = "demo"
    store.add_source(
        SourceConfig(name=DEMO_SOURCE, db_type="sqlalchemy",
                     options={"url": f"sqlite:///{source_db.resolve()}"}),
        actor=actor,
    )
    for spec in DEMO_TABLES:
        store.add_table(
            TableConfig(name=spec.name, source=DEMO_SOURCE, source_table=spec.source_table,
                        target=TargetName.parse(spec.target), strategy=spec.strategy,
                        strategy_options=spec.options),
            actor=actor,
        )


def _verify(loader: DataLoader, source_db: Path) -> tuple[TableCheck, ...]:
    from dataloader_sdk.model import TargetName

    checks = []
    for spec in DEMO_TABLES:
        data = loader.engine.read(TargetName.parse(spec.target))
        source, target = compare(source_db, spec.source_table, data)
        checks.append(TableCheck(spec.name, spec.strategy, source=source, target=target))
    return tuple(checks)


def _load_round(
    loader: DataLoader, source_db: Path, label: str, console: Console | None
) -> RoundResult:
    from contextlib import nullcontext

    from dataloader_sdk.terminal import progress_reporter

    started = time.perf_counter()
    names = [t.name for t in DEMO_TABLES]
    reporting = progress_reporter(console) if console is not None else nullcontext(None)
    with reporting as reporter:
        runs = loader.load_tables(names, max_workers=len(names), progress=reporter)
    checks = _verify(loader, source_db)
    result = RoundResult(label, tuple(runs), checks, time.perf_counter() - started)
    if console is not None:
        console.print(_round_table(result))
    return result


def _round_table(result: RoundResult) -> object:
    from rich.table import Table

    from dataloader_sdk.terminal import fmt_duration, fmt_rows, fmt_watermark

    table = Table(title=result.label, title_justify="left")
    table.add_column("table")
    table.add_column("strategy")
    table.add_column("status")
    table.add_column("read", justify="right")
    table.add_column("written", justify="right")
    table.add_column("watermark")
    table.add_column("duration", justify="right")
    table.add_column("rows in Delta", justify="right")
    table.add_column("check")
    for spec in DEMO_TABLES:
        run = result.run(spec.name)
        check = result.check(spec.name)
        verdict = "✔ matches source" if check.matches else (
            f"✘ differs: source {check.source.rows:,} rows #{check.source.short}, "
            f"Delta {check.target.rows:,} rows #{check.target.short}")
        table.add_row(
            spec.name, spec.strategy, run.status, fmt_rows(run.rows_read),
            fmt_rows(run.rows_written), fmt_watermark(run.watermark_after),
            fmt_duration(run.duration_seconds), fmt_rows(check.target.rows), verdict,
        )
    return table


def _failures(rounds: Sequence[RoundResult]) -> list[str]:
    out: list[str] = []
    for rnd in rounds:
        out.extend(f"{rnd.label}: {r.table} {r.status}: {r.error_class}: {r.error_message}"
                   for r in rnd.runs if r.status not in ("succeeded", "skipped"))
    return out


def run_demo(
    directory: Path, *, rows: int = 100_000, seed: int = 7, console: Console | None = None
) -> DemoResult:
    """Run the whole demo in ``directory`` and return what happened.

    Args:
        directory: working directory (created if missing). The demo's own files from a
            previous run are deleted first; nothing else in it is touched.
        rows: rows of the ``orders`` table (``events`` gets half as many).
        seed: random seed, so two runs with the same arguments generate the same data.
        console: where to print progress and results; ``None`` runs silently.

    Returns:
        Per-round run records and verification results; ``result.ok`` is the verdict.
    """
    started = time.perf_counter()
    directory = directory.resolve()
    recreated = _prepare(directory)
    if recreated:
        _say(console, f"Recreating the demo in {directory} (previous source, control DB "
                      "and Delta tables removed).")
    else:
        _say(console, f"Creating the demo in {directory}.")
    source_db = directory / SOURCE_FILE
    gen_started = time.perf_counter()
    counts = create_source(source_db, rows=rows, seed=seed)
    generate_seconds = time.perf_counter() - gen_started
    _say(console, f"Source {source_db}: {counts.customers:,} customers, {counts.orders:,} "
                  f"orders, {counts.events:,} events ({generate_seconds:.1f}s).")

    loader = _open_loader(directory)
    try:
        _register(loader, source_db)
        first = _load_round(loader, source_db, "Load 1 — initial", console)
        changes = apply_changes(source_db, seed=seed)
        _say(console, (
            f"Changed the source: customers {changes.customers_updated} updated + "
            f"{changes.customers_inserted} new; orders {changes.orders_updated} updated + "
            f"{changes.orders_inserted} new, including late-arriving order "
            f"{changes.late_order_id} at {changes.late_order_updated_at} (before the "
            f"watermark {changes.orders_watermark}, inside the 1h lookback); "
            f"{changes.events_inserted} new events."
        ))
        second = _load_round(loader, source_db, "Load 2 — after the changes", console)
    finally:
        loader.close()

    result = DemoResult(
        directory=directory, recreated=recreated, initial=counts, changes=changes,
        rounds=(first, second), generate_seconds=generate_seconds,
        total_seconds=time.perf_counter() - started,
    )
    if console is not None:
        for line in _failures(result.rounds):
            console.print(f"✘ {line}")
        verdict = "✔ every Delta table matches its source" if result.ok else (
            "✘ verification failed")
        console.print(f"{verdict} (total {result.total_seconds:.1f}s). "
                      f"Explore: {explore_command(directory)}")
    return result


def explore_command(directory: Path) -> str:
    """The command that shows the demo's tables afterwards, runnable as printed.

    ``nox -s demo`` installs the command only inside its own virtualenv and puts that on
    the PATH of the session alone, so a bare ``dataloader`` would not be found (or would
    be another install) in the user's shell afterwards. The hint names the script next to
    the running interpreter unless the user's own PATH finds that same script.
    """
    import os
    import shlex
    import sys

    script = Path(sys.executable).parent / ("dataloader.exe" if os.name == "nt" else "dataloader")
    command = "dataloader"
    if script.is_file():
        found = shutil.which("dataloader")
        in_nox = bool(os.environ.get("NOX_CURRENT_SESSION"))  # PATH is nox's, not the user's
        if in_nox or found is None or Path(found).resolve() != script.resolve():
            command = str(script)
    return f"{shlex.quote(command)} --home {shlex.quote(str(directory))} status"
