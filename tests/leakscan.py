"""Secret-leak scanning for the whole suite: a test fails if a known secret shows up.

Registered from ``tests/conftest.py``. For every test:

* every log record of the test (a root handler at DEBUG; message and traceback text),
* its captured stdout/stderr/log sections and the output of every ``CliRunner.invoke``,
* every SQLite control DB (``*.db``) under its ``tmp_path``: the text of each column of
  ``table_control_dbconfig``, ``table_control``, ``historical_metadata`` and
  ``table_control_history``,

is searched for every known secret, also percent-encoded or escaped
(:func:`dataloader_sdk.secrets.secret_forms`). Known secrets: :func:`register_secret`,
the passwords of the test PostgreSQL and MariaDB servers, and the value of every
environment variable named like a secret (PASSWORD, SECRET, TOKEN, ``*_PW``) that the test
set or changed. A finding names the channel and place, never the secret.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path

import pytest

from dataloader_sdk.secrets import MIN_SECRET_LENGTH, secret_forms
from tests.servers.mariadb import PASSWORD as MARIADB_PASSWORD
from tests.servers.postgres import PASSWORD as POSTGRES_PASSWORD

__all__ = [
    "CONTROL_TABLES",
    "known_secrets",
    "leak_scan",
    "pytest_runtest_call",
    "pytest_runtest_makereport",
    "register_secret",
    "scan_sqlite",
    "scan_text",
]

#: The control-DB tables whose text is scanned.
CONTROL_TABLES = ("table_control_dbconfig", "table_control", "historical_metadata",
                  "table_control_history")
_SECRET_ENV_NAME = re.compile(r"(?i)(PASSWORD|PASSWD|SECRET|TOKEN|PASSPHRASE|_PW$|_PP$)")

_REGISTRY: set[str] = {POSTGRES_PASSWORD, MARIADB_PASSWORD}
_ENV_SECRETS = pytest.StashKey[set[str]]()
_ENV_BEFORE = pytest.StashKey[dict[str, str]]()
_EXTRA = pytest.StashKey[list[tuple[str, str]]]()  # (channel, text) gathered by the fixture


def register_secret(value: str) -> None:
    """Treat ``value`` as a secret for the rest of the run (it must never be output)."""
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError(f"a scanned secret needs at least {MIN_SECRET_LENGTH} characters")
    _REGISTRY.add(value)


def known_secrets(extra: Iterable[str] = ()) -> frozenset[str]:
    """The registered secrets plus ``extra``, each with its encoded forms."""
    values = {*_REGISTRY, *(v for v in extra if len(v) >= MIN_SECRET_LENGTH)}
    return frozenset(form for v in values for form in secret_forms(v))


def scan_text(channel: str, text: str, secrets: Collection[str]) -> list[str]:
    """One finding per secret form present in ``text`` (naming the channel, not the form)."""
    return [f"a known secret appears in {channel}" for s in secrets if s in text][:1]


def scan_sqlite(path: Path, secrets: Collection[str]) -> list[str]:
    """Findings for every control-table cell of the SQLite file ``path`` holding a secret."""
    found: list[str] = []
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return found
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        for table in CONTROL_TABLES:
            if table not in names:
                continue
            cursor = conn.execute(f'SELECT * FROM "{table}"')  # fixed table names
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    text = value.decode("utf-8", "replace") if isinstance(value, bytes) \
                        else str(value)
                    found += scan_text(f"{path.name}: {table}.{column}", text, secrets)
    except sqlite3.Error:  # not a SQLite file, or locked: nothing readable to scan
        pass
    finally:
        conn.close()
    return found


class _Collector(logging.Handler):
    """Keeps the text of every record emitted while a test runs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[tuple[str, str]] = []
        self._fmt = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a broken format string is the test's business, not ours
            text = str(record.msg)
        if record.exc_info:
            text += "\n" + self._fmt.formatException(record.exc_info)
        elif record.exc_text:
            text += "\n" + record.exc_text
        self.texts.append((f"log record of {record.name}", text))


def _secret_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if _SECRET_ENV_NAME.search(k)}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After the test body: remember secret-named env values the test (or fixtures) set."""
    try:
        return (yield)
    finally:
        before = item.stash.get(_ENV_BEFORE, {})
        item.stash[_ENV_SECRETS] = {v for k, v in _secret_env().items()
                                    if before.get(k) != v and len(v) >= MIN_SECRET_LENGTH}


def _patched_invoke(extra: list[tuple[str, str]]) -> object:
    from click.testing import CliRunner

    original = CliRunner.invoke

    def invoke(self: CliRunner, *args: object, **kwargs: object) -> object:
        result = original(self, *args, **kwargs)  # type: ignore[arg-type]
        extra.append(("CLI output (CliRunner)", result.output))
        extra.append(("CLI stderr (CliRunner)", result.stderr if result.stderr_bytes else ""))
        return result

    return invoke


@pytest.fixture(autouse=True)
def leak_scan(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if a known secret reached a log record, CLI output or a control DB."""
    item = request.node
    item.stash[_ENV_BEFORE] = _secret_env()
    extra: list[tuple[str, str]] = []
    item.stash[_EXTRA] = extra
    tmp = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    collector = _Collector()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    try:
        with pytest.MonkeyPatch.context() as mp:
            from click.testing import CliRunner

            mp.setattr(CliRunner, "invoke", _patched_invoke(extra))
            yield
    finally:
        root.removeHandler(collector)
        root.setLevel(old_level)
    secrets = known_secrets(item.stash.get(_ENV_SECRETS, set()))
    findings: list[str] = []
    for channel, text in [*collector.texts, *extra]:
        findings += scan_text(channel, text, secrets)
    if tmp is not None:
        for path in sorted(Path(tmp).rglob("*.db")):
            findings += scan_sqlite(path, secrets)
    if findings:
        pytest.fail("secret leak: " + "; ".join(sorted(set(findings))), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[None]:
    """Fail a test whose captured stdout/stderr/log sections hold a known secret."""
    report = yield
    if isinstance(report, pytest.TestReport) and report.when in ("call", "teardown"):
        secrets = known_secrets(item.stash.get(_ENV_SECRETS, set()))
        # The call report holds the setup and call sections; teardown adds its own. Log
        # sections are left to the fixture, whose handler sees every level.
        sections = [(title, text) for title, text in report.sections
                    if (report.when == "call" or title.endswith("teardown"))
                    and not title.startswith("Captured log")]
        findings = [f for title, text in sections
                    for f in scan_text(f"the test's {title.lower()}", text, secrets)]
        if findings and report.outcome != "failed":
            report.outcome = "failed"
            report.longrepr = "secret leak: " + "; ".join(sorted(set(findings)))
    return report
