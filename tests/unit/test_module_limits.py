"""Every module of the package stays small enough to read in one sitting (issue #12).

A module over the limit is a sign it does more than one job; split it by job (as
``control/store.py`` and the engines were) rather than raising the number.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "dataloader_sdk"
MAX_LINES = 400


def test_no_module_is_over_the_line_limit() -> None:
    sizes = {path.relative_to(PACKAGE).as_posix(): len(path.read_text(encoding="utf-8")
                                                       .splitlines())
             for path in PACKAGE.rglob("*.py")}
    assert len(sizes) > 100  # the walk found the package
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
