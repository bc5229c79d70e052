"""``SelectStatement`` type-checks a plugin's typed SELECTs under ``mypy --strict``.

Under SQLAlchemy 2.1 ``Select`` is variadic, so ``sa.Select[Any]`` refuses
``select(int_column, str_column)``; the public alias must accept it (and chain, and
pass a SELECT of ``*``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from dataloader_sdk.statements import SelectStatement

PLUGIN = '''
from typing import Any

import sqlalchemy as sa

from dataloader_sdk.statements import SelectStatement

ia: sa.ColumnElement[int] = sa.literal(1, sa.Integer)
sb: sa.ColumnElement[str] = sa.literal("x", sa.String)


def probe() -> SelectStatement:
    return sa.select(ia, sb).where(ia > 0)


def star(cols: list[sa.ColumnElement[Any]]) -> SelectStatement:
    return sa.select(*cols).limit(2)


def chain(stmt: SelectStatement) -> SelectStatement:
    return stmt.order_by(ia).offset(1)


chain(sa.select(sa.literal_column("*")))
chain(probe())
'''


def test_the_alias_is_plain_select_at_run_time() -> None:
    assert SelectStatement is sa.Select


@pytest.mark.skipif(not sa.__version__.startswith("2.1"), reason="the alias is 2.1's form")
def test_a_plugin_annotated_with_the_alias_passes_mypy_strict(tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api")
    plugin = tmp_path / "plugin_module.py"
    plugin.write_text(PLUGIN)
    def mypy(path: Path) -> tuple[str, int]:
        out, err, status = api.run(["--strict", "--cache-dir", str(tmp_path / "cache"),
                                    "--no-error-summary", str(path)])
        return out + err, status

    report, status = mypy(plugin)
    assert status == 0, report
    # The problem the alias solves: the same plugin annotated with ``sa.Select[Any]``.
    old = tmp_path / "old_plugin_module.py"
    old.write_text(PLUGIN.replace("from dataloader_sdk.statements import SelectStatement", "")
                   .replace("SelectStatement", "sa.Select[Any]"))
    report, status = mypy(old)
    assert status == 1
    assert 'got "Select[int, str]", expected "Select[Any]"' in report
