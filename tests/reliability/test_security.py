"""Security findings of issue #9 (items 7, 8, 9b): secrets and the control DB, redaction,
Spark JDBC URLs and properties. Every control-DB check reads the file with raw sqlite3."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataloader_sdk.cli import main
from dataloader_sdk.connectors.clickhouse import clickhouse_jdbc_options
from dataloader_sdk.connectors.jdbc import JDBC_PROPERTY_ALLOWLIST, JdbcOptions
from dataloader_sdk.connectors.oracle import oracle_jdbc_options
from dataloader_sdk.connectors.postgresql import (
    POSTGRES_DRIVER,
    PostgresConnectorFactory,
    postgres_jdbc_options,
)
from dataloader_sdk.connectors.snowflake import snowflake_jdbc_options
from dataloader_sdk.connectors.sqlserver import sqlserver_jdbc_options
from dataloader_sdk.connectors.values import to_arrow
from dataloader_sdk.control import ControlStore
from dataloader_sdk.engines.base import EngineSettings
from dataloader_sdk.errors import ConfigError, SecretError, ValidationError
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import SourceConfig, SourceObject
from dataloader_sdk.plugins import PluginHost, get_host
from dataloader_sdk.secrets import (
    MIN_SECRET_LENGTH,
    Secret,
    cap_quoted_values,
    redact,
    resolve,
    value_preview,
)
from tests.leakscan import register_secret

LEAK = "Leaked-Pa55 w0rd;x"  # spaces and ';' on purpose: the forms that used to slip through
register_secret(LEAK)
ACTOR = "test:security"


# -- item 7: secrets never reach the control DB ---------------------------------------

def _control_db(home: Path) -> Path:
    """``dataloader --home HOME init``; the SQLite control DB it created."""
    home.mkdir()
    assert _cli(home, "init")[0] == 0
    db = home / ".dataloader" / "dataloader.db"
    assert db.exists()
    return db


def _raw(db: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Every dbconfig and audit row, read with sqlite3 (not through the store)."""
    conn = sqlite3.connect(db)
    try:
        return (conn.execute("SELECT * FROM table_control_dbconfig ORDER BY source_id").fetchall(),
                conn.execute("SELECT * FROM table_control_history ORDER BY id").fetchall())
    finally:
        conn.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ControlStore]:
    s = ControlStore.open(f"sqlite:///{tmp_path}/dataloader.db")
    yield s
    s.close()


SQLITE_OK = {"url": "sqlite:////data/src.db"}
# (field overrides, the field the error must name) for every inline-credential form.
INLINE_FORMS = [
    ({"options": {"url": f"postgresql://u:{quote(LEAK)}@h/db"}}, "options.url"),
    ({"options": {"url": f"mysql+pymysql://u@h/db?password={quote(LEAK)}"}}, "options.url"),
    ({"options": {"url": f"mysql+pymysql://u@h/db?ssl=1&PWD={quote(LEAK)}"}}, "options.url"),
    ({"options": {"url": f"postgresql://h/db?sslmode=require&api_key={quote(LEAK)}"}},
     "options.url"),
    ({"options": {"url": f"postgresql://h/db?Token={quote(LEAK)}"}}, "options.url"),
    ({"options": {"url": "sqlite:////x.db", "password": LEAK}}, "options.password"),
    ({"options": {"url": "sqlite:////x.db", "extra": {"Secret_Key": LEAK}}},
     "options.extra.Secret_Key"),
    ({"options": {"dsn": f"Server=h;UID=u;PWD={{{LEAK}}}"}}, "options.dsn"),
    ({"options": {"conninfo": f"host=h password='{LEAK}'"}}, "options.conninfo"),
    ({"host": f"u:{quote(LEAK)}@db.internal"}, "host"),
    ({"database": f"erp?password={quote(LEAK)}"}, "database"),
    ({"secret": f"env:X?token={quote(LEAK)}"}, "secret"),
]


def _config(**overrides: object) -> SourceConfig:
    base: dict[str, object] = {"name": "src", "db_type": "sqlalchemy", "options": SQLITE_OK}
    return SourceConfig(**{**base, **overrides})  # type: ignore[arg-type]


