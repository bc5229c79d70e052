"""Project settings: where the control DB and the Delta tables live.

A project is a directory (``home``) with an optional ``dataloader.toml``::

    control_url = "sqlite:///.dataloader/dataloader.db"   # or postgresql+psycopg://...
    environment = "dataloader"                            # or dataloader_test
    engine = "delta_rs"
    delta_root = ".dataloader/delta/{environment}"

Relative paths are relative to ``home``. ``{environment}`` in ``delta_root`` becomes the
environment's name, so ``dataloader`` and ``dataloader_test`` never share a Delta table
(the default; a root without it is shared, and the runner refuses a table that another
environment wrote — see docs/reliability.md for moving an older home over).
Environment variables override the file:
``DATALOADER_HOME``, ``DATALOADER_CONTROL_URL``, ``DATALOADER_ENV``, ``DATALOADER_ENGINE``,
``DATALOADER_DELTA_ROOT``. A control URL must not contain a password: use
``DATALOADER_CONTROL_PASSWORD`` (or a ``control_secret`` reference such as ``env:PGPASS``).
``openlineage = true`` (or ``DATALOADER_OPENLINEAGE=1``) sends OpenLineage run events
from every loader made by ``DataLoader.from_settings`` (docs/openlineage.md).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from dataloader_sdk.errors import FieldProblem, ValidationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

if TYPE_CHECKING:
    from dataloader_sdk.control.store import ControlStore
    from dataloader_sdk.secrets import SecretResolver

__all__ = ["CONFIG_FILE", "Environment", "Settings"]

CONFIG_FILE = "dataloader.toml"
Environment = Literal["dataloader", "dataloader_test"]
ENVIRONMENTS: tuple[Environment, ...] = get_args(Environment)
_KEYS = ("control_url", "control_secret", "environment", "engine", "delta_root", "openlineage")
#: Switches: a TOML boolean in the file; 1/true/yes/on or 0/false/no/off in the environment.
_FLAGS = {"openlineage"}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")
#: The default Delta root, relative to the home; one directory per environment.
DEFAULT_DELTA_ROOT = ".dataloader/delta/{environment}"


@dataclass(frozen=True)
class Settings:
    """Resolved project settings (see the module docstring for the file format)."""

    home: Path
    control_url: str
    environment: Environment = "dataloader"
    engine: str = "delta_rs"
    delta_root: str = ".dataloader/delta/dataloader"
    control_secret: str | None = None
    #: ``delta_root`` as written in the settings (``{environment}`` not yet filled in).
    delta_root_template: str = DEFAULT_DELTA_ROOT
    #: Send OpenLineage run events (``DataLoader.from_settings`` enables the observer).
    openlineage: bool = False

    @classmethod
    def default(cls, home: Path) -> Settings:
        """The embedded default: SQLite control DB and local Delta tables under ``home``."""
        home = home.resolve()
        return cls(
            home=home,
            control_url=f"sqlite:///{home / '.dataloader' / 'dataloader.db'}",
            delta_root=str(home / DEFAULT_DELTA_ROOT.format(environment="dataloader")),
        )

    @classmethod
    def load(
        cls, home: Path | None = None, environment: str | None = None, *,
        require_file: bool = False,
    ) -> Settings:
        """Read ``<home>/dataloader.toml`` (if any), then environment overrides.

        Loading never creates anything; opening the store (:meth:`open_store`) creates
        the control DB.

        Args:
            home: The project directory; ``None`` reads ``DATALOADER_HOME``, then the
                working directory.
            environment: Overrides the file's (and ``DATALOADER_ENV``'s) environment.
            require_file: Refuse a home without ``dataloader.toml`` instead of using the
                defaults, so a wrong directory is reported rather than silently becoming
                a new, empty project (the CLI sets it for every command but ``init``).

        Raises:
            ValidationError: unknown keys or bad values, all reported at once.
            ConfigError: ``require_file`` and no ``dataloader.toml`` in ``home``; the
                message says where it looked and how to create one.
        """
        given = "--home" if home is not None else (
            "$DATALOADER_HOME" if os.environ.get("DATALOADER_HOME") else "the working directory")
        home = (home or Path(os.environ.get("DATALOADER_HOME") or Path.cwd())).resolve()
        values: dict[str, object] = {}
        path = home / CONFIG_FILE
        if require_file and not path.is_file():
            from dataloader_sdk.errors import ConfigError

            raise ConfigError(
                f"no project here: {path} does not exist (the home comes from {given}). "
                f"Pass --home (or set DATALOADER_HOME) to the directory holding your "
                f"dataloader.toml, or create a project there with "
                f"`dataloader --home {home} init`"
            )
        if path.exists():
            try:
                values.update(tomllib.loads(path.read_text(encoding="utf-8")))
            except tomllib.TOMLDecodeError as exc:
                raise ValidationError(str(path), [FieldProblem("(file)", str(exc))]) from None
        for key in _KEYS:
            env = os.environ.get(f"DATALOADER_{'ENV' if key == 'environment' else key.upper()}")
            if env:
                values[key] = env
        if environment is not None:
            values["environment"] = environment
        return cls._from_values(home, values, str(path))

    @classmethod
    def _from_values(cls, home: Path, values: dict[str, object], where: str) -> Settings:
        problems = [
            FieldProblem(k, f"unknown setting; known: {', '.join(_KEYS)}")
            for k in values if k not in _KEYS
        ]
        for key, value in values.items():
            if key in _FLAGS:
                if not isinstance(value, bool) and str(value).strip().lower() not in _TRUE + _FALSE:
                    problems.append(FieldProblem(key, f"must be true or false, got {value!r}"))
            elif key in _KEYS and not isinstance(value, str):
                problems.append(FieldProblem(key, f"must be a string, got {value!r}"))
        env = values.get("environment", "dataloader")
        if env not in ENVIRONMENTS:
            problems.append(FieldProblem("environment", f"must be one of {', '.join(ENVIRONMENTS)}"))
        url = values.get("control_url")
        if isinstance(url, str) and _url_has_password(url):
            problems.append(FieldProblem(
                "control_url",
                "contains a password; remove it and set DATALOADER_CONTROL_PASSWORD or "
                "control_secret = 'env:NAME' instead",
            ))
        if problems:
            raise ValidationError(f"settings ({where})", problems)
        base = cls.default(home)
        template = str(values.get("delta_root", DEFAULT_DELTA_ROOT))
        delta_root = template.replace("{environment}", str(env))
        # "uc:" (the spark engine's catalog mode) and URIs are not paths under the home.
        is_path = "://" not in delta_root and not delta_root.startswith("uc:")
        if is_path and not Path(delta_root).is_absolute():
            delta_root = str(home / delta_root)
        control_url = str(values.get("control_url", base.control_url))
        if control_url.startswith("sqlite:///") and not control_url.startswith("sqlite:////"):
            rel = control_url.removeprefix("sqlite:///")
            if rel and rel != ":memory:":
                control_url = f"sqlite:///{home / rel}"
        secret = values.get("control_secret")
        return replace(
            base,
            control_url=control_url,
            environment=env,  # type: ignore[arg-type]
            engine=str(values.get("engine", base.engine)),
            delta_root=delta_root,
            control_secret=str(secret) if secret else None,
            delta_root_template=template,
            openlineage=str(values.get("openlineage", False)).strip().lower() in _TRUE,
        )

    def write(self) -> Path:
        """Write these settings to ``<home>/dataloader.toml``; returns the path."""
        self.home.mkdir(parents=True, exist_ok=True)
        lines = ["# dataloader-sdk project settings (see docs/getting-started.md)"]
        for key in _KEYS:
            value = self.delta_root_template if key == "delta_root" else getattr(self, key)
            if value is not None and value is not False:  # a switch that is off stays unwritten
                lines.append(f"{key} = {json.dumps(value)}")
        path = self.home / CONFIG_FILE
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def open_store(self, *, secrets: SecretResolver | None = None) -> ControlStore:
        """Open (and migrate) the control store of this environment.

        Args:
            secrets: resolves ``control_secret``; ``DataLoader.from_settings`` and the
                doctor pass their plugin host. Default: the process-wide host.
        """
        from dataloader_sdk.control.store import ControlStore

        url = self.control_url
        from dataloader_sdk.control.lakebase import credential_provider_for

        provider = credential_provider_for(self.control_secret)
        if provider is not None:  # lakebase:INSTANCE: a fresh credential per connection
            return ControlStore.open(url, self.environment, credential_provider=provider)
        password = self._control_password(secrets)
        if password is not None:
            from sqlalchemy.engine import make_url

            url = make_url(url).set(password=password).render_as_string(hide_password=False)
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return ControlStore.open(url, self.environment)

    def _control_password(self, secrets: SecretResolver | None = None) -> str | None:
        """The control DB's password: ``control_secret`` resolved through ``secrets``
        (default: the process-wide plugin host), else ``$DATALOADER_CONTROL_PASSWORD``.

        The one place the password is found, so the doctor sees what every command opens.

        Raises:
            SecretError: ``control_secret`` cannot be resolved.
        """
        if self.control_secret:
            from dataloader_sdk.secrets import resolve

            if secrets is None:  # a caller without a host of its own: the process-wide one
                from dataloader_sdk.plugins import get_host

                secrets = get_host()
            return resolve(self.control_secret, secrets, source="control DB").reveal()
        return os.environ.get("DATALOADER_CONTROL_PASSWORD")


def _url_has_password(url: str) -> bool:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).password is not None
    except ArgumentError:
        return False
