"""Start a throwaway PostgreSQL server: initdb + pg_ctl in a temp dir on a free loopback port.

As root the server runs as the ``postgres`` user (``runuser -u postgres``), as PostgreSQL
refuses to run as root; as any other user it runs as that user. Used by the test fixtures
and by ``benchmarks/``.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PostgresServer", "find_pg_bin", "start_postgres"]

PASSWORD = "dl-test-secret-pw"


def find_pg_bin() -> Path:
    """The directory holding initdb/pg_ctl (Debian keeps them out of PATH)."""
    env = os.environ.get("PG_BIN")
    if env:
        return Path(env)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for cand in candidates:
        if (Path(cand) / "initdb").exists():
            return Path(cand)
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise RuntimeError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: run scripts/setup-system.sh "
        "(apt-get install postgresql) or set PG_BIN"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """A running server; ``dsn()`` gives libpq connection strings as the superuser."""

    host: str
    port: int
    user: str
    password: str
    datadir: Path
    _bin: Path
    _as_user: list[str]

    def dsn(self, database: str = "postgres") -> str:
        """A libpq key/value DSN."""
        return (
            f"host={self.host} port={self.port} user={self.user} "
            f"password={self.password} dbname={database}"
        )

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        """A SQLAlchemy URL."""
        return f"{driver}://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    owned: bool = True

    def descriptor(self) -> dict[str, Any]:
        """What another process needs to attach to this server (see ``attach``)."""
        return {"host": self.host, "port": self.port, "user": self.user,
                "password": self.password, "datadir": str(self.datadir), "bin": str(self._bin),
                "as_user": self._as_user}

    @classmethod
    def attach(cls, d: dict[str, Any]) -> PostgresServer:
        """A handle on a server another process started; ``stop()`` leaves it running."""
        return cls(d["host"], d["port"], d["user"], d["password"], Path(d["datadir"]),
                   Path(d["bin"]), list(d["as_user"]), owned=False)

    def stop(self) -> None:
        """Stop the server fast and delete its data directory (only if this process owns it)."""
        if not self.owned:
            return
        subprocess.run(
            [*self._as_user, str(self._bin / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate",
             "-w", "stop"],
            check=False, capture_output=True,
        )
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def start_postgres(*, max_connections: int = 100) -> PostgresServer:
    """initdb a fresh cluster in a temp dir and start it on a free loopback port."""
    pg_bin = find_pg_bin()
    base = Path(tempfile.mkdtemp(prefix="dl-pg-"))
    datadir = base / "data"
    pwfile = base / "pw"
    pwfile.write_text(PASSWORD)
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(base, "postgres")
        shutil.chown(pwfile, "postgres")
        os.chmod(base, 0o700)
    user = "postgres"
    subprocess.run(
        [*as_user, str(pg_bin / "initdb"), "-D", str(datadir), "-U", user, "--pwfile", str(pwfile),
         "-A", "scram-sha-256", "-E", "UTF8", "--locale", "C.UTF-8", "--no-sync"],
        check=True, capture_output=True,
    )
    port = _free_port()
    opts = (
        f"-p {port} -c listen_addresses=127.0.0.1 -k {base} -c fsync=off "
        f"-c synchronous_commit=off -c full_page_writes=off -c max_connections={max_connections} "
        "-c shared_buffers=128MB -c timezone=UTC"
    )
    result = subprocess.run(
        [*as_user, str(pg_bin / "pg_ctl"), "-D", str(datadir), "-l", str(base / "log"), "-o", opts,
         "-w", "-t", "60", "start"],
        check=False, capture_output=True, text=True,
    )
    if result.returncode != 0:
        log = (base / "log").read_text() if (base / "log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {result.stderr}\n{log}")
    return PostgresServer("127.0.0.1", port, user, PASSWORD, datadir, pg_bin, as_user)
