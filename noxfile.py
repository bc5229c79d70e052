"""Developer tasks: ``nox -s demo``, ``nox -s tests``, ``nox -s lint``, ``nox -s typecheck``."""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "typecheck", "tests"]

PYTHON = "3.11"


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """Load the demo SQLite tables into local Delta tables, change them, load again."""
    session.install("-e", ".")
    session.run("dataloader", "demo", *session.posargs)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole test suite against real servers; JUnit report in test-results/."""
    session.run("bash", "scripts/setup-system.sh", external=True)
    # The lock pins every third-party package (refresh: see requirements/test.lock's header).
    session.install("-c", "requirements/test.lock", "-e", ".[dev]")
    session.install("-c", "requirements/test.lock", "-e", "tests/plugins/dataloader_acme")
    os.makedirs("test-results", exist_ok=True)
    # Three xdist workers: the suite mostly waits on servers and subprocesses, so this halves
    # it on two cores. The controller starts one server of each kind for all of them, and the
    # scheduler keeps the Spark session, the wheel build and the browser on one worker each
    # (tests/servers/workers.py).
    session.run(
        "pytest", "-n", os.environ.get("DATALOADER_TEST_WORKERS", "3"),
        "--junitxml=test-results/junit.xml", "-p", "no:cacheprovider",
        *session.posargs,
    )


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation site strictly (broken links and missing pages fail) into site/."""
    session.install("-c", "requirements/test.lock", "-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff over the whole tree."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over src/ and the sample plugin (what plugin authors copy)."""
    session.install("-e", ".[dev]", "-e", "tests/plugins/dataloader_acme")
    session.run("mypy", "--strict", "src/dataloader_sdk")
    session.run("mypy", "--strict", "-p", "dataloader_acme")
    session.run("mypy", "--strict", "tests/plugins/dataloader_acme/tests")
