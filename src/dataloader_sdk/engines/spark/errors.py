"""The errors of a failed Spark write: transient, invalid column names, or other.

Delta on Spark refuses column names containing any of `` ,;{}()\\n\\t=`` unless the table
uses column mapping (``delta.columnMapping.mode = 'name'``); delta-rs writes such names.
Spark's own message names none of the columns, so the engine names them and says what to
do. Everything else goes through :func:`~dataloader_sdk.engines.common.errors.destination_error`.
"""

from __future__ import annotations

from collections.abc import Sequence

from dataloader_sdk.engines.common.errors import destination_error, first_line
from dataloader_sdk.errors import DestinationError
from dataloader_sdk.model import TargetName

__all__ = ["SPARK_INVALID_NAME_CHARS", "write_error"]

#: Characters Delta on Spark refuses in column names without column mapping.
SPARK_INVALID_NAME_CHARS = " ,;{}()\n\t="


def write_error(
    target: TargetName, what: str, location: str, exc: BaseException, columns: Sequence[str]
) -> DestinationError:
    """The DestinationError (or transient one) of a failed Spark write of ``columns``."""
    if "DELTA_INVALID_CHARACTERS_IN_COLUMN_NAMES" in str(exc):
        bad = [c for c in columns if any(ch in SPARK_INVALID_NAME_CHARS for ch in c)]
        listed = ", ".join(repr(c) for c in bad) if bad else "(see the source's columns)"
        return DestinationError(
            f"table {target}: Delta on Spark refuses the column name(s) {listed}: a name "
            f"may not contain any of {SPARK_INVALID_NAME_CHARS!r} unless the table uses "
            "column mapping. Rename the columns in a source_query (e.g. SELECT \"a b\" AS "
            "a_b ...), enable column mapping on the table "
            "('delta.columnMapping.mode' = 'name'), or use the delta_rs engine. "
            f"Nothing was written ({first_line(exc)})."
        )
    return destination_error(
        f"table {target}: Spark failed to write ({what}) to {location}", exc,
        "The table is unchanged; fix the cause and run the table again (the step is "
        "retried with the same version).",
    )
