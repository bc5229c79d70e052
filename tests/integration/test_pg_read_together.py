"""PostgreSQL's boundary reads together (``postgresql/together.py``) against its ADBC reads.

A batch's unchanged sweep decides that a table is unchanged when the rows at its
watermark, read together with other tables' through psycopg, hash to the digest its last
commit kept from an ADBC read. So the two reads must give the same table, value for value,
for every type the connector maps: this file compares them on the real server, over the
edge values of each type, for several shapes of select. The reference is the connector's
own ADBC read (the path every run takes), and the rows are also read back with plain
psycopg to check that the selects returned what the server holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pyarrow as pa
import pytest

from dataloader_sdk._boundary import digest_rows
from dataloader_sdk.connectors.postgresql import PostgresConnector, PostgresConnectorFactory
from dataloader_sdk.model import AnyOf, Column, Compare, IsNull, Select, SourceConfig, SourceObject
from dataloader_sdk.secrets import Secret
from tests.integration._pg_types import USER_TYPES_DDL
from tests.servers.postgres import PostgresServer

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

DDL = USER_TYPES_DDL + """
CREATE TABLE public.edges (
  id bigint PRIMARY KEY, i2 smallint, i4 integer, i8 bigint, dec numeric(38, 10),
  dec_small numeric(5, 2), num numeric, r real, d double precision, b boolean, t text,
  vc varchar(10), ch char(3), nm name, dt date, ts timestamp, tstz timestamptz, tm time,
  u uuid, bin bytea, js json, jsb jsonb, arr integer[], iv interval, dom positive_int,
  m mood, ip inet
);
INSERT INTO public.edges VALUES
 (1, -32768, -2147483648, -9223372036854775808, 1234567890123456789012345678.0123456789,
  -999.99, 1.000000000000000000000000000000000000000001, 1.5, 0.1, true, 'text ''q''',
  'vc', 'ab', 'nm', '2024-02-29', '2024-02-29 23:59:59.999999',
  '2024-02-29 23:59:59.999999+05:30', '23:59:59.999999', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
  '\\x00ff', '{"a": [1, 2]}', '{"b": null}', '{{1,2},{3,4}}', '1 year 2 mons 3.5 seconds', 7,
  'happy', '10.0.0.1/8'),
 (2, 32767, 2147483647, 9223372036854775807, -0.0000000001, 0, 'NaN', 'NaN', 'NaN', false,
  '', '', '', '', '0001-01-01', '0001-01-01 00:00:00', '0001-01-01 00:00:00+00', '00:00:00',
  '00000000-0000-0000-0000-000000000000', '\\x', '[]', '{}', '{}', '0', 1, 'sad', '::1'),
 (3, 0, 0, 0, 0, 999.99, '-1e-30', '-Infinity', 'Infinity', NULL, 'ünïcødé ☃ 𝄞',
  'é', 'é', 'x', '9999-12-31', '9999-12-31 23:59:59.999999', '9999-12-31 23:59:59.999999+00',
  '12:00:00.000001', NULL, '\\x000000', 'null', 'null', '{NULL}', '-1 days', NULL, NULL, NULL),
 (4, NULL, NULL, NULL, NULL, NULL, NULL, '-0', '-0', NULL, NULL, NULL, NULL, NULL,
  '1969-12-31', '1969-12-31 23:59:59.999999', '1969-12-31 23:59:59.999999-08', NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (5, 1, 1, 1, 1, 1, 1, 3.4028235e38, 1.7976931348623157e308, true, 'a', 'b', 'c', 'd',
  '2000-01-01', '2000-01-01 12:00:00', '2000-01-01 12:00:00+00', '12:00:00', NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (6, 1, 1, 1, 1, 1, 1, 1.17549435e-38, 4.9e-324, true, 'a', 'b', 'c', 'd',
  '2000-01-02', '2000-01-02 12:00:00', '2000-01-02 12:00:00+00', '12:00:00', NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (7, 1, 1, 1, 1, 1, 1, 1, 1, true, 'a', 'b', 'c', 'd',
  'infinity', '-infinity', 'infinity', '24:00:00', NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL);
"""

EDGES = SourceObject(table="edges", schema="public")
#: Rows 1-6: every value psycopg represents; row 7 holds infinities and 24:00.
REPRESENTABLE = Compare(Column("id"), "<=", 6)


@pytest.fixture
def conn(pg_server: PostgresServer, pg_database: str) -> Iterator[PostgresConnector]:
    import psycopg

    with psycopg.connect(pg_server.dsn(pg_database), autocommit=True) as c:
        c.execute(DDL)
    cfg = SourceConfig(name="pg", db_type="postgresql", host=pg_server.host,
                       port=pg_server.port, database=pg_database, username=pg_server.user,
                       secret="env:PW")
    connector = PostgresConnectorFactory().open(cfg, Secret(pg_server.password))
    yield connector
    connector.close()


def _ids(pg_server: PostgresServer, pg_database: str, where: str) -> list[int]:
    import psycopg

    with psycopg.connect(pg_server.dsn(pg_database)) as c:
        return [r[0] for r in c.execute(f"SELECT id FROM public.edges WHERE {where} ORDER BY id")]


def _rows(table: pa.Table) -> list[str]:
    # repr keeps NaN, -0.0 and Decimal scale apart, which == would not.
    return sorted(repr(row) for row in zip(*(c.to_pylist() for c in table.columns),
                                           strict=True))


def _same(together: pa.Table | None, read: pa.Table) -> None:
    assert together is not None
    assert together.schema == read.schema
    assert _rows(together) == _rows(read)
    assert digest_rows(together.schema, together.to_batches()) == \
        digest_rows(read.schema, read.to_batches())


SELECTS = {
    "whole": Select(EDGES, where=(REPRESENTABLE,)),
    "window": Select(EDGES, where=(
        REPRESENTABLE, Compare(Column("tstz"), ">=", datetime(1969, 1, 1, tzinfo=timezone.utc)))),
    "any_of": Select(EDGES, where=(REPRESENTABLE, AnyOf((
        IsNull(Column("b")), Compare(Column("ts"), ">", datetime(2000, 1, 1, 6)))))),
    "columns": Select(EDGES, columns=("tm", "id", "dec", "r"), where=(REPRESENTABLE,)),
    "none": Select(EDGES, where=(Compare(Column("id"), ">", 100),)),
}


def test_reads_together_equal_the_adbc_reads(
    conn: PostgresConnector, pg_server: PostgresServer, pg_database: str,
) -> None:
    selects = list(SELECTS.values())
    together = conn.read_together(selects, most_rows=10)
    for name, select, got in zip(SELECTS, selects, together, strict=True):
        read = conn.read(select).read_all()
        _same(got, read)
        assert got is not None
        assert got.num_rows == read.num_rows, name
    # The selects returned what the server holds (read with psycopg, not the connector).
    whole, window = together[0], together[1]
    assert whole is not None and window is not None
    assert sorted(whole["id"].to_pylist()) == _ids(pg_server, pg_database, "id <= 6")
    assert sorted(window["id"].to_pylist()) == _ids(
        pg_server, pg_database, "id <= 6 AND tstz >= '1969-01-01 00:00:00+00'")
    assert together[4] is not None and together[4].num_rows == 0


def test_a_table_is_left_to_its_read_when_together_cannot_give_it_exactly(
    conn: PostgresConnector,
) -> None:
    infinite = Select(EDGES, where=(Compare(Column("id"), "=", 7),))
    four = Select(EDGES, where=(Compare(Column("id"), "<=", 4),))
    got = conn.read_together([infinite, four, SELECTS["whole"]], most_rows=4)
    # 'infinity' dates and 24:00 have no Python value; six rows are more than four.
    assert got[0] is None and got[2] is None
    _same(got[1], conn.read(four).read_all())
    # The usual read still reads the row psycopg cannot represent.
    assert conn.read(infinite).read_all().num_rows == 1


def test_a_failing_select_leaves_every_table_to_its_own_read(conn: PostgresConnector) -> None:
    missing = Select(SourceObject(table="no_such_table", schema="public"))
    conn.columns_together([EDGES])
    # The missing table fails its describe before any statement is sent: nothing raises.
    assert conn.read_together([SELECTS["whole"], missing], most_rows=10) == [None, None]
    # A statement failing on the server aborts the pipeline: every table is left out, and
    # the session is still fit for the next statement.
    broken = Select(EDGES, where=(Compare(Column("t"), ">", 1),))  # text > bigint
    assert conn.read_together([SELECTS["whole"], broken], most_rows=10) == [None, None]
    _same(conn.read_together([SELECTS["whole"]], most_rows=10)[0],
          conn.read(SELECTS["whole"]).read_all())


def test_the_connectorx_read_path_is_never_read_together(
    pg_server: PostgresServer, pg_database: str, conn: PostgresConnector,
) -> None:
    cfg = SourceConfig(name="pg", db_type="postgresql", host=pg_server.host,
                       port=pg_server.port, database=pg_database, username=pg_server.user,
                       secret="env:PW", options={"read_path": "connectorx"})
    other = PostgresConnectorFactory().open(cfg, Secret(pg_server.password))
    try:
        # Its reads convert connectorx's own types; only the ADBC path is matched here.
        assert other.read_together([SELECTS["whole"]], most_rows=10) == [None]
    finally:
        other.close()
