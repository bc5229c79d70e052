"""Plain-text tables for output that is not a terminal (pipes, files, CI logs).

Rich draws tables with box-drawing characters and wraps long cells over several lines,
which suits a person at a terminal and breaks ``grep``, ``cut`` and ``awk``. When stdout
is not a terminal, :class:`PlainConsole` prints each table as aligned columns separated
by two spaces: a header line (when the table has one), then exactly one line per row.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["PlainConsole", "table_lines"]

_GAP = "  "


def _cell_text(cell: object) -> str:
    text = cell.plain if isinstance(cell, Text) else str(cell)
    # One row, one line: a multi-line cell (an error with a traceback-like tail) is joined.
    return " ".join(text.split("\n"))


def table_lines(table: Table) -> list[str]:
    """``table`` as aligned plain lines: title, header, one line per row; no box-drawing."""
    columns = table.columns
    rows = [[_cell_text(cell) for cell in column.cells] for column in columns]
    grid = [list(row) for row in zip(*rows, strict=True)] if rows else []
    if table.show_header:
        grid.insert(0, [_cell_text(column.header) for column in columns])
    widths = [max((len(row[i]) for row in grid), default=0) for i in range(len(columns))]
    lines = []
    if table.title:
        lines.append(_cell_text(table.title))
    for row in grid:
        cells = [
            value.rjust(width) if column.justify == "right" else value.ljust(width)
            for value, width, column in zip(row, widths, columns, strict=True)
        ]
        lines.append(_GAP.join(cells).rstrip())
    return lines


class PlainConsole(Console):
    """A rich console that prints tables as plain text when ``plain`` is set."""

    def __init__(self, *, plain: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plain = plain

    def print(self, *objects: Any, **kwargs: Any) -> None:
        """Print like rich does, with tables flattened to text in plain mode."""
        if self.plain:
            objects = tuple(
                "\n".join(table_lines(obj)) if isinstance(obj, Table) else obj
                for obj in objects
            )
        super().print(*objects, **kwargs)
