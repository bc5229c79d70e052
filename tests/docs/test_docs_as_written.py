"""README.md and docs/getting-started.md run as written, so they cannot drift again.

Every fenced block whose language is ``bash`` or ``python`` is run, in document order, in
a fresh working directory, unless an HTML comment right before its fence marks it
``<!-- illustrative: REASON -->`` (it cannot run here: it installs into your environment,
or needs your own server) or ``<!-- illustrative-from-test: REASON -->`` (it runs, but
not from inside the test suite, such as the command that runs the suite itself). Other
fences (``toml``, plain text, diagrams) show content and are not run.

Bash blocks run one after another through ``bash -e -o pipefail`` with the checkout's
``dataloader`` on PATH; what a block exports (``DATALOADER_HOME``, ``ERP_PASSWORD``) is
carried to the next one, as in one terminal. Python blocks are exec'd by a fresh
interpreter in the same directory and environment, as a notebook cell would be.

The guides' PostgreSQL server is ``db.internal`` with the placeholder password ``'…'``;
the tests run them against the test PostgreSQL server instead, replacing exactly those
placeholders (and the default port) and nothing else. The database ``erp``, its schema
``sales`` and the role ``loader`` are created as the guides assume. Afterwards the Delta
tables are compared with the source through raw psycopg and deltalake, not the SDK.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
GETTING_STARTED = ROOT / "docs" / "getting-started.md"
RUNNABLE = frozenset({"bash", "sh", "python"})
LOADER_PASSWORD = "docs-test-loader-pw-7f3a"
_FENCE = re.compile(
    r"(?:<!--\s*(?P<kind>illustrative(?:-from-test)?)\s*:(?P<reason>[^>]*)-->[ \t]*\n)?"
    r"^```(?P<lang>[\w-]*)[ \t]*\n(?P<code>.*?)^```[ \t]*$",
    re.S | re.M,
)
_EXPLORE = re.compile(r"Explore: (?P<command>.+?)\s*$", re.M)


@dataclass(frozen=True)
class Block:
    """One fenced block of a document."""

    doc: str
    line: int
    lang: str
    code: str
    illustrative: str | None  # the marker's kind, or None when the block must run
    reason: str

    @property
    def runnable(self) -> bool:
        """A bash/python block without an illustrative marker."""
        return self.lang in RUNNABLE and self.illustrative is None

    def where(self) -> str:
        """``README.md:12`` for messages."""
        return f"{self.doc}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path``, with its marker."""
    text = path.read_text(encoding="utf-8")
    return [
        Block(path.name, text.count("\n", 0, m.start("code")), m.group("lang"), m.group("code"),
              m.group("kind"), (m.group("reason") or "").strip())
        for m in _FENCE.finditer(text)
    ]


def _section(path: Path, heading: str) -> str:
    text = path.read_text(encoding="utf-8")
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start:end if end != -1 else len(text)]


# -- environments ------------------------------------------------------------------------


def _user_path() -> str:
    """PATH without virtualenvs: the shell a user types README commands into."""
    keep = [p for p in os.environ.get("PATH", "").split(os.pathsep)
            if p and not (Path(p).parent / "pyvenv.cfg").exists()]
    return os.pathsep.join(keep)


def _user_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATALOADER_", "NOX_")) and k not in ("VIRTUAL_ENV", "NO_COLOR")}
    env["PATH"] = _user_path()
    return env


def _checkout_env() -> dict[str, str]:
    """The user's shell with this checkout installed (the test environment's scripts)."""
    env = _user_env()
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])
    return env


def _run_bash(code: str, cwd: Path, env: dict[str, str], where: str,
              timeout: float = 120) -> tuple[str, dict[str, str]]:
    """Run ``code`` like a terminal would; returns its output and the environment after."""
    env_file = cwd / ".docs-test-env"
    script = f"{code}\nenv -0 > {env_file}\n"
    result = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=timeout, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{where} failed (exit {result.returncode}):\n{code}\n{output}"
    assert "Traceback" not in output, f"{where} printed a traceback:\n{output}"
    after = dict(item.split("=", 1) for item in env_file.read_text().split("\0") if "=" in item)
    env_file.unlink()
    return output, after


