"""The ``snowflake``/``snowflake_pem`` connectors: the real snowflake-connector-python against
fakesnow in server mode.

fakesnow runs in a child process (one per test run, see :func:`fakesnow_server`): its
DuckDB engine emits warnings that pytest's warnings-as-errors would turn into HTTP 500s if
the server ran in a thread of this process, and a separate process is what the driver
meets in production anyway. Each test uses its own database.
"""

from __future__ import annotations

import atexit
import json
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from dataloader_sdk.connectors.snowflake import (
    SnowflakeConnector,
    SnowflakeConnectorFactory,
    SnowflakePemConnectorFactory,
)
from dataloader_sdk.errors import SecretError, SourcePermanentError, SourceTransientError
from dataloader_sdk.model import (
    AnyOf,
    ChangeSignature,
    Column,
    Compare,
    IsNull,
    MaxOf,
    MinOf,
    RowCount,
    Select,
    SourceConfig,
    SourceObject,
)
from dataloader_sdk.plugins import PluginHost
from dataloader_sdk.secrets import Secret

pytestmark = [pytest.mark.integration]

# The child's access log must not go to the pipe the parent stops reading after the first
# line: a full pipe blocks uvicorn's logging, and with it every request.
_SERVER_CODE = r"""
import json, os, sys, warnings
warnings.simplefilter("ignore")
import fakesnow
with fakesnow.server() as kwargs:
    print(json.dumps(kwargs), flush=True)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    sys.stdin.read()  # until the parent closes our stdin
"""
_SERVER: dict[str, Any] = {}


def fakesnow_server() -> dict[str, Any]:
    """Connection kwargs of this test run's fakesnow server (started on first use)."""
    if not _SERVER:
        proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER_CODE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            proc.kill()
            raise RuntimeError("fakesnow server did not start")

        def stop() -> None:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.close()
            proc.stdout.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

        atexit.register(stop)
        _SERVER.update(json.loads(line))
    return _SERVER


def fakesnow_connect(**extra: Any) -> Any:
    """A raw driver connection to the stand-in (the tests' writer)."""
    import snowflake.connector

    return snowflake.connector.connect(**{**fakesnow_server(), "user": "setup",
                                          "password": "x", **extra})


def fakesnow_config(name: str, database: str, db_type: str = "snowflake",
                    **options: Any) -> SourceConfig:
    """A source config that reaches the stand-in through host/port/protocol."""
    server = fakesnow_server()
    return SourceConfig(
        name=name, db_type=db_type, host=server["host"], port=server["port"],
        database=database, username="reader", secret="env:SF_SECRET",
        options={"account": "fakesnow", "protocol": "http", "network_timeout": 10,
                 "login_timeout": 10, **options})


DDL = """CREATE TABLE {db}.S1.ALL_TYPES (
  ID NUMBER(38,0) PRIMARY KEY, SMALL NUMBER(18,0), N NUMBER(10,2), F FLOAT, V VARCHAR, B BOOLEAN,
  D DATE, NTZ TIMESTAMP_NTZ, LTZ TIMESTAMP_LTZ, TZ TIMESTAMP_TZ, VAR VARIANT, OBJ OBJECT,
  ARR ARRAY, BIN BINARY, TM TIME)"""
# fakesnow stores NUMBER(38,0) as a 64-bit integer, so the widest id it can hold is 2**63-1.
ROW = """INSERT INTO {db}.S1.ALL_TYPES SELECT 9223372036854775807,
  -999999999999999999, -12345678.99, 1.5, 'text ''quoted''', TRUE, '2024-02-29',
  '2024-02-29 23:59:59.123456', '2024-02-29 23:59:59.123456+00:00'::TIMESTAMP_LTZ,
  '2024-02-29 23:59:59.123456+05:30'::TIMESTAMP_TZ, PARSE_JSON('{{"a": 1}}'),
  PARSE_JSON('{{"b": [1]}}'), PARSE_JSON('[1, 2]'), TO_BINARY('00FF', 'HEX'), '01:02:03.5'"""