def _assert_refused(exc: ValidationError, field: str) -> None:
    assert field in {p.field for p in exc.problems}, exc.problems
    text = str(exc)
    assert "secret reference" in text or "reference it" in text
    assert LEAK not in text and quote(LEAK) not in text


@pytest.mark.parametrize(("overrides", "field"), INLINE_FORMS)
def test_store_refuses_inline_credentials_and_writes_nothing(
    store: ControlStore, tmp_path: Path, overrides: dict[str, object], field: str
) -> None:
    store.add_source(_config(name="existing"), actor=ACTOR)
    before = _raw(tmp_path / "dataloader.db")
    with pytest.raises(ValidationError) as info:
        store.add_source(_config(**overrides), actor=ACTOR)
    _assert_refused(info.value, field)
    with pytest.raises(ValidationError) as info:
        store.update_source(_config(name="existing", **overrides), actor=ACTOR)
    _assert_refused(info.value, field)
    assert _raw(tmp_path / "dataloader.db") == before


def test_credential_check_is_case_insensitive_and_leaves_ordinary_options(
    store: ControlStore,
) -> None:
    bad = SourceConfig(name="pg", db_type="postgresql", host="h", database="d", username="u",
                       options={"url": f"x://h/?PassWord={quote(LEAK)}"})
    assert [p.field for p in bad.problems()] == ["options.url"]
    # References, option names that merely contain a secret word, and URLs without
    # credentials are accepted.
    fine = SourceConfig(
        name="sf", db_type="snowflake_pem", secret="env:SF_KEY",
        options={"private_key_passphrase_secret": "env:SF_PP", "token_ttl": 30,
                 "url": "mysql+pymysql://loader@h:3306/db?ssl_disabled=true&charset=utf8"})
    assert fine.problems() == []
    store.add_source(fine, actor=ACTOR)


def test_dataloader_add_source_refuses_query_password(tmp_path: Path) -> None:
    host = get_host()
    engine = host.engine("delta_rs").open(EngineSettings(root=str(tmp_path / "delta")))
    loader = DataLoader(ControlStore.open(f"sqlite:///{tmp_path}/dataloader.db"), engine,
                        host=host)
    try:
        with pytest.raises(ValidationError) as info:
            loader.add_source(_config(options={
                "url": f"mysql+pymysql://u@h/db?password={quote(LEAK)}"}), actor=ACTOR)
        _assert_refused(info.value, "options.url")
    finally:
        loader.close()
    assert _raw(tmp_path / "dataloader.db") == ([], [])


def _cli(home: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--home", str(home), *args], env=env,
                                catch_exceptions=False)
    return result.exit_code, result.output + result.stderr


def test_cli_refuses_query_password_and_option_secret(tmp_path: Path) -> None:
    home = tmp_path / "home"
    db = _control_db(home)
    code, out = _cli(home, "sources", "add", "m", "--db-type", "sqlalchemy", "--option",
                     f"url=mysql+pymysql://u@h/db?password={quote(LEAK)}")
    assert code == 2 and "options.url" in out and quote(LEAK) not in out
    code, out = _cli(home, "sources", "add", "m", "--db-type", "sqlalchemy", "--option",
                     "url=sqlite:////x.db", "--option", f"pwd={quote(LEAK)}")
    assert code == 2 and "options.pwd" in out
    assert _raw(db) == ([], [])


# -- item 7: purging a value that leaked before validation existed ---------------------

def _plant(db: Path) -> None:
    """Write a leaked secret the way an old version (or a hand edit) would have."""
    conn = sqlite3.connect(db)
    with conn:
        url = f"postgresql://u:{quote(LEAK)}@h/db"
        conn.execute(
            "INSERT INTO table_control_dbconfig (name, db_type, options, enabled, created_at, "
            "updated_at, version) VALUES ('old', 'sqlalchemy', ?, 1, '2024-01-01 00:00:00', "
            "'2024-01-01 00:00:00', 1)", (json.dumps({"url": url}),))
        conn.execute(
            "INSERT INTO table_control_history (entity_kind, entity_name, action, actor, at, "
            "before, after, environment) VALUES ('source', 'old', 'update', 'x', "
            "'2024-01-01 00:00:00', ?, ?, 'dataloader')",
            (json.dumps({"options": {"password": LEAK}}),
             json.dumps({"options": {"url": url}, "note": f"was {LEAK}"})))
    conn.close()


