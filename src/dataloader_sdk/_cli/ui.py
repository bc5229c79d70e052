"""``dataloader ui``: serve the web UI, and manage its sign-in users.

Flask is imported inside the commands only, so ``dataloader --help`` stays light and
works without the ``ui`` extra.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from dataloader_sdk._cli.common import ENVIRONMENTS, EXIT_CONFIG, CliState, console, fail, pass_state
from dataloader_sdk._cli.output import emit_json, json_option

if TYPE_CHECKING:
    from dataloader_sdk.control.store import ControlStore

__all__ = ["ui"]

_ROLES = ("viewer", "editor", "approver")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
#: The shortest password ``users add`` accepts.
MIN_PASSWORD_LENGTH = 10


def _need_flask() -> None:
    try:
        import flask  # noqa: F401
        import flask_login  # noqa: F401
        import flask_wtf  # noqa: F401
    except ImportError:
        fail("The web UI needs the 'ui' extra: pip install 'dataloader-sdk[ui]'", EXIT_CONFIG)


def _header_roles(pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        email, sep, role = pair.partition("=")
        if not sep or not email.strip() or role not in _ROLES:
            raise click.BadParameter(f"{pair!r} must be EMAIL=ROLE with ROLE one of "
                                     f"{', '.join(_ROLES)}", param_hint="--header-role")
        out[email.strip().lower()] = role
    return out


@click.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; anything but loopback exposes the UI to the network.")
@click.option("--port", type=click.IntRange(1, 65535), default=8050, show_default=True)
@click.option("--env", "environment", type=click.Choice(ENVIRONMENTS), default=None,
              help="Environment shown first [default: the global --env / dataloader.toml].")
@click.option("--trusted-header", is_flag=True,
              help="Sign users in from X-Forwarded-Email set by an SSO proxy (needs "
              "--trusted-proxy) instead of passwords.")
@click.option("--trusted-proxy", multiple=True, metavar="ADDR",
              help="A proxy address whose X-Forwarded-Email is believed (repeatable).")
@click.option("--header-role", multiple=True, metavar="EMAIL=ROLE",
              help="Role of a header-signed-in user (repeatable).")
@click.option("--default-role", type=click.Choice([*_ROLES, "none"]), default="viewer",
              show_default=True, help="Role of header users not given --header-role "
              "('none' refuses them).")
@click.option("--secure-cookies/--no-secure-cookies", default=None,
              help="Mark cookies HTTPS-only [default: on unless --host is loopback].")
@click.pass_context
def ui(ctx: click.Context, host: str, port: int, environment: str | None,
       trusted_header: bool, trusted_proxy: tuple[str, ...], header_role: tuple[str, ...],
       default_role: str, secure_cookies: bool | None) -> None:
    """Serve the control-manager web UI (dl-app) on HOST:PORT.

    Users sign in with the accounts of `dataloader ui users add`, or (with
    --trusted-header) through an SSO proxy. Set DATALOADER_UI_SECRET_KEY to keep
    sessions across restarts.

    \b
    Examples:
      dataloader ui users add alice --role approver
      dataloader ui                                  # http://127.0.0.1:8050
      dataloader --env dataloader_test ui --port 8051
    """
    if ctx.invoked_subcommand is not None:
        return
    _need_flask()
    from dataloader_sdk.ui import UiConfig, create_app

    state = ctx.find_object(CliState) or CliState()
    if environment is not None:
        state.environment = environment  # type: ignore[assignment]
    loopback = host in _LOOPBACK
    config = UiConfig(
        auth_mode="trusted_header" if trusted_header else "password",
        trusted_proxies=trusted_proxy, header_roles=_header_roles(header_role),  # type: ignore[arg-type]
        default_role=None if default_role == "none" else default_role,  # type: ignore[arg-type]
        secure_cookies=(not loopback) if secure_cookies is None else secure_cookies,
    )
    app = create_app(state.settings(), config)
    out = console(stderr=True)
    if not loopback:
        out.print(f"Warning: binding {host} exposes the UI beyond this machine; serve it "
                  "behind HTTPS (cookies are Secure).")
    out.print(f"dl-app on http://{host}:{port}/ (Ctrl-C to stop)")
    from werkzeug.serving import run_simple

    run_simple(host, port, app, threaded=True, use_reloader=False)


@ui.group()
def users() -> None:
    """Manage the UI's sign-in users (kept in the prod control DB)."""


def _users_store(state: CliState) -> ControlStore:
    from dataloader_sdk.ui.services import USERS_ENVIRONMENT, settings_for

    return settings_for(state.settings(), USERS_ENVIRONMENT).open_store()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD_LENGTH:
        fail(f"The password must have at least {MIN_PASSWORD_LENGTH} characters; "
             "nothing was changed.", EXIT_CONFIG)
    return password


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(_ROLES), required=True,
              help="viewer (read), editor (change), approver (also approve promotions).")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of stdin (no prompt).")
@pass_state
def add_user(state: CliState, name: str, role: str, password_stdin: bool) -> None:
    """Add UI user NAME; the password is prompted twice (never an argument).

    \b
    Examples:
      dataloader ui users add alice --role approver
      printf '%s\\n' "$PW" | dataloader ui users add bot --role viewer --password-stdin
    """
    _need_flask()
    from dataloader_sdk.ui.auth import hash_password

    password = _read_password(password_stdin)
    with _users_store(state) as store:
        store.add_ui_user(name, role=role, password_hash=hash_password(password))
    console().print(f"Added UI user {name!r} ({role}).")


@users.command("list")
@json_option()
@pass_state
def list_users(state: CliState, as_json: bool) -> None:
    """List the UI users (name, role, created, disabled)."""
    with _users_store(state) as store:
        found = store.list_ui_users()
    rows = [{"username": u.username, "role": u.role, "created_at": u.created_at,
             "disabled": u.disabled} for u in found]
    if as_json:
        emit_json({"users": rows})
        return
    from rich.table import Table

    table = Table()
    for column in ("username", "role", "created_at", "disabled"):
        table.add_column(column)
    for row in rows:
        table.add_row(str(row["username"]), str(row["role"]),
                      f"{row['created_at']:%Y-%m-%d %H:%M}", "yes" if row["disabled"] else "no")
    console().print(table)


@users.command("disable")
@click.argument("name")
@pass_state
def disable_user(state: CliState, name: str) -> None:
    """Disable UI user NAME: they can no longer sign in (sessions end at once)."""
    with _users_store(state) as store:
        store.set_ui_user_disabled(name, disabled=True)
    console().print(f"Disabled UI user {name!r}.")
