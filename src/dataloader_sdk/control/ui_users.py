"""Web UI sign-in users (``ui_users``): add, read, list, disable.

The UI keeps its users in the prod (``dataloader``) environment's control DB. Only a
password *hash* is ever stored (the caller hashes; see ``dataloader_sdk.ui.auth``), and
no function here returns or logs it except :func:`get_user`, which the sign-in check needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

import sqlalchemy as sa

from dataloader_sdk.control.schema import ui_users as U
from dataloader_sdk.errors import ConfigError, FieldProblem, UnknownNameError, ValidationError

__all__ = ["ROLES", "Role", "UiUser", "add_user", "get_user", "list_users", "set_disabled"]

Role = Literal["viewer", "editor", "approver"]
#: The roles in increasing power: each can do everything the ones before it can.
ROLES: tuple[Role, ...] = get_args(Role)


@dataclass(frozen=True)
class UiUser:
    """One UI user. ``password_hash`` is a salted hash (never the password)."""

    username: str
    role: Role
    created_at: datetime
    disabled: bool
    password_hash: str = ""

    def __repr__(self) -> str:  # the hash stays out of logs and tracebacks
        return (f"UiUser(username={self.username!r}, role={self.role!r}, "
                f"disabled={self.disabled})")


def _problems(username: object, role: object, password_hash: object) -> list[FieldProblem]:
    out: list[FieldProblem] = []
    if not isinstance(username, str) or not username.strip() or len(username) > 255 \
            or username != username.strip():
        out.append(FieldProblem("username", "must be 1-255 characters without surrounding "
                                "spaces"))
    if role not in ROLES:
        out.append(FieldProblem("role", f"{role!r} is not a role; use one of "
                                f"{', '.join(ROLES)}"))
    if not isinstance(password_hash, str) or "$" not in password_hash:
        out.append(FieldProblem("password_hash", "must be a salted hash (werkzeug "
                                "generate_password_hash), never a password"))
    return out


def _user(row: Any, *, with_hash: bool) -> UiUser:
    return UiUser(username=row.username, role=row.role,
                  created_at=row.created_at, disabled=bool(row.disabled),
                  password_hash=row.password_hash if with_hash else "")


def add_user(conn: sa.Connection, username: str, *, role: str, password_hash: str,
             now: datetime) -> UiUser:
    """Insert a user.

    Raises:
        ValidationError: bad username, role or hash (all listed); nothing is written.
        ConfigError: a user of that name exists.
    """
    if problems := _problems(username, role, password_hash):
        raise ValidationError(f"UI user {username!r}", problems)
    if conn.execute(sa.select(U.c.username).where(U.c.username == username)).first():
        raise ConfigError(f"UI user {username!r} exists; pick another name "
                          "(or disable the old one with `dataloader ui users disable`)")
    conn.execute(sa.insert(U).values(username=username, password_hash=password_hash,
                                     role=role, created_at=now, disabled=False))
    return UiUser(username=username, role=role, created_at=now,  # type: ignore[arg-type]
                  disabled=False)


def get_user(conn: sa.Connection, username: str) -> UiUser | None:
    """The user with its password hash (for the sign-in check), or ``None``."""
    row = conn.execute(sa.select(U).where(U.c.username == username)).one_or_none()
    return None if row is None else _user(row, with_hash=True)


def list_users(conn: sa.Connection) -> list[UiUser]:
    """Every user, sorted by name, without password hashes."""
    rows = conn.execute(sa.select(U).order_by(U.c.username))
    return [_user(row, with_hash=False) for row in rows]


def set_disabled(conn: sa.Connection, username: str, *, disabled: bool) -> UiUser:
    """Disable (or re-enable) a user; a disabled user cannot sign in.

    Raises:
        UnknownNameError: no such user (the known ones are listed).
    """
    result = conn.execute(sa.update(U).where(U.c.username == username)
                          .values(disabled=disabled))
    if result.rowcount == 0:
        names = list(conn.scalars(sa.select(U.c.username).order_by(U.c.username)))
        raise UnknownNameError("UI user", username, names,
                               hint="list them with `dataloader ui users list`")
    user = get_user(conn, username)
    assert user is not None
    return _user_without_hash(user)


def _user_without_hash(user: UiUser) -> UiUser:
    return UiUser(username=user.username, role=user.role, created_at=user.created_at,
                  disabled=user.disabled)