def test_audit_purge_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    db = _control_db(home)
    assert _cli(home, "sources", "add", "ok", "--db-type", "sqlalchemy", "--option",
                "url=sqlite:////data/ok.db")[0] == 0
    _plant(db)
    monkeypatch.setenv("LEAKED_PASSWORD", LEAK)
    code, out = _cli(home, "audit", "purge", "--value-from", "env:LEAKED_PASSWORD", "--yes",
                     "--json")
    assert code == 0, out
    assert json.loads(out.splitlines()[-1])["rows_rewritten"] == 2
    sources, audit = _raw(db)
    dump = repr((sources, audit))
    assert LEAK not in dump and quote(LEAK) not in dump
    old = next(r for r in sources if r[1] == "old")
    assert json.loads(old[8]) == {"url": "postgresql://u:***@h/db"}
    assert old[-1] == 2  # version bumped: editors holding version 1 must reload
    purge = audit[-1]
    assert purge[2:4] == ("audit", "purge")
    assert json.loads(purge[7])["references"] == ["env:LEAKED_PASSWORD"]
    # The untouched source and its audit row are unchanged.
    assert any(r[1] == "ok" and json.loads(r[8]) == {"url": "sqlite:////data/ok.db"}
               for r in sources)


def test_audit_purge_takes_no_value_on_the_command_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _control_db(home)
    result = CliRunner().invoke(main, ["--home", str(home), "audit", "purge", "--value", LEAK])
    assert result.exit_code == 2 and "No such option" in result.output + result.stderr


def test_purge_refuses_short_values(store: ControlStore) -> None:
    with pytest.raises(ConfigError, match="at least 4"):
        store.purge_secret_from_audit("abc", actor=ACTOR)
    with pytest.raises(ConfigError):
        store.purge_secret_from_audit(actor=ACTOR)


# -- item 8: redaction ------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "PGPASSWORD=hunter22 psql",
    'export DB_TOKEN="a b c"',
    '{"user": "bob", "password": "x y z"}',
    "{'password': 'x y z'}",
    "Driver=x;Server=h;PWD={a;b c}}d};UID=u",
    "password: 'x y z'",
    "postgresql://bob:hunter22@db:5432/x",
    "https://h/x?user=u&access_key=AKIA1234&region=eu",
    "Authorization: Bearer eyJabc.def",
    "secret = hunter22",
])
def test_redact_masks_every_form_by_pattern(text: str) -> None:
    out = redact(text)
    assert "***" in out
    for fragment in ("hunter22", "x y z", "a b c", "a;b c", "AKIA1234", "eyJabc", "d};UID"):
        if fragment in text and fragment != "d};UID":
            assert fragment not in out, out
    assert "UID=u" in redact("Driver=x;Server=h;PWD={a;b c}}d};UID=u")


@pytest.mark.parametrize("text", [
    "secret: must be a reference like 'env:NAME'",
    "invalid source 'erp':\n  - secret: must be a reference such as 'env:NAME', never the secret",
    "password must be a reference",
    "  - options.password: names a secret but does not hold a secret reference",
    "secret: env:ERP_PASSWORD",
    "duplicate key: (id)=(5) already exists; primary key: id",
    "no secret resolver for scheme 'vault'; the token was refused",
])
def test_redact_leaves_prose_alone(text: str) -> None:
    assert redact(text) == text


def test_cli_secret_error_is_not_mangled(tmp_path: Path) -> None:
    """Issue #17 item 10: `--secret ERP_PASSWORD` printed 'secret: *** be a reference'."""
    home = tmp_path / "home"
    _control_db(home)
    code, out = _cli(home, "sources", "add", "erp", "--db-type", "postgresql", "--host", "h",
                     "--database", "d", "--username", "u", "--secret", "ERP_PASSWORD")
    assert code == 2
    assert "secret: must be a reference" in out and "***" not in out


def test_redact_by_value_covers_encoded_forms() -> None:
    secret = Secret('p@ss "w}rd" é')
    for text in (f"url=x://u:{quote(secret.reveal(), safe='')}@h", json.dumps({"v": secret.reveal()}),
                 repr(secret.reveal()), "PWD={" + secret.reveal().replace("}", "}}") + "}"):
        out = redact(text, secret)
        assert secret.reveal() not in out and quote(secret.reveal(), safe="") not in out
        assert "w}rd" not in out and "w}}rd" not in out


