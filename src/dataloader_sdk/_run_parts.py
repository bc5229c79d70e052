"""Small pieces of a table run: write-mode replacement, probes, column checks, errors.

Kept out of :mod:`dataloader_sdk.runner` so the runner reads as the protocol it follows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from itertools import chain
from typing import TYPE_CHECKING, Literal

from dataloader_sdk._boundary import peek_digest
from dataloader_sdk.connectors.base import ProbesTogether
from dataloader_sdk.errors import (
    ControlStoreError,
    DataLoaderError,
    DestinationError,
    FieldProblem,
    SourceError,
    ValidationError,
)
from dataloader_sdk.model import (
    Merge,
    Overwrite,
    ProbeAnswer,
    ProbeFailed,
    ProbeRequest,
    SourceObject,
    TableRecord,
    WriteMode,
)
from dataloader_sdk.probe_answers import check_probe_answer

if TYPE_CHECKING:
    import pyarrow as pa

    from dataloader_sdk.connectors.base import Connector, SourceColumn
    from dataloader_sdk.control.protocol import RunStore
    from dataloader_sdk.control.store import Claim
    from dataloader_sdk.engines.base import Engine
    from dataloader_sdk.model import LoadStep, RunRecord, ScalarValue, TableState, TargetName

__all__ = ["FinishStatus", "Origin", "as_dataloader_error", "checked_answers",
           "committed_state", "probe",
           "raised_in",
           "record_and_finish", "replacing", "require_columns", "source_stream",
           "unchanged_read"]

log = logging.getLogger("dataloader_sdk.runner")

FinishStatus = Literal["succeeded", "failed", "skipped", "cancelled"]
#: Where an exception was raised: it decides the class an unexpected one is filed under.
Origin = Literal["source", "engine", "control store"]


def unexpected(origin: Origin, what: str, exc: Exception) -> DataLoaderError:
    """The domain error for an exception no layer classified (a bug, or an unknown driver
    error), filed under the layer it came from. Never retryable: it is unknown whether a
    retry helps."""
    detail = f"{what}: unexpected {type(exc).__name__}: {exc}"
    if origin == "source":
        return SourceError(detail)
    if origin == "engine":
        return DestinationError(f"{detail} (raised by the engine)")
    return ControlStoreError(f"{detail} (raised by the control store)")


@contextmanager
def raised_in(origin: Origin, what: str) -> Iterator[None]:
    """File an unexpected exception raised in the block under ``origin``; domain errors,
    ``KeyboardInterrupt`` and friends pass unchanged."""
    try:
        yield
    except DataLoaderError:
        raise
    except Exception as exc:
        raise unexpected(origin, what, exc) from exc


def source_stream(reader: pa.RecordBatchReader, what: str) -> pa.RecordBatchReader:
    """``reader`` with an unexpected exception of the source's stream filed as a
    :class:`SourceError`, so the engine pulling it reports the source, not itself."""
    import pyarrow as pa

    def batches() -> Iterator[pa.RecordBatch]:
        with raised_in("source", what):
            yield from reader

    return pa.RecordBatchReader.from_batches(reader.schema, batches())


def record_and_finish(
    store: RunStore, claim: Claim, run: RunRecord, status: FinishStatus, *,
    now: datetime, permanent: bool = False,
) -> None:
    """Record how a run ended and release its lease, in one control-DB transaction.

    All or nothing: the history never says a run ended while its lease is still held (nor
    the reverse), and one commit instead of two. A failure leaves the ``running`` row and
    the lease, which the next claim closes as abandoned once the lease is free.
    """

    def calls() -> None:
        store.record_run(run)
        store.finish(claim, status=status, now=now, permanent=permanent)

    store.together(calls, f"record the end of run {run.run_id} of table {claim.table.name!r}")


def unchanged_read(
    reader: pa.RecordBatchReader, known: str, min_rows: int = 0
) -> tuple[pa.RecordBatchReader | None, int]:
    """Read a step's window ahead of its write, to compare it with the ``known`` digest.

    Returns ``(None, rows)`` when the read hashes to ``known`` (the step re-read only rows
    its table's last commit merged), else a reader yielding every batch (the ones read
    ahead, then the rest of the stream) and the rows read ahead. At most
    ``MAX_BOUNDARY_ROWS`` rows are held before giving up and streaming on.
    """
    import pyarrow as pa

    held, digest = peek_digest(reader)
    rows = sum(batch.num_rows for batch in held)
    if digest == known and rows >= min_rows:
        return None, rows
    # Different rows (or fewer than the probe proved: the usual guard then refuses them).
    rest = pa.RecordBatchReader.from_batches(reader.schema, chain(held, reader))
    return rest, rows


def replacing(mode: WriteMode) -> WriteMode:
    """The write mode that replaces a target an earlier incarnation left behind."""
    # A Merge keeps its first-load checks (unique keys, soft deletes); Append and
    # ReplaceWhere become the Overwrite a first load onto an empty target amounts to.
    if isinstance(mode, Merge):
        return replace(mode, replace_existing=True)
    return Overwrite()


def probe(
    connector: Connector, obj: SourceObject, request: ProbeRequest, *, db_type: str,
    columns: tuple[SourceColumn, ...],
) -> ProbeAnswer:
    """Run one probe; a failure becomes ``ProbeFailed`` and the strategy decides.

    An answer of the wrong type is a bug in the connector, refused at once (naming it).
    """
    try:
        with raised_in("source", f"connector {db_type!r} probing {obj}"):
            answer = connector.probe(obj, request)
    except DataLoaderError as exc:
        return ProbeFailed(exc)
    check_probe_answer(db_type, request, answer, columns)
    return answer


def probe_all(
    connector: Connector, obj: SourceObject, requests: Sequence[ProbeRequest], *,
    db_type: str, columns: tuple[SourceColumn, ...],
) -> dict[ProbeRequest, ProbeAnswer]:
    """Every probe of a run: together in one round trip where the connector can
    (:class:`~dataloader_sdk.connectors.base.ProbesTogether`), else one by one. When
    asking together fails, they are asked one by one, so each gets its own answer or
    ``ProbeFailed`` exactly as without the shortcut."""
    if len(requests) > 1 and isinstance(connector, ProbesTogether):
        try:
            with raised_in("source", f"connector {db_type!r} probing {obj}"):
                answers = connector.probe_together(obj, requests)
        except DataLoaderError:
            answers = None
        if answers is not None:
            return checked_answers(db_type, requests, answers, columns)
    return {request: probe(connector, obj, request, db_type=db_type, columns=columns)
            for request in requests}


def checked_answers(
    db_type: str, requests: Sequence[ProbeRequest], answers: Sequence[ScalarValue | None],
    columns: tuple[SourceColumn, ...],
) -> dict[ProbeRequest, ProbeAnswer]:
    """Answers a connector gave together, each checked as :func:`probe` checks one.

    Raises:
        TypeError: the connector answered another number of probes, or a wrong type.
    """
    if len(answers) != len(requests):
        raise TypeError(f"connector {db_type!r}: asked {len(requests)} probes together, "
                        f"answered {len(answers)}")
    for request, answer in zip(requests, answers, strict=True):
        check_probe_answer(db_type, request, answer, columns)
    return dict(zip(requests, answers, strict=True))


def require_columns(
    table: TableRecord, columns: tuple[SourceColumn, ...], required: tuple[str, ...]
) -> None:
    present = {c.name for c in columns}
    missing = [name for name in required if name not in present]
    if missing:
        available = ", ".join(sorted(present))
        raise ValidationError(
            f"table {table.name!r} (source {table.config.source_object})",
            [FieldProblem("strategy_options", f"column {name!r} does not exist in the source; "
                          f"available columns: {available}") for name in missing],
        )


def as_dataloader_error(exc: BaseException, table: str) -> DataLoaderError:
    """``exc`` as the run's error. The source, engine and control-store calls are wrapped
    in :func:`raised_in`; what is left unclassified here came from the runner or the
    strategy between them and is reported, as before, as a source error naming the table.
    """
    if isinstance(exc, DataLoaderError):
        return exc
    return SourceError(f"table {table!r}: unexpected {type(exc).__name__}: {exc}")


def committed_state(
    engine: Engine, table: str, target: TargetName, step: LoadStep, own: str
) -> TableState:
    """The state a replayed step's commit recorded, to roll the control state forward.

    Never our own ``state_after`` for a step we did not write: the commit that holds this
    version may have read a different window.

    Raises:
        DestinationError: the target holds no dataloader metadata for the step.
    """
    with raised_in("engine", f"table {table!r}: reading the last commit"):
        last = engine.last_commit(target, own)
    if last is None:
        raise DestinationError(
            f"table {table!r}: target {target} says step {step.txn_version} is "
            "already committed but holds no dataloader commit metadata for it (log "
            "retention may have removed it); check the table's history, then reset "
            "the table state (dataloader tables reset) and reload"
        )
    log.warning("table %s: step %d was already committed (run %s); not re-applied",
                table, step.txn_version, last.run_id)
    return last.state_after