def _run_python(code: str, cwd: Path, env: dict[str, str], where: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{where} failed (exit {result.returncode}):\n{output}"
    return output


def _adapt(code: str, pg: PostgresServer) -> str:
    """The guides' placeholders (db.internal, its port, the password '…') → the test server."""
    port = str(pg.port)
    code = code.replace("--port 5432", f"--port {port}").replace("port=5432", f"port={port}")
    if f"--port {port}" not in code:
        code = code.replace("--host db.internal", f"--host 127.0.0.1 --port {port}")
    code = code.replace("db.internal", "127.0.0.1")
    code = code.replace("ERP_PASSWORD='…'", f"ERP_PASSWORD='{LOADER_PASSWORD}'")
    assert "db.internal" not in code and "'…'" not in code, code
    return code


def _run_doc(doc_blocks: list[Block], cwd: Path, pg: PostgresServer) -> list[str]:
    env = _checkout_env()
    outputs = []
    for block in doc_blocks:
        code = _adapt(block.code, pg)
        if block.lang == "python":
            outputs.append(_run_python(code, cwd, env, block.where()))
        else:
            output, env = _run_bash(code, cwd, env, block.where())
            outputs.append(output)
    return outputs


# -- the source the guides describe --------------------------------------------------------

SOURCE_ROWS = {"customers": 12, "orders": 40, "events": 25}


@pytest.fixture
def erp(pg_server: PostgresServer) -> Iterator[PostgresServer]:
    """Database ``erp`` with ``sales.customers/orders/events``, readable by role ``loader``."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'loader'").fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(sql.SQL("{} ROLE loader LOGIN PASSWORD {}").format(
            sql.SQL(verb), sql.Literal(LOADER_PASSWORD)))
        conn.execute("DROP DATABASE IF EXISTS erp WITH (FORCE)")
        conn.execute("CREATE DATABASE erp")
    with psycopg.connect(pg_server.dsn("erp"), autocommit=True) as conn:
        conn.execute("""
            CREATE SCHEMA sales;
            CREATE TABLE sales.customers (id integer PRIMARY KEY, name text NOT NULL);
            CREATE TABLE sales.orders (id integer PRIMARY KEY, status text NOT NULL,
                amount numeric(12, 2) NOT NULL, updated_at timestamp NOT NULL);
            CREATE TABLE sales.events (id bigint PRIMARY KEY, kind text NOT NULL);
            INSERT INTO sales.customers SELECT i, 'customer ' || i FROM generate_series(1, 12) i;
            INSERT INTO sales.orders SELECT i, 'placed', i * 1.25,
                timestamp '2024-01-01' + i * interval '1 minute' FROM generate_series(1, 40) i;
            INSERT INTO sales.events SELECT i, 'click' FROM generate_series(1, 25) i;
            GRANT USAGE ON SCHEMA sales TO loader;
            GRANT SELECT ON ALL TABLES IN SCHEMA sales TO loader;
        """)
    yield pg_server
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS erp WITH (FORCE)")


def _delta_rows(home: Path, table: str) -> int:
    from deltalake import DeltaTable

    logs = sorted(home.glob(f".dataloader/delta/**/bronze/{table}/_delta_log"))
    assert len(logs) == 1, f"expected one Delta table bronze.{table} under {home}: {logs}"
    return int(DeltaTable(str(logs[0].parent)).to_pyarrow_table().num_rows)


def _source_rows(pg: PostgresServer, table: str) -> int:
    import psycopg
    from psycopg import sql

    with psycopg.connect(pg.dsn("erp")) as conn:
        row = conn.execute(sql.SQL("SELECT count(*) FROM sales.{}").format(
            sql.Identifier(table))).fetchone()
    assert row is not None
    return int(row[0])


# -- the tests --------------------------------------------------------------------------


def test_markers_are_consistent_and_give_a_reason() -> None:
    for path in (README, GETTING_STARTED):
        for block in blocks(path):
            if block.illustrative is not None:
                assert block.reason, f"{block.where()}: an illustrative marker needs a reason"
                assert block.lang in RUNNABLE, f"{block.where()}: only code is marked"
    # The suite's own command must never be run by the suite (it would run itself).
    tests_block = next(b for b in blocks(README) if "nox -s tests" in b.code)
    assert tests_block.illustrative == "illustrative-from-test"
    # Each guide has code that runs (a marker cannot quietly switch a whole guide off).
    assert sum(b.runnable for b in blocks(README)) >= 3
    assert sum(b.runnable for b in blocks(GETTING_STARTED)) >= 8


def test_a_marker_applies_only_to_the_fence_right_after_it() -> None:
    text = ("<!-- illustrative: x -->\n\nsome prose\n```bash\nfalse\n```\n"
            "<!-- illustrative-from-test: y -->\n```python\n1/0\n```\n")
    found = [(m.group("lang"), m.group("kind")) for m in _FENCE.finditer(text)]
    assert found == [("bash", None), ("python", "illustrative-from-test")]


@pytest.mark.integration
@pytest.mark.slow
def test_readme_quick_start_and_the_demo_hint(tmp_path: Path) -> None:
    """``nox -s demo`` from a copy of the checkout, then the command its last line prints."""
    quick = [b for b in blocks(README) if b.runnable and b.code in _section(README, "## Quick start")]
    assert [b.code.strip() for b in quick] == [
        "python3 -m pip install -q nox uv && nox -s demo"]
    if shutil.which("nox", path=_user_path()) is None and shutil.which(
            "python3", path=_user_path()) is None:
        pytest.fail("the quick start needs python3 (with pip) on PATH outside virtualenvs")
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT, checkout, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".nox", "*.egg-info", "__pycache__", ".*_cache", "test-results",
        "dataloader-demo", "site", "build", "dist", ".dataloader", "proj"))
    output, _ = _run_bash(quick[0].code, checkout, _user_env(), quick[0].where(), timeout=600)
    assert "every Delta table matches its source" in output, output
    hint = _EXPLORE.search(output)
    assert hint is not None, output
    # The hint runs in the user's shell, where nox's virtualenv is not on PATH.
    shown, _ = _run_bash(hint.group("command"), tmp_path, _user_env(), "the demo's hint")
    for table in ("customers", "orders", "events", "events_window", "countries",
                  "orders_backfill"):
        assert table in shown, shown


@pytest.mark.integration
@pytest.mark.postgres
def test_readme_use_it_runs_against_postgres(erp: PostgresServer, tmp_path: Path) -> None:
    quick = _section(README, "## Quick start")
    use_it = [b for b in blocks(README) if b.runnable and b.code not in quick]
    assert [b.lang for b in use_it] == ["bash", "python"]
    outputs = _run_doc(use_it, tmp_path, erp)
    assert "succeeded" in outputs[-1]
    assert _delta_rows(tmp_path / "proj", "orders") == _source_rows(erp, "orders")
    assert LOADER_PASSWORD not in "".join(outputs)


@pytest.mark.integration
@pytest.mark.postgres
def test_getting_started_runs_against_postgres(erp: PostgresServer, tmp_path: Path) -> None:
    runnable = [b for b in blocks(GETTING_STARTED) if b.runnable]
    assert runnable[-1].lang == "python"  # the notebook block, exec'd last
    outputs = _run_doc(runnable, tmp_path, erp)
    text = "".join(outputs)
    assert "source 'erp' is reachable" in text
    assert "env:ERP_PASSWORD" in text and LOADER_PASSWORD not in text
    for table in SOURCE_ROWS:
        assert _delta_rows(tmp_path / "proj", table) == _source_rows(erp, table) == (
            SOURCE_ROWS[table])
    notebook = outputs[-1]
    assert "succeeded" in notebook
    assert f"{SOURCE_ROWS['orders']} [" in notebook  # orders.num_rows, column_names
