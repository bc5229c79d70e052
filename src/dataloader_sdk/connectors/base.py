"""The connector contract: what the runner needs from a source database.

A :class:`ConnectorFactory` validates a :class:`~dataloader_sdk.model.SourceConfig` and opens
a :class:`Connector`. A connector compiles structured selects for its dialect (identifiers
quoted, values bound as parameters), introspects columns and keys, maps source types to
Arrow explicitly, streams ``pyarrow.RecordBatch``es in bounded memory, and answers probes.
A connector never knows which strategy asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from dataloader_sdk.errors import FieldProblem
from dataloader_sdk.model import ProbeRequest, ScalarValue, Select, SourceConfig, SourceObject

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pyarrow as pa

    from dataloader_sdk.connectors.jdbc import JdbcOptions
    from dataloader_sdk.secrets import Secret, SecretResolver

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "Connector",
    "ConnectorFactory",
    "JdbcCapable",
    "ProbesTogether",
    "ReadsTogether",
    "ResolverAware",
    "ReusableConnector",
    "SourceColumn",
    "TablesTogether",
    "factory_summary",
]

#: Rows per Arrow record batch unless a source option says otherwise.
DEFAULT_BATCH_ROWS = 65_536


@dataclass(frozen=True)
class SourceColumn:
    """One source column: its name, source type text, Arrow type and nullability."""

    name: str
    source_type: str
    arrow_type: pa.DataType
    nullable: bool = True


@runtime_checkable
class Connector(Protocol):
    """An open connection to one source. Not shared between threads."""

    def columns(self, obj: SourceObject) -> tuple[SourceColumn, ...]:
        """The columns of a table or query, with their Arrow types.

        Raises:
            SourcePermanentError: the table does not exist (message names it).
        """
        ...

    def primary_key(self, obj: SourceObject) -> tuple[str, ...]:
        """Primary-key columns of a table (empty for queries or keyless tables)."""
        ...

    def probe(self, obj: SourceObject, request: ProbeRequest) -> ScalarValue | None:
        """Answer a probe (max of an expression, row count). ``None`` for an empty max."""
        ...

    def read(self, select: Select, *, batch_rows: int | None = None) -> pa.RecordBatchReader:
        """Stream the rows of ``select`` as Arrow batches in bounded memory.

        The reader's schema is the explicit type mapping of :meth:`columns` (restricted
        to the selected columns); it is known before the first batch arrives. Batches
        hold at most ``batch_rows`` rows; ``None`` means the source's
        ``options.batch_rows``, or :data:`DEFAULT_BATCH_ROWS`.

        Resources: the reader holds the cursor (or connection) it reads from and
        releases it when drained, when it fails, or when it is closed or garbage
        collected before its end (the runner abandons a reader when a write fails).
        :meth:`close` releases everything still open, readers included.
        """
        ...

    def check(self) -> None:
        """Connect and run a trivial query; raise a SourceError saying what failed."""
        ...

    def close(self) -> None:
        """Release the connection. Idempotent."""
        ...


@runtime_checkable
class ProbesTogether(Protocol):
    """A connector that can answer several probes of one object in one round trip
    (optional; the runner otherwise asks :meth:`Connector.probe` once per probe)."""

    def probe_together(
        self, obj: SourceObject, requests: Sequence[ProbeRequest]
    ) -> list[ScalarValue | None] | None:
        """The answers to ``requests``, in order, each what :meth:`Connector.probe` would
        answer; ``None`` when these cannot be asked together (the runner then asks them
        one by one). A failure is raised as ``probe`` raises it; the runner then asks
        them one by one too, so each gets its own answer or error."""
        ...


@runtime_checkable
class TablesTogether(Protocol):
    """A connector that can describe, and probe, several objects in one round trip each
    (optional; a batch's unchanged sweep, ``unchanged_sweep.py``, otherwise asks per
    object)."""

    def columns_together(self, objs: Sequence[SourceObject]) -> None:
        """Describe ``objs`` at once, so :meth:`Connector.columns` answers them from its
        cache. Best effort: an object it cannot describe this way is left out, and
        ``columns`` describes it (or reports what is wrong) on its own."""
        ...

    def probe_tables(
        self, items: Sequence[tuple[SourceObject, Sequence[ProbeRequest]]]
    ) -> list[list[ScalarValue | None]] | None:
        """The answers to each object's probes, in order, as :meth:`Connector.probe`
        would give them; ``None`` when these cannot be asked together. A failure is
        raised as ``probe`` raises it."""
        ...


@runtime_checkable
class ReadsTogether(Protocol):
    """A connector that can read several small selects in one round trip (optional; a
    batch's unchanged sweep otherwise reads each table's boundary window with
    :meth:`Connector.read`)."""

    def read_together(self, selects: Sequence[Select],
                      most_rows: int) -> list[pa.Table | None]:
        """For each select, in order: its rows as a table equal to what
        ``read(select).read_all()`` would return (the same schema, the same values), or
        ``None`` when it has more than ``most_rows`` rows or cannot be read this way (the
        caller then reads it with :meth:`Connector.read`, which reports any error).
        Never raises for one select's failure."""
        ...


