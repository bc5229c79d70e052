"""Shared pieces of the CLI: the context object, error handling and option parsing."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import click

from dataloader_sdk.errors import ConfigError, DataLoaderError

if TYPE_CHECKING:
    from rich.console import Console

    from dataloader_sdk.config import Settings
    from dataloader_sdk.control.store import ControlStore
    from dataloader_sdk.loader import DataLoader
    from dataloader_sdk.model import JSONValue
    from dataloader_sdk.plugins import PluginHost

__all__ = [
    "ENVIRONMENTS",
    "CliState",
    "DataLoaderCommand",
    "DataLoaderGroup",
    "actor",
    "console",
    "exit_code_for",
    "fail",
    "no_color_requested",
    "parse_duration_option",
    "parse_interval",
    "parse_options",
    "pass_state",
]

Environment = Literal["dataloader", "dataloader_test"]
ENVIRONMENTS: tuple[Environment, ...] = ("dataloader", "dataloader_test")

#: Exit code of bad input (click uses 2 for usage errors too, so "your input" is always 2).
EXIT_CONFIG = 2
#: Exit code of a load, source, destination or state failure.
EXIT_FAILURE = 1


@dataclass
class CliState:
    """What the global options chose; settings, store and loader are opened on first use."""

    home: Path | None = None
    environment: Environment | None = None
    #: ``--quiet``: informational output off; errors and ``--json`` documents still print.
    quiet: bool = False
    #: ``--no-color`` (or ``NO_COLOR`` set): no colours or styles anywhere.
    no_color: bool = False
    #: Commands that may create a project (``init``) set this before opening settings.
    creates_home: bool = False
    _settings: Settings | None = field(default=None, repr=False)
    _loader: DataLoader | None = field(default=None, repr=False)
    _store: ControlStore | None = field(default=None, repr=False)

    def settings(self) -> Settings:
        """The settings of ``--home`` / ``--env`` (read from dataloader.toml when present)."""
        if self._settings is None:
            from dataloader_sdk.config import Settings

            # Only ``init`` may start a project: any other command in the wrong directory
            # (or with a mistyped --home) would otherwise create an empty control DB there.
            self._settings = Settings.load(home=self.home, environment=self.environment,
                                           require_file=not self.creates_home)
        return self._settings

    def loader(self) -> DataLoader:
        """A DataLoader over the settings' control store and engine."""
        if self._loader is None:
            from dataloader_sdk.loader import DataLoader

            self._loader = DataLoader.from_settings(self.settings())
        return self._loader

    def close(self) -> None:
        """Release the control DB connections opened by this invocation."""
        if self._loader is not None:
            self._loader.close()
        elif self._store is not None:
            self._store.close()
        self._loader = self._store = None

    def host(self) -> PluginHost:
        """The plugin host (the loader's when one is open, else the process-wide one)."""
        if self._loader is not None:
            return self._loader.host
        from dataloader_sdk.plugins import get_host

        return get_host()

    def store(self) -> ControlStore:
        """The control store (shared with the loader once one is open)."""
        if self._loader is not None:
            return self._loader.store
        if self._store is None:
            self._store = self.settings().open_store(secrets=self.host())
        return self._store


pass_state = click.make_pass_decorator(CliState, ensure=True)


def exit_code_for(exc: DataLoaderError) -> int:
    """2 for bad input (nothing was changed), 1 for everything that failed while working."""
    return EXIT_CONFIG if isinstance(exc, ConfigError) else EXIT_FAILURE


def _run_reporting_errors(invoke: Any, ctx: click.Context) -> Any:
    """Run ``invoke(ctx)``, turning SDK errors into a message on stderr and an exit code."""
    try:
        return invoke(ctx)
    except DataLoaderError as exc:
        # The SDK's messages never contain secrets (errors.py contract); redact anyway
        # in case a driver echoed a connection string into one.
        from dataloader_sdk.secrets import redact

        label = "Invalid input" if isinstance(exc, ConfigError) else "Failed"
        click.echo(f"{label}: {redact(str(exc))}", err=True)
        raise click.exceptions.Exit(exit_code_for(exc)) from None