EXPECTED: dict[str, tuple[pa.DataType, object]] = {
    "ID": (pa.decimal128(38, 0), Decimal(2**63 - 1)),
    "SMALL": (pa.int64(), -999999999999999999),
    "N": (pa.decimal128(10, 2), Decimal("-12345678.99")),
    "F": (pa.float64(), 1.5),
    "V": (pa.string(), "text 'quoted'"),
    "B": (pa.bool_(), True),
    "D": (pa.date32(), date(2024, 2, 29)),
    "NTZ": (pa.timestamp("us"), datetime(2024, 2, 29, 23, 59, 59, 123456)),
    "LTZ": (pa.timestamp("us", tz="UTC"),
            datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=timezone.utc)),
    "TZ": (pa.timestamp("us", tz="UTC"),
           datetime(2024, 2, 29, 18, 29, 59, 123456, tzinfo=timezone.utc)),
    "VAR": (pa.string(), '{"a":1}'),
    "OBJ": (pa.string(), '{"b":[1]}'),
    "ARR": (pa.string(), "[1,2]"),
    "BIN": (pa.binary(), b"\x00\xff"),
    "TM": (pa.string(), "01:02:03.500000000"),
}


@pytest.fixture
def database() -> str:
    name = "DB_" + uuid.uuid4().hex[:10].upper()
    conn = fakesnow_connect()
    cur = conn.cursor()
    cur.execute(f"CREATE DATABASE {name}")
    cur.execute(f"CREATE SCHEMA {name}.S1")
    cur.execute(DDL.format(db=name))
    cur.execute(ROW.format(db=name))
    cur.execute(f"INSERT INTO {name}.S1.ALL_TYPES (ID) VALUES (2)")
    cur.execute(f"CREATE TABLE {name}.S1.EVENTS (ID NUMBER(18,0), UPDATED_AT TIMESTAMP_NTZ, "
                "AMOUNT NUMBER(18,4))")
    cur.execute(f"INSERT INTO {name}.S1.EVENTS SELECT seq4() + 1, "
                "DATEADD(minute, seq4() + 1, '2024-01-01 00:00:00.000001'::TIMESTAMP_NTZ), "
                "(seq4() + 1) * 1.0001 FROM TABLE(GENERATOR(ROWCOUNT => 100))")
    cur.execute(f'CREATE TABLE {name}.S1."lower_case" ("id" NUMBER(18,0), "val" VARCHAR)')
    cur.execute(f'INSERT INTO {name}.S1."lower_case" VALUES (1, \'a\')')
    conn.close()
    return name