_SECRET_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126),
                       min_size=MIN_SECRET_LENGTH, max_size=40)


def _forms(s: str) -> list[str]:
    return [
        f"postgresql://bob:{s}@db/x", f"postgresql://bob:{quote(s, safe='')}@db/x",
        f"https://h/p?a=1&token={quote(s, safe='')}&b=2", f"password={s}", f"PGPASSWORD={s}",
        json.dumps({"password": s}), "PWD={" + s.replace("}", "}}") + "};UID=u",
        f"password: {s!r}", f"MY_API_TOKEN={s}", f"the value {s} leaked",
    ]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_SECRET_TEXT)
def test_redact_never_returns_a_known_secret(s: str) -> None:
    for text in _forms(s):
        assert s not in redact(text, Secret(s))


@settings(max_examples=300, deadline=None)
@given(_SECRET_TEXT)
def test_redact_masks_unknown_secrets_in_structured_forms(s: str) -> None:
    """Without knowing the secret, its value in a well-formed structure is masked whole."""
    assert redact(json.dumps({"password": s})) == '{"password": "***"}'
    assert redact("PWD={" + s.replace("}", "}}") + "};UID=u") == "PWD={***};UID=u"
    quote_char = repr(s)[0]
    assert redact(f"password: {s!r} end") == f"password: {quote_char}***{quote_char} end"
    assert redact(f"x://h/p?token={quote(s, safe='')}&b=2") == "x://h/p?token=***&b=2"
    assert redact(f"x://bob:{quote(s, safe='')}@h/p") == "x://bob:***@h/p"


def test_short_secrets_are_refused_at_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    host = PluginHost()
    monkeypatch.setenv("DL_SHORT_PW", "abc")
    with pytest.raises(SecretError) as info:
        resolve("env:DL_SHORT_PW", host, source="erp")
    text = str(info.value)
    assert "env:DL_SHORT_PW" in text and "'erp'" in text and "abc" not in text
    monkeypatch.setenv("DL_SHORT_PW", "")
    with pytest.raises(SecretError):
        resolve("env:DL_SHORT_PW", host)
    monkeypatch.setenv("DL_SHORT_PW", "abcd")
    assert resolve("env:DL_SHORT_PW", host).reveal() == "abcd"


def test_source_values_in_errors_are_capped() -> None:
    import pyarrow as pa

    personal = "PERSONAL-" + "x" * 200
    with pytest.raises(ValueError) as info:
        to_arrow([1, personal], pa.int64())
    assert personal not in str(info.value) and "(209 chars)" in str(info.value)
    with pytest.raises(ValueError) as info:
        to_arrow([b"\xff" + personal.encode()], pa.string())
    assert personal not in str(info.value) and "(210 bytes)" in str(info.value)
    assert value_preview("short") == "'short'"
    driver = f"Could not decode to UTF-8 column 'v' with text '{personal}'"
    capped = cap_quoted_values(driver)
    assert personal not in capped and "column 'v'" in capped and "(209 chars)" in capped


def test_non_utf8_sqlite_value_is_capped_in_the_source_error(tmp_path: Path) -> None:
    from dataloader_sdk.connectors.sqlalchemy_url import SqlAlchemyConnectorFactory
    from dataloader_sdk.errors import SourceError
    from dataloader_sdk.model import Select

    personal = b"\xff" + b"PERSONAL-DATA-" * 20
    db = tmp_path / "src.db"
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        conn.execute("INSERT INTO t VALUES (1, CAST(? AS TEXT))", (personal,))
    conn.close()
    source = SqlAlchemyConnectorFactory().open(
        SourceConfig(name="s", db_type="sqlalchemy", options={"url": f"sqlite:///{db}"}), None)
    try:
        with pytest.raises(SourceError) as info:
            source.read(Select(source=SourceObject(table="t"))).read_all()
    finally:
        source.close()
    assert "PERSONAL-DATA-" * 4 not in str(info.value)
    assert "chars)" in str(info.value)


# -- item 9b: Spark JDBC URLs and properties ---------------------------------------------

PG = SourceConfig(name="pg", db_type="postgresql", host="db.internal", port=5432,
                  database="erp", username="loader")


