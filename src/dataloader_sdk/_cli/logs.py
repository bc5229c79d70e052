"""Log output of the ``dataloader`` command: ``--verbose`` levels and ``--log-format json``.

The SDK logs through the ``dataloader_sdk`` logger hierarchy. The command attaches one
handler there for the duration of the invocation (and removes it afterwards, since tests
run many invocations in one process): errors only by default (the command reports its
own failure once), ``-v`` adds warnings and info, ``-vv`` debug. ``--log-format json``
writes one JSON object per line (``time``, ``level``, ``logger``, ``message`` and
``exception`` when there is one) for log shippers. Every message is redacted before it
is written, whatever its format.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Literal

__all__ = ["LOG_FORMATS", "LogFormat", "configure_logging"]

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
_LOGGER = "dataloader_sdk"


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        from dataloader_sdk.secrets import redact

        doc: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info:
            doc["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(doc)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        from dataloader_sdk.secrets import redact

        return redact(super().format(record))


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the ``sys.stderr`` of the moment (CliRunner swaps it per invocation)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stderr)
        super().emit(record)


def configure_logging(verbose: int, log_format: LogFormat) -> Callable[[], None]:
    """Attach the command's log handler; returns the function that detaches it again."""
    # By default the command's own one-paragraph message is the report: retry warnings
    # ("retry 2 of 3") would print the same failure several times over.
    level = logging.ERROR if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = _StderrHandler()
    handler.setFormatter(
        _JsonFormatter() if log_format == "json"
        else _TextFormatter("%(levelname)s %(name)s: %(message)s")
    )
    handler.setLevel(level)
    logger = logging.getLogger(_LOGGER)
    previous = logger.level
    logger.addHandler(handler)
    # Lower the logger's threshold for -v/-vv only; raising it would also hide records
    # from handlers others attached (a host application's, pytest's caplog).
    if level < logger.getEffectiveLevel():
        logger.setLevel(level)

    def detach() -> None:
        logger.removeHandler(handler)
        logger.setLevel(previous)

    return detach
