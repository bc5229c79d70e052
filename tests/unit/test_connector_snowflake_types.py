"""Snowflake connector pieces that need no server: type map, keys, SQL, config, errors."""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from dataloader_sdk.connectors.base import SourceColumn
from dataloader_sdk.connectors.snowflake import (
    SnowflakeConnector,
    SnowflakeConnectorFactory,
    SnowflakePemConnectorFactory,
    snowflake_jdbc_options,
)
from dataloader_sdk.connectors.snowflake.keys import load_private_key
from dataloader_sdk.connectors.snowflake.types import (
    UnsupportedTypeError,
    arrow_type_for,
    conform,
)
from dataloader_sdk.errors import (
    ConfigError,
    SecretError,
    SourcePermanentError,
    SourceTransientError,
    ValidationError,
)
from dataloader_sdk.model import (
    AnyOf,
    ChangeSignature,
    Column,
    Compare,
    IsNull,
    Select,
    SourceConfig,
    SourceObject,
)
from dataloader_sdk.plugins import PluginHost, hookimpl
from dataloader_sdk.secrets import Secret

#: Every row of the type table in docs/connectors/snowflake.md.
TYPE_TABLE: list[tuple[str, int | None, int | None, pa.DataType]] = [
    ("NUMBER", 18, 0, pa.int64()),
    ("NUMBER", 9, 0, pa.int64()),
    ("NUMBER", 38, 0, pa.decimal128(38, 0)),
    ("NUMBER", 19, 0, pa.decimal128(19, 0)),
    ("NUMBER", 10, 2, pa.decimal128(10, 2)),
    ("FIXED", 38, 37, pa.decimal128(38, 37)),
    ("FLOAT", None, None, pa.float64()),
    ("TEXT", None, None, pa.string()),
    ("BOOLEAN", None, None, pa.bool_()),
    ("DATE", None, None, pa.date32()),
    ("TIME", None, None, pa.string()),
    ("TIMESTAMP_NTZ", None, None, pa.timestamp("us")),
    ("TIMESTAMP_LTZ", None, None, pa.timestamp("us", tz="UTC")),
    ("TIMESTAMP_TZ", None, None, pa.timestamp("us", tz="UTC")),
    ("VARIANT", None, None, pa.string()),
    ("OBJECT", None, None, pa.string()),
    ("ARRAY", None, None, pa.string()),
    ("BINARY", None, None, pa.binary()),
    ("GEOGRAPHY", None, None, pa.string()),
    ("GEOMETRY", None, None, pa.string()),
]


@pytest.mark.parametrize(("name", "precision", "scale", "arrow"), TYPE_TABLE,
                         ids=[f"{t[0]}({t[1]},{t[2]})" for t in TYPE_TABLE])
def test_every_documented_type_maps_as_documented(
    name: str, precision: int | None, scale: int | None, arrow: pa.DataType
) -> None:
    assert arrow_type_for(name, precision, scale) == arrow


def test_unsupported_type_names_the_column() -> None:
    with pytest.raises(UnsupportedTypeError, match="column 'v' has Snowflake type VECTOR"):
        arrow_type_for("VECTOR", column="v")


def test_conform_truncates_nanoseconds_only_and_keeps_nulls() -> None:
    batch = pa.record_batch([
        pa.array([1_700_000_000_123_456_789, None], pa.timestamp("ns", tz="Etc/UTC")),
        pa.array([1, None], pa.int8()),
        pa.array([3_723_500_000_000, None], pa.time64("ns")),
    ], names=["ts", "id", "tm"])
    schema = pa.schema([pa.field("ts", pa.timestamp("us", tz="UTC")),
                        pa.field("id", pa.decimal128(38, 0)), pa.field("tm", pa.string())])
    out = conform(batch, schema)
    assert out.column(0).to_pylist()[1] is None
    assert out.column(0).cast(pa.int64())[0].as_py() == 1_700_000_000_123_456
    assert out.column(1).to_pylist() == [Decimal(1), None]
    assert out.column(2).to_pylist() == ["01:02:03.500000000", None]
    with pytest.raises(pa.ArrowInvalid):
        conform(pa.record_batch([pa.array([2**40], pa.int64())], names=["x"]),
                pa.schema([pa.field("x", pa.int32())]))


# -- keys ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: Any, passphrase: bytes | None = None) -> str:
    from cryptography.hazmat.primitives import serialization

    enc = (serialization.BestAvailableEncryption(passphrase) if passphrase
           else serialization.NoEncryption())
    return str(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 enc).decode())