@runtime_checkable
class ReusableConnector(Protocol):
    """A connector that may serve several tables of one batch (optional).

    A :class:`~dataloader_sdk.connectors.pool.SourcePool` hands a connector back out to
    the next table of the same source only when it has this method and it returns
    ``True``; otherwise the connector is closed after its table.
    """

    def reset(self) -> bool:
        """Forget per-table state (cached metadata); ``True`` when fit for another table.

        Called after a table's run succeeded, never while a read is in flight. Return
        ``False`` when the connection's state is unknown (a read left unfinished, a broken
        or mid-transaction session): the pool then closes the connector.
        """
        ...


def factory_summary(factory: object) -> str | None:
    """The factory's one-line ``summary`` class attribute, or ``None`` when it has none."""
    summary = getattr(factory, "summary", None)
    return summary if isinstance(summary, str) and summary else None


@runtime_checkable
class JdbcCapable(Protocol):
    """A connector Spark's JDBC source can read (optional; the ``jdbc`` read path).

    The connector describes the connection and renders every SQL text Spark sends, with
    its own dialect: Spark JDBC cannot bind parameters, so values are rendered as dialect
    literals (``literal_binds``) and identifiers quoted by the dialect, never pasted. The
    engine runs the texts and imports no connector. ``connectors/jdbc_render.py`` gives
    SQL connectors all but :meth:`jdbc_options`.
    """

    def jdbc_options(
        self, obj: SourceObject | None = None, *, fetchsize: int | None = None
    ) -> JdbcOptions:
        """The JDBC URL, driver, user, password (a redacted ``Secret``) and fetch size."""
        ...

    def jdbc_window(self, select: Select, partition_column: str) -> str:
        """``select`` as the ``dbtable`` subquery ``(SELECT ...) dl_window``.

        Raises:
            ConfigError: ``partition_column`` is not among the selected columns.
        """
        ...

    def jdbc_bounds(self, window: str, partition_column: str) -> str:
        """The ``dbtable`` subquery of ``min``/``max`` of the column inside ``window``."""
        ...

    def jdbc_partitions(
        self, partition_column: str, lower: ScalarValue | None, upper: ScalarValue | None,
        partitions: int,
    ) -> list[str]:
        """Disjoint predicates, one per Spark partition, covering every row once.

        ``partitions`` ranges split ``[lower, upper]`` (open at both ends, so values
        outside the bounds are read too) plus one ``IS NULL`` partition.

        Raises:
            ConfigError: the column's values cannot be split (a boolean or text column).
        """
        ...


@runtime_checkable
class ConnectorFactory(Protocol):
    """Registered per ``db_type``; validates configs and opens connectors.

    A factory may also carry ``summary``, a one-line description as a class attribute
    (``summary = "PostgreSQL through psycopg and ADBC"``), which ``dataloader plugins``
    shows. It is optional, so it is not a protocol member (a runtime-checkable protocol
    would require it); read it with :func:`factory_summary`.
    """

    #: Whether this connector needs a secret (password, key) to connect.
    needs_secret: bool

    def validate(self, config: SourceConfig) -> list[FieldProblem]:
        """Connector-specific field problems of ``config`` (empty when valid)."""
        ...

    def open(self, config: SourceConfig, secret: Secret | None) -> Connector:
        """Open a connection. Raises SourceTransientError/SourcePermanentError."""
        ...


@runtime_checkable
class ResolverAware(Protocol):
    """A factory that resolves secret references of its own (optional capability).

    A source has one ``secret``, resolved before :meth:`ConnectorFactory.open`. A
    connector needing a second one (``snowflake_pem``'s key passphrase) gets the resolver
    of the host that hands the factory out: :meth:`PluginHost.connector
    <dataloader_sdk.plugins.PluginHost.connector>` returns ``with_resolver(host)``. Nothing
    below the facade looks up the process-wide host.
    """

    def with_resolver(self, resolver: SecretResolver) -> ConnectorFactory:
        """This factory bound to ``resolver`` (a new object; the registered one is kept)."""
        ...
