"""Running the suite on pytest-xdist workers with still one server of each kind per run.

``nox -s tests`` runs ``pytest -n 3``: most of the suite waits on servers and
subprocesses, so three workers finish it in about half the time on two cores. To keep one
PostgreSQL and one MariaDB per run, the xdist *controller* starts both before any worker
exists and hands their addresses to the workers (``pytest_configure_node``); the workers'
session fixtures attach to them instead of starting their own, and never stop them.

Without xdist (a plain ``pytest tests/unit``) nothing here applies: the session fixtures start
and stop their own server exactly as before.

Tests that share one process-wide resource go to one worker (``GROUPS``):
the Spark session (one JVM per run), the wheel build, the documentation walk-through (a fixed
database ``erp`` and role ``loader``, as the docs print them) and the browser module (one
Chromium). Each worker also gets its own TMPDIR, so a test that looks for leftover temp files
sees only its own worker's.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

SHARED_KEY = "dl_shared_servers"



def worker_id() -> str:
    """``gw0``, ``gw1``… on an xdist worker, ``main`` otherwise (for per-worker names)."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def shared_server(config: pytest.Config, kind: str) -> dict[str, Any] | None:
    """The descriptor of the controller's server of ``kind`` on a worker, else None."""
    workerinput = getattr(config, "workerinput", None)
    if not workerinput or SHARED_KEY not in workerinput:
        return None
    found: dict[str, Any] | None = json.loads(workerinput[SHARED_KEY]).get(kind)
    return found


def _controller_with_workers(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput") and bool(
        config.getoption("numprocesses", default=None))


def pytest_configure(config: pytest.Config) -> None:
    """Start the shared servers on the controller; give each worker its own TMPDIR."""
    if _controller_with_workers(config):
        from tests.servers.mariadb import start_mariadb
        from tests.servers.postgres import start_postgres

        pg = start_postgres(max_connections=300)
        config.add_cleanup(pg.stop)
        mariadb = start_mariadb()
        config.add_cleanup(mariadb.stop)
        config.stash[_DESCRIPTORS] = json.dumps(
            {"postgres": pg.descriptor(), "mariadb": mariadb.descriptor()})
    elif hasattr(config, "workerinput"):
        # Short, so unix socket paths made under it stay below the 108-byte limit.
        own = Path(tempfile.mkdtemp(prefix=f"dl-{worker_id()}-"))
        # Like /tmp itself: tests run some commands as another user (doctor's permission
        # checks, PostgreSQL as ``postgres``), who must reach their files under it.
        os.chmod(own, 0o1777)
        config.add_cleanup(lambda: _remove_tree(own))
        os.environ["TMPDIR"] = str(own)
        tempfile.tempdir = None  # recomputed from TMPDIR on next use


_DESCRIPTORS = pytest.StashKey[str]()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist hook: pass the controller's server addresses to a worker being started."""
    descriptors = node.config.stash.get(_DESCRIPTORS, None)
    if descriptors is not None:
        node.workerinput[SHARED_KEY] = descriptors


# Work units for the scheduler (see ``pytest_xdist_make_scheduler``): by default a whole
# module, so its module-scoped fixtures are built once; these modules go test by test instead
# (long, parametrized, with cheap fixtures); and these groups go to one worker whole.
PER_TEST_MODULES = (
    "tests/conformance/test_conformance.py",
    "tests/conformance/test_conformance_snowflake.py",
    "tests/conformance/test_conformance_mariadb.py",
    "tests/conformance/test_conformance_clickhouse.py",
)
GROUPS = {
    "tests/spark/": "spark",  # one SparkSession (one JVM) per run
    "tests/packaging/": "packaging",  # one wheel build
    "tests/docs/test_docs_as_written.py": "docs-erp",  # fixed database erp, role loader
    "tests/ui/test_browser.py": "browser",  # one Chromium
}
# Handed out first, so the longest units do not start last and leave the other workers idle.
LONG_FIRST = (
    "spark",
    "tests/dagster/test_daemon_e2e.py",
    "tests/reliability/test_soak_short.py",
    "docs-erp",
    "packaging",
    "tests/conformance/",
    "tests/pipes/",
    "browser",
)


def work_unit(nodeid: str) -> str:
    """The scheduling unit of a test: its group, itself, or its module."""
    path = nodeid.split("::", 1)[0]
    for prefix, group in GROUPS.items():
        if path.startswith(prefix):
            return group
    return nodeid if path in PER_TEST_MODULES else path


def _rank(unit: str) -> int:
    for rank, prefix in enumerate(LONG_FIRST):
        if unit.startswith(prefix):
            return rank
    return len(LONG_FIRST)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist hook: schedule by ``work_unit``, the longest units first.

    xdist's own ``loadgroup`` cannot be used: it tags ``xdist_group`` tests by rewriting
    ``item._nodeid``, which pytest 9.2 no longer reads, so its groups silently split.
    """
    from xdist.scheduler import LoadScopeScheduling

    class _Scheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

        def _assign_work_unit(self, node: Any) -> None:
            # xdist pops the queue's first unit; put the longest-ranked one there first.
            # (min() keeps collection order among equals.)
            first = min(self.workqueue, key=_rank)
            self.workqueue.move_to_end(first, last=False)
            super()._assign_work_unit(node)

    return _Scheduling(config, log)


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