@pytest.mark.parametrize(("field", "value"), [
    ("database", "erp?socketFactory=org.evil.Factory"),
    ("database", "erp&sslfactory=x"),
    ("database", "erp;x=1"),
    ("database", "erp/../other"),
    ("database", "erp#frag"),
    ("database", "erp db"),
    ("host", "evil@db.internal"),
    ("host", "db.internal:1/x?y="),
    ("host", "db internal"),
])
def test_postgres_jdbc_url_fields_are_refused(field: str, value: str) -> None:
    cfg = SourceConfig(**{**PG.__dict__, field: value})
    with pytest.raises(ValidationError) as info:
        postgres_jdbc_options(cfg, None)
    assert field in {p.field for p in info.value.problems}


def test_postgres_jdbc_properties_allowlist() -> None:
    ok = SourceConfig(**{**PG.__dict__, "options": {"jdbc_properties": {
        "sslmode": "verify-full", "ApplicationName": "dl"}}})
    opts = postgres_jdbc_options(ok, Secret("pw-secret"))
    assert opts.url == "jdbc:postgresql://db.internal:5432/erp"
    assert opts.properties == {"sslmode": "verify-full", "ApplicationName": "dl"}
    assert PostgresConnectorFactory().validate(ok) == []
    for evil in ("socketFactory", "sslfactory", "authenticationPluginClassName",
                 "sessionInitStatement", "driver", "loggerFile"):
        cfg = SourceConfig(**{**PG.__dict__, "options": {"jdbc_properties": {evil: "x"}}})
        with pytest.raises(ValidationError) as info:
            postgres_jdbc_options(cfg, None)
        [problem] = info.value.problems
        assert problem.field == f"options.jdbc_properties.{evil}"
        assert "sslmode" in problem.problem  # the allowed ones are listed
        assert [p.field for p in PostgresConnectorFactory().validate(cfg)] == [
            f"options.jdbc_properties.{evil}"]


def test_jdbc_options_refuse_unlisted_properties_for_every_driver() -> None:
    for driver in JDBC_PROPERTY_ALLOWLIST:
        with pytest.raises(ValidationError, match="not an allowed property"):
            JdbcOptions(url="jdbc:x://h/db", driver=driver, properties={"socketFactory": "x"})
    with pytest.raises(ValidationError, match="none registered"):
        JdbcOptions(url="jdbc:x://h/db", driver="com.example.Driver", properties={"a": "b"})
    assert JdbcOptions(url="jdbc:x://h/db", driver=POSTGRES_DRIVER,
                       properties={"ssl": "true"}).properties == {"ssl": "true"}


def test_other_connectors_refuse_url_changing_fields() -> None:
    obj = SourceObject(table="t")
    cases = [
        (sqlserver_jdbc_options, SourceConfig(name="ms", db_type="sqlserver", host="h",
                                              database="Sales};x=1;{a")),
        (oracle_jdbc_options, SourceConfig(name="ora", db_type="oracle", host="h",
                                           database="svc?x=1")),
        (oracle_jdbc_options, SourceConfig(name="ora", db_type="oracle", host="h",
                                           options={"sid": "ORCL:1"})),
        (clickhouse_jdbc_options, SourceConfig(name="ch", db_type="clickhouse", host="h",
                                               database="d?ssl=false")),
        (snowflake_jdbc_options, SourceConfig(name="sf", db_type="snowflake", database="d",
                                              options={"account": "acct.evil.com/x?"})),
    ]
    for build, cfg in cases:
        with pytest.raises(ValidationError, match="Spark JDBC read"):
            build(cfg, None, obj)


def test_redacting_loggers_masks_third_party_records() -> None:
    """py4j logs every JVM command at DEBUG, spark.read.jdbc's password included."""
    import logging

    from dataloader_sdk.secrets import redacting_loggers

    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    logger = logging.getLogger("py4j.clientserver")
    handler, level = Keep(logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        with redacting_loggers(["py4j.clientserver"], Secret(LEAK)):
            logger.debug("Command to send: c\nread\njdbc\nspassword\ns%s\ne\n", LEAK)
        logger.debug("after: %s", "not masked any more")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert LEAK not in seen[0] and "***" in seen[0]
    assert seen[1] == "after: not masked any more"
    assert logger.filters == []
