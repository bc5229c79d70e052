"""The engine contract: how the runner writes Delta tables.

Every write is exactly one Delta commit that carries :class:`~dataloader_sdk.model.CommitInfo`
as commit metadata and a Delta app transaction ``(app_id, txn_version)``. A write whose
version is already recorded for its app id is a replay: it writes nothing and reports
``replayed=True``. :meth:`Engine.last_commit` reads the metadata back so the runner can roll
the control state forward after a crash between the Delta commit and the control update.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeAlias, runtime_checkable

from dataloader_sdk.model import CommitInfo, Predicate, ScalarValue, TargetName, WriteMode

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["RECENT_COMMITS", "Engine", "EngineFactory", "EngineSettings", "JdbcConnection",
           "JdbcReader", "LineageValues", "Maintainable", "MaintenanceOutcome",
           "MaintenanceTask", "ReadAgain", "StagedRead", "TableFiles", "WriteOutcome",
           "find_commit", "offering_read_again", "read_again_offered"]


@dataclass(frozen=True)
class EngineSettings:
    """Where an engine writes. ``root`` is a local directory or an object-store URI
    under which ``schema/table`` (or ``catalog/schema/table``) directories live."""

    root: str
    storage_options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WriteOutcome:
    """What one write did."""

    rows_written: int
    replayed: bool = False
    delta_version: int | None = None


@runtime_checkable
class Engine(Protocol):
    """Writes Delta tables; one instance may serve many tables and threads."""

    name: str

    def write(
        self,
        target: TargetName,
        data: pa.RecordBatchReader,
        mode: WriteMode,
        commit: CommitInfo,
    ) -> WriteOutcome:
        """Write ``data`` to ``target`` in exactly one commit carrying ``commit``.

        New source columns are added by schema evolution. A replay (``commit.txn_version``
        not above the recorded app-transaction version) consumes nothing and writes nothing.

        Raises:
            DestinationError: the write failed; the table is unchanged.
        """
        ...

    def last_commit(self, target: TargetName, app_id: str) -> CommitInfo | None:
        """Metadata of the newest dataloader commit for ``app_id``, or ``None``."""
        ...

    def newest_commit(self, target: TargetName) -> CommitInfo | None:
        """The newest dataloader commit of any app id among the table's last
        :data:`RECENT_COMMITS` versions (``None``: none there, or no table).

        The runner refuses a table whose newest dataloader commit belongs to another
        environment or control database; reading only recent versions keeps it cheap.
        """
        ...

    def recorded_version(self, target: TargetName, app_id: str) -> int | None:
        """The app-transaction version recorded for ``app_id`` (``None``: none, or no table).

        Cheaper than :meth:`last_commit` (no history scan): the runner reads the history
        only when this is ahead of the control state.
        """
        ...

    def exists(self, target: TargetName) -> bool:
        """Whether the target table exists."""
        ...

    def schema(self, target: TargetName) -> pa.Schema | None:
        """The target table's Arrow schema (``None`` if it does not exist); cheap: read
        from the Delta log, not from the data."""
        ...

    def drop(self, target: TargetName) -> bool:
        """Delete the target table (data and log); ``False`` if it did not exist.

        Raises:
            ConfigError: The engine cannot drop tables where they live (e.g. an object store).
        """
        ...

    def read(self, target: TargetName) -> pa.Table:
        """The whole current table (for verification, demos and tests)."""
        ...

    def count(self, target: TargetName, where: tuple[Predicate, ...] = ()) -> int:
        """Rows of the current table matching ``where`` (0 if the table is missing)."""
        ...

    def last_commit_time(self, target: TargetName) -> datetime | None:
        """When the target's newest commit (of any writer) was made, UTC; ``None``: no table.

        Cheap (one history entry); the freshness monitor asks it per table.
        """
        ...


#: Reads a step's rows once more, from the start: a second read of the same window, as a
#: later run would read it (see :func:`offering_read_again`).
ReadAgain: TypeAlias = "Callable[[], pa.RecordBatchReader]"

_READ_AGAIN: ContextVar[ReadAgain | None] = ContextVar("dataloader_read_again", default=None)


@contextmanager
def offering_read_again(read_again: ReadAgain) -> Iterator[None]:
    """Within the block, an :meth:`Engine.write` may read its step again (at most once).

    The runner offers it around every write it makes from a source read. A first Merge
    must prove its keys unique before it commits, and deduplicate when they repeat; with
    a second read on offer a big one need not copy every row to disk in case keys repeat
    (delta_rs, ``common/first_merge.py``): it reads the step again only then, after
    ``data`` was consumed and nothing was committed. The second read may hold rows a
    later run would see (an incremental read is bounded by its frozen upper bound, so it
    is the read a later run makes); the commit is still exactly one, of one read's rows.

    Offered through the context, not as an argument, so every engine and every wrapper
    or subclass that overrides ``write`` (``testing.FaultyEngine``, a test's counting
    engine) keeps working unchanged; an engine that never asks ignores it.
    """
    token = _READ_AGAIN.set(read_again)
    try:
        yield
    finally:
        _READ_AGAIN.reset(token)


def read_again_offered() -> ReadAgain | None:
    """How the running write's caller reads its step again (``None``: it cannot)."""
    return _READ_AGAIN.get()