@pytest.fixture
def conn(database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[SnowflakeConnector]:
    c = SnowflakeConnectorFactory().open(fakesnow_config("sf1", database, schema="S1"),
                                         Secret("pw"))
    yield c
    c.close()


def test_every_mapped_type_round_trips(conn: SnowflakeConnector) -> None:
    obj = SourceObject(table="all_types", schema="s1")  # resolved like unquoted names
    columns = {c.name: c for c in conn.columns(obj)}
    table = conn.read(Select(obj, where=(Compare(Column("ID"), ">", 2),))).read_all()
    for name, (arrow, value) in EXPECTED.items():
        assert columns[name].arrow_type == arrow, name
        assert table.schema.field(name).type == arrow, name
        assert table.column(name).to_pylist() == [value], name
    assert conn.primary_key(obj) == ("ID",)
    nulls = conn.read(Select(obj, columns=("ID", "N", "VAR", "BIN"),
                             where=(Compare(Column("ID"), "=", 2),))).read_all().to_pylist()
    assert nulls == [{"ID": Decimal(2), "N": None, "VAR": None, "BIN": None}]


def test_empty_read_has_the_declared_schema(conn: SnowflakeConnector) -> None:
    obj = SourceObject(table="ALL_TYPES", schema="S1")
    reader = conn.read(Select(obj, where=(Compare(Column("ID"), "<", 0),)))
    declared = pa.schema([pa.field(c.name, c.arrow_type, c.nullable) for c in conn.columns(obj)])
    assert reader.schema == declared and reader.read_all().num_rows == 0


def test_reads_filter_with_bound_values_in_bounded_batches(conn: SnowflakeConnector) -> None:
    obj = SourceObject(table="EVENTS", schema="S1")
    where = (AnyOf((Compare(Column("UPDATED_AT"), ">=", datetime(2024, 1, 1, 0, 10, 0, 1)),
                    IsNull(Column("UPDATED_AT")))),
             Compare(Column("AMOUNT"), "<=", Decimal("50.0050")))
    batches = list(conn.read(Select(obj, columns=("ID",), where=where), batch_rows=7))
    assert all(b.num_rows <= 7 for b in batches)
    assert sorted(i for b in batches for i in b.column("ID").to_pylist()) == list(range(10, 51))


def test_probes_and_change_signature(conn: SnowflakeConnector) -> None:
    obj = SourceObject(table="EVENTS", schema="S1")
    assert conn.probe(obj, MaxOf(Column("UPDATED_AT"))) == datetime(2024, 1, 1, 1, 40, 0, 1)
    assert conn.probe(obj, MinOf(Column("ID"))) == 1
    assert conn.probe(obj, RowCount(where=(Compare(Column("ID"), ">", 90),))) == 10
    assert conn.probe(obj, MaxOf(Column("ID"), where=(Compare(Column("ID"), ">", 900),))) is None
    # fakesnow reports LAST_ALTERED as the epoch for every table: no signature.
    assert conn.probe(obj, ChangeSignature()) is None
    # An incremental run's probes, asked in one round trip, answer as one by one.
    together = [MaxOf(Column("UPDATED_AT")), RowCount(where=(IsNull(Column("UPDATED_AT")),)),
                MinOf(Column("ID"))]
    assert conn.probe_together(obj, together) == [conn.probe(obj, r) for r in together]


def test_quoted_lower_case_names_and_source_queries(conn: SnowflakeConnector) -> None:
    lower = SourceObject(table="lower_case", schema="S1")
    assert [c.name for c in conn.columns(lower)] == ["id", "val"]
    assert conn.read(Select(lower)).read_all().to_pylist() == [{"id": 1, "val": "a"}]
    query = SourceObject(query="SELECT ID, AMOUNT, '50%' AS PCT FROM S1.EVENTS WHERE ID <= 2")
    rows = conn.read(Select(query, where=(Compare(Column("ID"), ">=", 2),))).read_all()
    assert rows.to_pylist() == [{"ID": Decimal(2), "AMOUNT": Decimal("2.0002"), "PCT": "50%"}]


def test_key_pair_arguments_reach_the_driver(database: str, monkeypatch: pytest.MonkeyPatch,
                                             ) -> None:
    """fakesnow accepts any credentials: this proves the key is loaded and the JWT login is
    what the real driver sends, not that Snowflake would accept the key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.BestAvailableEncryption(b"pp-secret")).decode()
    monkeypatch.setenv("SF_PP", "pp-secret")
    cfg = fakesnow_config("sfpem", database, "snowflake_pem", schema="S1",
                          private_key_passphrase_secret="env:SF_PP")
    assert SnowflakePemConnectorFactory().validate(cfg) == []
    conn = SnowflakePemConnectorFactory(PluginHost()).open(cfg, Secret(pem, "env:SF_KEY"))
    assert conn.connect_kwargs()["authenticator"] == "SNOWFLAKE_JWT"
    conn.check()
    assert conn.probe(SourceObject(table="EVENTS", schema="S1"), RowCount()) == 100
    conn.close()
    monkeypatch.setenv("SF_PP", "wrong")
    with pytest.raises(SecretError, match="source 'sfpem'") as err:
        SnowflakePemConnectorFactory(PluginHost()).open(cfg, Secret(pem, "env:SF_KEY"))
    assert "wrong" not in str(err.value).replace("is wrong", "")
    with pytest.raises(SecretError, match="malformed"):
        SnowflakePemConnectorFactory(PluginHost()).open(cfg.__class__(**{**cfg.__dict__, "options": {
            k: v for k, v in cfg.options.items() if k != "private_key_passphrase_secret"}}),
            Secret("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"))


# -- bad input --------------------------------------------------------------------------


def test_missing_table_names_it_and_lists_what_exists(conn: SnowflakeConnector) -> None:
    with pytest.raises(SourcePermanentError, match=r"'S1\.missing' does not exist in source "
                                                   r"'sf1'.*ALL_TYPES, EVENTS"):
        conn.read(Select(SourceObject(table="missing", schema="S1")))


def test_bad_source_query_is_permanent(conn: SnowflakeConnector) -> None:
    with pytest.raises(SourcePermanentError, match="source 'sf1': describing"):
        conn.columns(SourceObject(query="SELECT * FROM NO_SUCH_TABLE"))


def test_wrong_host_or_port_is_transient_and_hides_the_password(database: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cfg = fakesnow_config("sf_down", database, login_timeout=3, network_timeout=3)
    cfg = cfg.__class__(**{**cfg.__dict__, "port": port})
    conn = SnowflakeConnectorFactory().open(cfg, Secret("hunter2"))
    with pytest.raises(SourceTransientError, match="source 'sf_down': connecting failed") as err:
        conn.check()
    assert "hunter2" not in str(err.value)