class DataLoaderGroup(click.Group):
    """A click group that turns SDK errors into a one-paragraph message and an exit code.

    Tracebacks are for bugs; a :class:`DataLoaderError` is an expected outcome whose message
    already says what is wrong and what to do. Sub-groups run inside the root's ``invoke``,
    so catching here covers every command.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Commands in workflow order (init, sources, tables, run, ...), not alphabetical."""
        return list(self.commands)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, reporting SDK errors without a traceback."""
        return _run_reporting_errors(super().invoke, ctx)


class DataLoaderCommand(click.Command):
    """A stand-alone command (``python -m dataloader_sdk.demo``) with the same error report."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, reporting SDK errors without a traceback."""
        return _run_reporting_errors(super().invoke, ctx)


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    """Print ``message`` to stderr and exit with ``code``."""
    click.echo(message, err=True)
    raise click.exceptions.Exit(code)


def actor() -> str:
    """Who is changing the config, for ``table_control_history``."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # containers often run as a uid with no passwd entry
        user = "unknown"
    return f"cli:{user}"


def parse_options(pairs: Iterable[str], *, param: str = "--option") -> dict[str, JSONValue]:
    """``key=value`` pairs into a dict; values are JSON when they parse, else plain strings.

    JSON parsing lets ``primary_keys='["id"]'`` or ``lookback=3600`` arrive typed, while
    ``watermark_column=updated_at`` or a URL needs no quoting.

    Raises:
        click.BadParameter: a pair without ``=`` or an empty or repeated key.
    """
    out: dict[str, JSONValue] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise click.BadParameter(
                f"{pair!r} must look like key=value (e.g. watermark_column=updated_at)",
                param_hint=param,
            )
        if key in out:
            raise click.BadParameter(f"option {key!r} is given twice", param_hint=param)
        try:
            value: JSONValue = json.loads(raw)
        except ValueError:
            value = raw
        out[key] = value
    return out


def parse_duration_option(text: str | None, param_hint: str) -> int | None:
    """``'90s'`` / ``'15m'`` / ``'2h'`` / ``'1d'`` into seconds; ``None`` stays ``None``.

    Raises:
        click.BadParameter: the text is not a positive duration (names ``param_hint``).
    """
    if text is None:
        return None
    from dataloader_sdk.strategies.base import parse_duration

    duration = parse_duration(text)
    if duration is None or duration.total_seconds() <= 0:
        raise click.BadParameter(
            f"{text!r} is not a positive duration; use e.g. 90s, 15m, 2h, 1d",
            param_hint=param_hint,
        )
    return int(duration.total_seconds())


def parse_interval(text: str | None) -> int | None:
    """``'15m'`` / ``'2h'`` / ``'90s'`` / ``'1d'`` into seconds.

    Raises:
        click.BadParameter: the text is not a positive duration.
    """
    return parse_duration_option(text, "--interval")


def no_color_requested() -> bool:
    """Whether ``NO_COLOR`` asks for no colour (https://no-color.org: set and not empty)."""
    return bool(os.environ.get("NO_COLOR"))


def console(*, stderr: bool = False) -> Console:
    """A rich console writing where click writes (so CliRunner captures it).

    On a terminal it draws rich tables. Anywhere else (a pipe, a file, CI logs) tables
    become plain aligned text without box-drawing and lines are never wrapped, so
    ``grep``/``awk`` see one row per line. ``--quiet`` silences it, ``--no-color`` and
    ``NO_COLOR`` turn colours and styles off. Markup is off: table and column names, SQL
    and error texts routinely contain square brackets that rich would otherwise swallow.
    """
    from dataloader_sdk._cli.plain import PlainConsole

    # Looked up at call time: CliRunner (and pytest's capture) swap sys.stdout per call.
    stream = sys.stderr if stderr else sys.stdout
    ctx = click.get_current_context(silent=True)
    state = ctx.find_object(CliState) if ctx is not None else None
    no_color = no_color_requested() or (state is not None and state.no_color)
    terminal = stream.isatty()
    return PlainConsole(
        plain=not terminal, file=stream, width=None if terminal else 160, markup=False,
        highlight=False, soft_wrap=not terminal, no_color=no_color,
        color_system=None if no_color else "auto",
        quiet=state is not None and state.quiet and not stderr,
    )