@dataclass(frozen=True)
class TableFiles:
    """A table's data files, as maintenance needs them (read from the Delta log)."""

    version: int
    files: int
    small_files: int
    bytes: int


@dataclass(frozen=True)
class MaintenanceTask:
    """What one maintenance pass does (``control/maintenance.py`` decides it).

    ``retention_hours`` below 7 days needs ``enforce_retention=False``, which only an
    explicit policy override sets. ``dry_run``: change nothing, report what would be done.

    ``cluster_by``: rewrite the whole table clustered (Z-ordered) by these columns, in
    one data-change-free commit; it replaces ``compact`` (clustering rewrites the small
    files too). ``target_file_bytes``: the size of the files either rewrite writes
    (``None``: the engine's target file size).
    """

    compact: bool = False
    checkpoint: bool = False
    vacuum: bool = False
    target_file_bytes: int | None = None
    cluster_by: tuple[str, ...] = ()
    retention_hours: int = 168
    enforce_retention: bool = True
    dry_run: bool = False


@dataclass(frozen=True)
class MaintenanceOutcome:
    """What a maintenance pass did (or, on a dry run, would do).

    ``version``: the table's version after the pass; ``checkpoint_version``: the version
    the pass wrote a log checkpoint of (``None``: none written, or not known);
    ``clustered_version``: the table's version right after its clustering (``None``: it
    did not cluster).
    """

    files_removed: int = 0
    files_added: int = 0
    checkpointed: bool = False
    vacuumed_files: int = 0
    version: int | None = None
    attempts: int = 1
    checkpoint_version: int | None = None
    clustered_version: int | None = None


@runtime_checkable
class Maintainable(Protocol):
    """The maintenance capability of an engine (delta-rs and Spark have it).

    Compaction is a data-change-free commit (``dataChange=false``) retried on a commit
    conflict, so it never rewrites rows a concurrent load is committing, and it carries
    no app transaction: :meth:`Engine.recorded_version`, :meth:`Engine.last_commit` and
    :meth:`Engine.newest_commit` see through it to the last load's commit.
    """

    def table_files(self, target: TargetName, small_file_bytes: int) -> TableFiles | None:
        """The table's file counts (``None``: no table)."""
        ...

    def maintain(self, target: TargetName, task: MaintenanceTask) -> MaintenanceOutcome:
        """Compact, checkpoint and/or vacuum ``target`` as ``task`` says.

        Raises:
            DestinationError: a step failed; the table's data is unchanged.
        """
        ...