def _der(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(key.private_bytes(serialization.Encoding.DER,
                                   serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))


def test_encrypted_pem_with_the_right_passphrase_loads(rsa_key: Any) -> None:
    pem = _pem(rsa_key, b"s3cret")
    assert "ENCRYPTED PRIVATE KEY" in pem
    assert load_private_key(Secret(pem), Secret("s3cret"), source="sf") == _der(rsa_key)


def test_unencrypted_pem_base64_der_and_escaped_newlines_load(rsa_key: Any) -> None:
    pem = _pem(rsa_key)
    assert load_private_key(Secret(pem), None, source="sf") == _der(rsa_key)
    assert load_private_key(Secret(pem.replace("\n", "\\n")), None, source="sf") == _der(rsa_key)
    b64 = base64.b64encode(_der(rsa_key)).decode()
    assert load_private_key(Secret(b64), None, source="sf") == _der(rsa_key)
    # A passphrase for a plain key is ignored rather than refused.
    assert load_private_key(Secret(pem), Secret("unused"), source="sf") == _der(rsa_key)


def test_wrong_or_missing_passphrase_is_a_secret_error_without_the_secrets(rsa_key: Any) -> None:
    pem = _pem(rsa_key, b"s3cret")
    with pytest.raises(SecretError, match=r"source 'sf'.*passphrase is wrong") as wrong:
        load_private_key(Secret(pem, "env:SF_KEY"), Secret("nope"), source="sf")
    assert "nope" not in str(wrong.value) and "BEGIN" not in str(wrong.value)
    assert "env:SF_KEY" in str(wrong.value)
    with pytest.raises(SecretError, match="encrypted but no passphrase"):
        load_private_key(Secret(pem), None, source="sf")


@pytest.mark.parametrize("text", [
    "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----",
    "definitely not base64 !!",
    base64.b64encode(b"random bytes that are no DER").decode(),
])
def test_malformed_keys_are_secret_errors(text: str) -> None:
    with pytest.raises(SecretError, match="source 'sf'") as err:
        load_private_key(Secret(text), None, source="sf")
    assert text not in str(err.value)


def test_non_rsa_keys_are_refused() -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    with pytest.raises(SecretError, match="RSA"):
        load_private_key(Secret(_pem(ed25519.Ed25519PrivateKey.generate())), None, source="sf")


def _pem_config(**options: Any) -> SourceConfig:
    return SourceConfig(name="sfpem", db_type="snowflake_pem", database="DB", username="U",
                        secret="env:SF_KEY", options={"account": "acct", **options})


def test_pem_factory_resolves_the_passphrase_and_passes_the_key_to_connect(
    rsa_key: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import snowflake.connector

    seen: dict[str, Any] = {}

    class _Conn:
        def cursor(self) -> Any:
            raise AssertionError("not needed")

        def close(self) -> None:
            pass

    def fake_connect(**kwargs: Any) -> _Conn:
        seen.update(kwargs)
        return _Conn()

    monkeypatch.setattr(snowflake.connector, "connect", fake_connect)
    monkeypatch.setenv("SF_PASS", "s3cret")
    cfg = _pem_config(private_key_passphrase_secret="env:SF_PASS")
    assert SnowflakePemConnectorFactory().validate(cfg) == []
    conn = SnowflakePemConnectorFactory(PluginHost()).open(
        cfg, Secret(_pem(rsa_key, b"s3cret"), "env:SF_KEY"))
    assert conn.conn is not None
    assert seen["private_key"] == _der(rsa_key)
    assert seen["authenticator"] == "SNOWFLAKE_JWT" and "password" not in seen
    assert seen["account"] == "acct" and seen["user"] == "U" and seen["paramstyle"] == "qmark"
    conn.close()


def test_pem_factory_refuses_a_wrong_passphrase_before_connecting(rsa_key: Any,
                                                                  monkeypatch: pytest.MonkeyPatch
                                                                  ) -> None:
    monkeypatch.setenv("SF_PASS", "wrong")
    with pytest.raises(ConfigError, match="source 'sfpem'"):
        SnowflakePemConnectorFactory(PluginHost()).open(
            _pem_config(private_key_passphrase_secret="env:SF_PASS"),
            Secret(_pem(rsa_key, b"s3cret")))
    monkeypatch.delenv("SF_PASS")
    with pytest.raises(SecretError, match="SF_PASS"):
        SnowflakePemConnectorFactory(PluginHost()).open(
            _pem_config(private_key_passphrase_secret="env:SF_PASS"),
            Secret(_pem(rsa_key, b"s3cret")))


# -- config, SQL, errors ---------------------------------------------------------------------


def test_validate_reports_every_bad_field() -> None:
    bad = SourceConfig(name="sf", db_type="snowflake", options={
        "protocol": "ftp", "batch_rows": -1, "private_key_passphrase_secret": "env:X"})
    fields = {p.field for p in SnowflakeConnectorFactory().validate(bad)}
    assert fields == {"options.account", "database", "username", "options.protocol",
                      "options.batch_rows", "options.private_key_passphrase_secret"}
    pem = SourceConfig(name="sf", db_type="snowflake_pem", database="D", username="U",
                       options={"account": "a", "private_key_passphrase_secret": "plaintext"})
    fields = {p.field for p in SnowflakePemConnectorFactory().validate(pem)}
    assert fields == {"secret", "options.private_key_passphrase_secret"}


def test_selects_quote_identifiers_and_bind_values_positionally() -> None:
    conn = SnowflakeConnector(SourceConfig(name="sf", db_type="snowflake"), None)
    obj = SourceObject(table='it"ems', schema="S1")
    conn._resolved[obj] = obj
    cols = [SourceColumn("ID", "NUMBER(38,0)", pa.decimal128(38, 0)),
            SourceColumn("ts", "TIMESTAMP_NTZ", pa.timestamp("us"))]
    select = Select(obj, where=(
        Compare(Column("ID"), ">", Decimal("12.50")),
        AnyOf((Compare(Column("ts"), "<=", datetime(2024, 1, 1)), IsNull(Column("ts")))),
    ))
    compiled = conn.compile(conn.build_select(select, cols))
    assert '"S1"."it""ems"' in compiled.sql and '"ID"' in compiled.sql
    assert "CAST(? AS NUMERIC(4, 2))" in compiled.sql and "<= ?" in compiled.sql
    assert compiled.positional == (Decimal("12.50"), datetime(2024, 1, 1))
    assert "12.5" not in compiled.sql


def test_errors_are_classified_by_errno_and_never_show_secrets() -> None:
    from snowflake.connector.errors import DatabaseError, OperationalError, ProgrammingError

    conn = SnowflakeConnector(SourceConfig(name="sf", db_type="snowflake"), Secret("hunter2"),
                              passphrase=Secret("pp-secret"))
    auth = conn.classify_error(DatabaseError(msg="Incorrect username or password hunter2 "
                                             "pp-secret", errno=390100, sqlstate="08004"),
                               action="connecting")
    assert isinstance(auth, SourcePermanentError)
    assert "hunter2" not in str(auth) and "pp-secret" not in str(auth)
    missing = conn.classify_error(ProgrammingError(msg="Object does not exist", errno=2003,
                                                   sqlstate="42S02"), action="reading",
                                  obj=SourceObject(table="T", schema="S"))
    assert isinstance(missing, SourcePermanentError) and "S.T" in str(missing)
    down = conn.classify_error(OperationalError(msg="Could not connect to Snowflake backend",
                                                errno=250001, sqlstate="08001"),
                               action="connecting")
    assert isinstance(down, SourceTransientError)


def test_jdbc_options_for_password_sources_only() -> None:
    cfg = SourceConfig(name="sf", db_type="snowflake", database="DB", username="U",
                       options={"account": "acct", "warehouse": "WH"})
    opts = snowflake_jdbc_options(cfg, Secret("pw"), SourceObject(table="T", schema="S"))
    assert opts.url == "jdbc:snowflake://acct.snowflakecomputing.com/"
    assert opts.table == '"S"."T"' and dict(opts.properties) == {"db": "DB", "warehouse": "WH"}
    with pytest.raises(ValidationError, match="password authentication only"):
        snowflake_jdbc_options(_pem_config(), Secret("k"))


def test_change_signature_ignores_an_untracked_last_altered(monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    conn = SnowflakeConnector(SourceConfig(name="sf", db_type="snowflake"), None)
    obj = SourceObject(table="T", schema="S")
    monkeypatch.setattr(conn, "resolve", lambda o: (o, []))
    answers = iter([[(datetime(1970, 1, 1, tzinfo=timezone.utc), 5)],
                    [(datetime(2024, 5, 1, 12, tzinfo=timezone.utc), 5)]])
    monkeypatch.setattr(conn, "_query", lambda *a, **k: next(answers))
    assert conn.probe(obj, ChangeSignature()) is None
    assert conn.probe(obj, ChangeSignature()) == "2024-05-01T12:00:00+00:00:5"


# -- the passphrase reference goes through the host that hands out the factory -------------


class _Vault:
    """A secret resolver only an injected host knows (issue #12: no get_host() below it)."""

    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets
        self.asked: list[str] = []

    @hookimpl
    def dataloader_resolve_secret(self, reference: str) -> str | None:
        self.asked.append(reference)
        return self.secrets.get(reference)

    @hookimpl
    def dataloader_secret_schemes(self) -> list[str]:
        return ["vault"]


def _pem_source() -> SourceConfig:
    return SourceConfig(name="sf", db_type="snowflake_pem", database="db", username="u",
                        secret="vault:key",
                        options={"account": "acct", "private_key_passphrase_secret": "vault:pp"})


def test_pem_passphrase_is_resolved_by_the_host_that_hands_out_the_factory(
    rsa_key: Any,
) -> None:
    from dataloader_sdk.plugins import reset_host

    reset_host()  # the process-wide host knows no vault: scheme
    vault = _Vault({"vault:pp": "s3cret"})
    factory = PluginHost([vault]).connector("snowflake_pem")
    connector = factory.open(_pem_source(), Secret(_pem(rsa_key, b"s3cret"), "vault:key"))
    try:
        assert vault.asked == ["vault:pp"]
        assert connector.connect_kwargs()["private_key"] == _der(rsa_key)
    finally:
        connector.close()


def test_pem_factory_without_a_resolver_says_where_to_get_one(rsa_key: Any) -> None:
    with pytest.raises(SecretError, match=r"source 'sf'.*PluginHost\.connector") as err:
        SnowflakePemConnectorFactory().open(
            _pem_source(), Secret(_pem(rsa_key, b"s3cret"), "vault:key"))
    assert "s3cret" not in str(err.value) and "BEGIN" not in str(err.value)
