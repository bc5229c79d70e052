"""Start a throwaway MariaDB server: mariadb-install-db + mariadbd in a temp dir.

The server listens on a free 127.0.0.1 port and on its own socket in the temp dir, so it
never touches a system MariaDB. As root it runs as the ``mysql`` user (``runuser -u
mysql``); as any other user it runs as that user. Grant tables are real (no
``--skip-grant-tables``): a ``dl`` user with a password is created, so a wrong password is
refused as it would be in production.

Fixtures ``mariadb_server`` (one per test run) and ``mariadb_database`` (a fresh database
per test) are defined here and imported by ``tests/conftest.py``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = ["MariaDbServer", "mariadb_database", "mariadb_server", "start_mariadb"]

USER = "dl"
PASSWORD = "dl-test-maria-pw"
#: Poll interval and attempts while waiting for the server: at most ~60 s in total.
_POLL_SECONDS = 0.1
_POLL_ATTEMPTS = 600


def _binary(*names: str) -> str:
    for name in names:
        for found in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
            if found and os.access(found, os.X_OK):
                return found
    raise RuntimeError(
        f"MariaDB binaries ({' / '.join(names)}) not found: run scripts/setup-system.sh "
        "(apt-get install mariadb-server)"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MariaDbServer:
    """A running server; ``url()`` gives SQLAlchemy URLs as the ``dl`` user."""

    host: str
    port: int
    user: str
    password: str
    base: Path
    socket_path: Path
    _proc: subprocess.Popen[bytes] | None  # None: attached to another process's server

    def url(self, database: str = "", *, password: bool = True, tls: bool = True) -> str:
        """A ``mysql+pymysql`` URL (``password=False``: as a source config holds it).

        ``tls=False`` skips pymysql's default "preferred TLS" attempt, which loads the
        system CA bundle on every connect (~50 ms); for test writers that connect often.
        """
        auth = f"{self.user}:{self.password}" if password else self.user
        query = "" if tls else "?ssl_disabled=true"
        return f"mysql+pymysql://{auth}@{self.host}:{self.port}/{database}{query}"

    def connect(self, database: str | None = None) -> Any:
        """A pymysql connection as ``dl`` (autocommit, utf8mb4, session time zone UTC)."""
        import pymysql

        return pymysql.connect(
            host=self.host, port=self.port, user=self.user, password=self.password,
            database=database, charset="utf8mb4", autocommit=True, ssl_disabled=True,
            init_command="SET time_zone = '+00:00'",
        )

    def execute(self, database: str | None, *statements: str) -> None:
        """Run statements (no results) in ``database``."""
        conn = self.connect(database)
        try:
            with conn.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
        finally:
            conn.close()

    def log(self) -> str:
        """The server's error log (for failure messages)."""
        path = self.base / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def descriptor(self) -> dict[str, Any]:
        """What another process needs to attach to this server (see ``attach``)."""
        return {"host": self.host, "port": self.port, "user": self.user,
                "password": self.password, "base": str(self.base),
                "socket_path": str(self.socket_path)}

    @classmethod
    def attach(cls, d: dict[str, Any]) -> MariaDbServer:
        """A handle on a server another process started; ``stop()`` leaves it running."""
        return cls(d["host"], d["port"], d["user"], d["password"], Path(d["base"]),
                   Path(d["socket_path"]), None)

    def stop(self) -> None:
        """Shut the server down and delete its directory (only if this process started it)."""
        if self._proc is None:
            return
        try:
            if self._proc.poll() is None:
                # A failed SHUTDOWN falls through to the wait and then to a kill.
                with contextlib.suppress(Exception):
                    _root_execute(self.socket_path, "SHUTDOWN")
                try:
                    self._proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    _kill_server(self.base, self._proc)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


def _root_execute(socket_path: Path, *statements: str) -> None:
    """Run statements as the passwordless local root over the server's own socket."""
    import pymysql

    conn = pymysql.connect(unix_socket=str(socket_path), user="root", autocommit=True,
                           connect_timeout=2, ssl_disabled=True)
    try:
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        conn.close()


def _accepts(socket_path: Path) -> bool:
    # Probed with a socket we close ourselves: pymysql leaks its AF_UNIX socket when the
    # connect() itself fails (ResourceWarning, an error under filterwarnings=error).
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(socket_path))
        except OSError:
            return False
    return True


