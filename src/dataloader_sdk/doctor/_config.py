"""Doctor check: the project's ``dataloader.toml`` and the settings it resolves to."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dataloader_sdk.doctor._report import CheckResult
from dataloader_sdk.errors import DataLoaderError

if TYPE_CHECKING:
    from dataloader_sdk.config import Settings

__all__ = ["check_config"]


def check_config(
    home: Path, environment: str | None
) -> tuple[list[CheckResult], Settings | None]:
    """Read ``<home>/dataloader.toml``; the settings are ``None`` when it cannot be used."""
    from dataloader_sdk.config import CONFIG_FILE, Settings
    from dataloader_sdk.secrets import redact

    path = home / CONFIG_FILE
    if not home.is_dir():
        return [CheckResult(
            "config", "config file", "fail", f"project directory {home} does not exist",
            f"create the project: dataloader --home {home} init",
        )], None
    if not path.is_file():
        return [CheckResult(
            "config", "config file", "fail", f"no {CONFIG_FILE} in {home}",
            f"run `dataloader --home {home} init`, or point --home / $DATALOADER_HOME at "
            "the project directory",
        )], None
    try:
        settings = Settings.load(home=home, environment=environment)
    except DataLoaderError as exc:
        return [CheckResult(
            "config", "config file", "fail", redact(str(exc)),
            f"edit {path} (keys: control_url, control_secret, environment, engine, "
            "delta_root; see docs/getting-started.md)",
        )], None
    return [CheckResult(
        "config", "config file", "ok",
        f"{path}: environment {settings.environment}, engine {settings.engine}, "
        f"control DB {redact(settings.control_url)}",
    )], settings
