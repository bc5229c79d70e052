"""What both Pipes scripts share: arguments, settings, the Pipes transport and the reporter.

Pipes is for reporting only. :func:`open_reporter` opens ``dagster_pipes`` when (and only
when) Dagster launched the process; otherwise it returns a reporter that does nothing, so
a script run by hand does the same work and never talks to a mock.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dataloader_sdk.config import CONFIG_FILE, ENVIRONMENTS, Settings
from dataloader_sdk.errors import ConfigError
from dataloader_sdk.secrets import redact

if TYPE_CHECKING:
    from dagster_pipes import (
        PipesContext,
        PipesContextLoader,
        PipesMessageWriter,
        PipesParamsLoader,
    )

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "SETTING_KEYS",
    "TRANSPORTS",
    "Loaders",
    "Reporter",
    "base_parser",
    "configure_logging",
    "open_reporter",
    "select_loaders",
    "settings_from",
]

#: Exit codes: success (also a skip), a failed run, bad input (nothing ran).
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
#: ``--pipes-transport`` values: how the Pipes context and messages travel.
#: ``default``: a file or stdio (``PipesSubprocessClient``); ``dbfs``: DBFS files (classic
#: Databricks compute, ``PipesDatabricksClient``); ``volumes``: a Unity Catalog volume
#: (serverless, ``PipesDatabricksServerlessClient``).
TRANSPORTS = ("default", "dbfs", "volumes")
#: Settings a launch may pass, as command-line options or as Pipes extras of these names.
SETTING_KEYS = ("home", "environment", "engine", "delta_root", "control_url", "control_secret")
# The bootstrap option the Databricks clients append for an existing cluster / serverless.
_PIPES_CONTEXT_ARG = "--dagster-pipes-context"


def base_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The options both scripts take (settings, transport, the Pipes bootstrap options)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--home", help="project home (dataloader.toml); default DATALOADER_HOME "
                        "or the working directory")
    parser.add_argument("--environment", choices=ENVIRONMENTS)
    parser.add_argument("--engine", help="engine name, e.g. delta_rs or spark")
    parser.add_argument("--delta-root", help="Delta root: a directory, a URI, uc: or uc:CATALOG")
    parser.add_argument("--control-url", help="control DB URL, without a password")
    parser.add_argument("--control-secret", help="secret reference for the control DB password "
                        "(env:NAME, file:PATH, databricks:SCOPE/KEY, lakebase:INSTANCE)")
    parser.add_argument("--verbose", action="store_true",
                        help="also print the SDK's log to stderr (under Dagster it is "
                        "forwarded through Pipes either way)")
    parser.add_argument("--pipes-transport", choices=TRANSPORTS, default="default",
                        help="how Dagster Pipes passes context and messages (default: default)")
    # Added by the Databricks Pipes clients for existing clusters and serverless; read by
    # dagster_pipes.PipesCliArgsParamsLoader, accepted (and ignored) here.
    parser.add_argument(_PIPES_CONTEXT_ARG, help=argparse.SUPPRESS)
    parser.add_argument("--dagster-pipes-messages", help=argparse.SUPPRESS)
    return parser


def settings_from(args: argparse.Namespace, extras: Mapping[str, Any]) -> Settings:
    """The run's settings: the home's, then Pipes extras, then command-line options.

    Raises:
        ConfigError: a value is not a string, or the control URL holds a password.
    """
    values: dict[str, str] = {}
    for key in SETTING_KEYS:
        value = getattr(args, key, None)
        if value is None:
            value = extras.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            raise ConfigError(f"setting {key!r} must be a non-empty string, got {value!r}")
        values[key] = value
    if "control_url" in values and _has_password(values["control_url"]):
        raise ConfigError("--control-url contains a password; remove it and pass "
                          "--control-secret env:NAME (or another secret reference) instead")
    if "control_secret" in values and ":" not in values["control_secret"]:
        raise ConfigError("--control-secret must be a secret reference such as env:NAME, "
                          "never the password itself")
    home = Path(values["home"]) if "home" in values else None
    where = (home or Path(os.environ.get("DATALOADER_HOME") or Path.cwd())).resolve()
    if "control_url" not in values and not (where / CONFIG_FILE).is_file():
        # Never fall back to a new, empty SQLite project in whatever directory a job
        # happens to start in.
        raise ConfigError(
            f"no control DB given: {where / CONFIG_FILE} does not exist; pass --home DIR "
            "(a project with dataloader.toml) or --control-url and --control-secret")
    settings = Settings.load(home, values.get("environment"))
    changes: dict[str, Any] = {}
    for key in ("engine", "control_url", "control_secret"):
        if key in values:
            changes[key] = values[key]
    if "delta_root" in values:
        changes["delta_root"] = _delta_root(values["delta_root"], settings)
        changes["delta_root_template"] = values["delta_root"]
    return dataclasses.replace(settings, **changes) if changes else settings


def _has_password(url: str) -> bool:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).password is not None
    except ArgumentError as exc:
        raise ConfigError(f"--control-url could not be parsed ({exc})") from None


def _delta_root(template: str, settings: Settings) -> str:
    # As Settings reads delta_root: {environment} filled in, a relative path under the home.
    root = template.replace("{environment}", settings.environment)
    if "://" in root or root.startswith("uc:") or Path(root).is_absolute():
        return root
    return str(settings.home / root)


# -- transport ------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaders:
    """The ``dagster_pipes`` objects a script opens Pipes with."""

    params_loader: PipesParamsLoader
    context_loader: PipesContextLoader
    message_writer: PipesMessageWriter[Any]


def select_loaders(transport: str, argv: Sequence[str]) -> Loaders:
    """The Pipes loaders for ``transport`` and how the bootstrap parameters arrived.

    Bootstrap parameters come as command-line options (``--dagster-pipes-context``: an
    existing cluster or serverless, where the client cannot set environment variables) or
    as environment variables (a subprocess, a new job cluster's ``spark_env_vars``).

    Raises:
        ConfigError: an unknown transport.
    """
    import dagster_pipes as dp

    params: PipesParamsLoader
    if _PIPES_CONTEXT_ARG in argv or any(a.startswith(_PIPES_CONTEXT_ARG + "=") for a in argv):
        params = _argv_params_loader(argv)
    else:
        params = dp.PipesEnvVarParamsLoader()  # type: ignore[no-untyped-call]
    if transport == "default":
        return Loaders(params, dp.PipesDefaultContextLoader(), dp.PipesDefaultMessageWriter())
    if transport == "dbfs":
        return Loaders(params, dp.PipesDbfsContextLoader(), dp.PipesDbfsMessageWriter())
    if transport == "volumes":
        return Loaders(params, dp.PipesUnityCatalogVolumesContextLoader(),
                       dp.PipesUnityCatalogVolumesMessageWriter())
    raise ConfigError(f"unknown --pipes-transport {transport!r}; use one of {', '.join(TRANSPORTS)}")


def _argv_params_loader(argv: Sequence[str]) -> PipesParamsLoader:
    # dagster_pipes.PipesCliArgsParamsLoader reads sys.argv; the scripts take argv
    # explicitly (main(argv)), so the same parsing is done on the argv given.
    import dagster_pipes as dp

    class ArgvParamsLoader(dp.PipesCliArgsParamsLoader):
        def is_dagster_pipes_process(self) -> bool:
            return True

        def load_context_params(self) -> dp.PipesParams:
            args, _ = self.parser.parse_known_args(list(argv))
            return dp.decode_param(args.dagster_pipes_context)  # type: ignore[no-any-return]

        def load_messages_params(self) -> dp.PipesParams:
            args, _ = self.parser.parse_known_args(list(argv))
            return dp.decode_param(args.dagster_pipes_messages)  # type: ignore[no-any-return]

    return ArgvParamsLoader()  # type: ignore[no-untyped-call]


# -- reporting ------------------------------------------------------------------------


class Reporter:
    """Where a script reports: Dagster through Pipes, or nowhere (run by hand)."""

    def __init__(self, context: PipesContext | None) -> None:
        self._context = context

    @property
    def active(self) -> bool:
        """Whether Dagster launched this process."""
        return self._context is not None

    @property
    def extras(self) -> Mapping[str, Any]:
        """The Pipes extras (empty when run by hand)."""
        return self._context.extras if self._context is not None else {}

    @property
    def run_id(self) -> str | None:
        """The Dagster run id (``None`` when run by hand)."""
        return self._context.run_id if self._context is not None else None

    def materialized(self, metadata: Mapping[str, Any]) -> None:
        """Report the asset's materialization."""
        if self._context is not None:
            self._context.report_asset_materialization(metadata=dict(metadata))

    def message(self, payload: Mapping[str, Any]) -> None:
        """Send a custom message (a skip, a failure's class, the retry decisions)."""
        if self._context is not None:
            self._context.report_custom_message(dict(payload))

    def log(self, line: str, *, error: bool = False) -> None:
        """Send a log line to Dagster."""
        if self._context is not None and not self._context.is_closed:
            self._context.log.log(logging.ERROR if error else logging.INFO, line)

    def fail(self, error_class: str, message: str) -> None:
        """Close Pipes with the failure, so Dagster records the error class."""
        if self._context is not None:
            self._context.close({"message": message, "stack": [], "name": error_class,
                                 "cause": None, "context": None})


class _ForwardToPipes(logging.Handler):
    # Forwards the SDK's log records to Dagster; messages are redacted like every log line.
    def __init__(self, context: PipesContext) -> None:
        super().__init__(logging.INFO)
        self._context = context

    def emit(self, record: logging.LogRecord) -> None:
        if self._context.is_closed:
            return
        try:
            self._context.log.log(record.levelno, redact(record.getMessage()))
        except Exception:  # a log line must never fail a load
            self.handleError(record)


@contextmanager
def open_reporter(transport: str, argv: Sequence[str]) -> Iterator[Reporter]:
    """Open Pipes if Dagster launched this process, forwarding the SDK's logs meanwhile."""
    try:
        import dagster_pipes as dp
    except ImportError:
        yield Reporter(None)  # no Pipes installed: this cannot be a Pipes launch
        return
    loaders = select_loaders(transport, argv)
    if not loaders.params_loader.is_dagster_pipes_process():
        yield Reporter(None)
        return
    with dp.open_dagster_pipes(params_loader=loaders.params_loader,
                               context_loader=loaders.context_loader,
                               message_writer=loaders.message_writer) as context:
        handler = _ForwardToPipes(context)
        logger = logging.getLogger("dataloader_sdk")
        level = logger.level
        logger.addHandler(handler)
        logger.setLevel(min(level, logging.INFO) if level else logging.INFO)
        try:
            yield Reporter(context)
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)


def configure_logging(verbose: bool) -> None:
    """Quiet by default (the script's one line says what happened); ``--verbose`` logs."""
    logger = logging.getLogger("dataloader_sdk")
    for old in [h for h in logger.handlers if getattr(h, "_dataloader_pipe", False)]:
        logger.removeHandler(old)  # main() called again in one process: one handler
    if verbose:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.setLevel(logging.INFO)
    else:
        # Without any handler Python's last resort would print warnings to stderr.
        handler = logging.NullHandler()
    handler._dataloader_pipe = True  # type: ignore[attr-defined]
    logger.addHandler(handler)


def say(reporter: Reporter, prog: str, line: str, *, error: bool = False) -> None:
    """Print the script's one line (stderr for errors), secrets masked; also to Dagster."""
    text = f"{prog}: {redact(line)}"
    print(text, file=sys.stderr if error else sys.stdout, flush=True)
    reporter.log(text, error=error)