def _kill_server(base: Path, proc: subprocess.Popen[bytes]) -> None:
    # Under runuser the Popen child is runuser, not mariadbd: kill the server by its pid
    # file (a process this module started), then reap runuser.
    pid_file = base / "mariadbd.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
    proc.kill()
    proc.wait(timeout=10)


def start_mariadb() -> MariaDbServer:
    """Initialise a fresh datadir in a temp dir and start mariadbd on a free port.

    Raises:
        RuntimeError: the binaries are missing, or the server did not start (the
            message holds its error log).
    """
    install_db = _binary("mariadb-install-db", "mysql_install_db")
    mariadbd = _binary("mariadbd", "mysqld")
    base = Path(tempfile.mkdtemp(prefix="dl-mariadb-"))
    datadir = base / "data"
    sock = base / "mariadbd.sock"
    as_user: list[str] = []
    if os.geteuid() == 0:
        # mariadbd refuses to run as root without --user=root; run it as mysql instead.
        as_user = ["runuser", "-u", "mysql", "--"]
        shutil.chown(base, "mysql", "mysql")
        os.chmod(base, 0o700)
    # --no-defaults: /etc/mysql/my.cnf points at the system server's socket, log and
    # datadir; every setting this server needs is on its command line.
    common = ["--no-defaults", f"--datadir={datadir}"]
    init = subprocess.run(
        [*as_user, install_db, *common, "--auth-root-authentication-method=normal",
         "--skip-test-db", "--skip-name-resolve"],
        check=False, capture_output=True, text=True,
    )
    if init.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"mariadb-install-db failed:\n{init.stdout}\n{init.stderr}")
    port = _free_port()
    proc = subprocess.Popen(
        [*as_user, mariadbd, *common, f"--port={port}", "--bind-address=127.0.0.1",
         f"--socket={sock}", f"--pid-file={base / 'mariadbd.pid'}",
         f"--log-error={base / 'error.log'}", "--skip-name-resolve",
         "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
         # Not UTC, so a client that does not pin its session time zone reads TIMESTAMP
         # columns shifted (the connector must set UTC itself).
         "--default-time-zone=+05:30",
         # A test server: durability buys nothing, speed does.
         "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0",
         "--innodb-buffer-pool-size=128M", "--innodb-fast-shutdown=2",
         # Tables in the system tablespace: CREATE/DROP per test skip file create/unlink.
         "--innodb-file-per-table=0",
         "--max-connections=200"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    server = MariaDbServer("127.0.0.1", port, USER, PASSWORD, base, sock, proc)
    last: Exception | None = None
    for _ in range(_POLL_ATTEMPTS):
        if proc.poll() is not None:
            log = server.log()
            shutil.rmtree(base, ignore_errors=True)
            raise RuntimeError(f"mariadbd exited with {proc.returncode}:\n{log}")
        if not _accepts(sock):
            time.sleep(_POLL_SECONDS)
            continue
        try:
            _root_execute(
                sock,
                f"CREATE USER IF NOT EXISTS '{USER}'@'%' IDENTIFIED BY '{PASSWORD}'",
                f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'%' WITH GRANT OPTION",
            )
            break
        except Exception as exc:  # not accepting connections yet: poll again
            last = exc
            time.sleep(_POLL_SECONDS)
    else:
        log = server.log()
        server.stop()
        raise RuntimeError(f"mariadbd did not accept connections ({last}):\n{log}")
    return server


@pytest.fixture(scope="session")
def mariadb_server(request: pytest.FixtureRequest) -> Iterator[MariaDbServer]:
    """The MariaDB server of this test run (started once, stopped at the end).

    On an xdist worker it is the controller's server (tests/servers/workers.py).
    """
    from tests.servers.workers import shared_server

    shared = shared_server(request.config, "mariadb")
    if shared is not None:
        yield MariaDbServer.attach(shared)
        return
    server = start_mariadb()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mariadb_database(mariadb_server: MariaDbServer) -> Iterator[str]:
    """A fresh, empty utf8mb4 database for one test; yields its name."""
    name = "t_" + uuid.uuid4().hex[:12]
    mariadb_server.execute(None, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    yield name
    mariadb_server.execute(None, f"DROP DATABASE IF EXISTS `{name}`")