class JdbcConnection(Protocol):
    """How an engine reaches a source over JDBC (``connectors.jdbc.JdbcOptions`` is one).

    The engine never builds SQL or imports a connector: it runs the texts the source's
    connector rendered (``connectors.base.JdbcCapable``) over this connection.
    """

    @property
    def url(self) -> str:
        """The JDBC URL, without credentials."""
        ...

    def connection_properties(self) -> dict[str, str]:
        """Driver properties for the read; reveals the password (never log them)."""
        ...

    def redact(self, text: str) -> str:
        """``text`` without the password, for error messages."""
        ...


@dataclass(frozen=True)
class LineageValues:
    """The values of the lineage columns (``dataloader_sdk.lineage``) of one step."""

    run_id: str
    loaded_at: datetime
    source: str


class StagedRead(Protocol):
    """A step's rows read by the engine itself and held until written once.

    The rows are fixed when the read is staged, so the count, the boundary digest and
    the write all see the same rows.
    """

    @property
    def rows(self) -> int:
        """How many rows were read."""
        ...

    @property
    def schema(self) -> pa.Schema:
        """The rows' Arrow schema."""
        ...

    def to_arrow(self) -> pa.Table:
        """Every row on the driver: only for small reads (boundary digests)."""
        ...

    def release(self) -> None:
        """Free what holds the rows. Idempotent."""
        ...


@runtime_checkable
class JdbcReader(Protocol):
    """The JDBC read capability of an engine (Spark has it): the ``jdbc`` read path.

    A table read this way goes through the runner like any other: the same lease, replay
    check, lineage columns, commit metadata, control state and history; the engine reads
    the rows in parallel partitions and writes them without passing them through Python.
    """

    def jdbc_bounds(
        self, conn: JdbcConnection, bounds_table: str
    ) -> tuple[ScalarValue | None, ScalarValue | None]:
        """Run the rendered ``(SELECT min(c), max(c) FROM ...) alias`` subquery.

        Raises:
            SourceError: the query failed (message redacted).
        """
        ...

    def read_jdbc(
        self, conn: JdbcConnection, window_table: str, predicates: Sequence[str]
    ) -> StagedRead:
        """Read the rendered ``(SELECT ...) alias`` subquery, one partition per predicate.

        Raises:
            SourceError: the read failed (message redacted).
        """
        ...

    def write_staged(
        self, target: TargetName, staged: StagedRead, mode: WriteMode, commit: CommitInfo,
        lineage: LineageValues,
    ) -> WriteOutcome:
        """:meth:`Engine.write` of staged rows, the lineage columns appended.

        Raises:
            DestinationError: the write failed; the table is unchanged.
        """
        ...


@runtime_checkable
class EngineFactory(Protocol):
    """Registered per engine name; opens an engine for some settings."""

    def open(self, settings: EngineSettings) -> Engine:
        """Create an engine writing under ``settings.root``."""
        ...


#: How many of a table's newest versions :meth:`Engine.newest_commit` looks at (other
#: writers, such as maintenance, may have committed on top of the last load).
RECENT_COMMITS = 20


def find_commit(
    entries: Iterable[Mapping[str, object]], app_id: str | None
) -> CommitInfo | None:
    """The first dataloader commit of ``app_id`` (any, if ``None``) among history ``entries``.

    ``entries`` come newest first. The metadata may be top-level keys (delta-rs writes
    them so) or JSON in ``userMetadata`` (Spark's only field; delta-rs fills it too), so
    either engine can continue a table the other wrote.
    """
    for entry in entries:
        meta: object = entry
        if "dataloader.app_id" not in entry:
            text = entry.get("userMetadata")
            if not isinstance(text, str):
                continue
            try:
                meta = json.loads(text)
            except ValueError:
                continue
        if not isinstance(meta, Mapping) or "dataloader.app_id" not in meta:
            continue
        if app_id is not None and meta.get("dataloader.app_id") != app_id:
            continue
        info = CommitInfo.from_metadata(meta)
        if info is not None:
            return info
    return None
