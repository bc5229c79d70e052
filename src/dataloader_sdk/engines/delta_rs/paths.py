"""Where a path-addressed Delta table may live: validated roots and table paths.

``TargetName.parse`` refuses unsafe names, but a ``TargetName`` built in code (or read
from a control DB someone else wrote) reaches the engine unchecked, and its parts become
directory names. So the engine checks again, before it touches storage:

* every part is one safe path segment: a non-empty string without ``/``, ``\\``, NUL or
  control characters, and not ``.`` or ``..``;
* the table path, normalised, lies under the root;
* the root is an absolute local path, or a URI whose scheme delta-rs can write
  (:data:`DELTA_RS_SCHEMES`). ``uc:main`` or ``uc://...`` (Unity Catalog names) and
  relative paths are refused: a relative root would put tables wherever the process's
  working directory happens to be.
"""

from __future__ import annotations

import posixpath
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from dataloader_sdk.errors import ConfigError
from dataloader_sdk.model import TargetName

__all__ = ["DELTA_RS_SCHEMES", "check_delta_rs_root", "check_target_parts", "table_path"]

#: URI schemes of the object stores deltalake 1.x writes to.
DELTA_RS_SCHEMES = frozenset({
    "s3", "s3a", "gs", "gcs", "az", "azure", "abfs", "abfss", "adl", "file", "memory",
    "lakefs", "hdfs", "viewfs", "oss", "http", "https",
})


def segment_problem(part: object) -> str | None:
    """Why ``part`` is not one safe path segment, or ``None``."""
    if not isinstance(part, str) or not part:
        return "must be a non-empty string"
    if part in (".", ".."):
        return f"{part!r} is not a directory name"
    if "/" in part or "\\" in part:
        return f"{part!r} contains a path separator"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in part):
        return f"{part!r} contains NUL or control characters"
    return None


def check_target_parts(target: TargetName) -> None:
    """Refuse a target whose parts are not safe single path segments.

    Raises:
        ConfigError: naming the target and the part.
    """
    for part in target.parts:
        if (problem := segment_problem(part)) is not None:
            raise ConfigError(
                f"target {target!r}: part {problem}; each part of a target becomes one "
                "directory under the engine root (use TargetName.parse('schema.table'))"
            )


def check_delta_rs_root(root: str) -> None:
    """Refuse a root delta-rs would misread (see the module docstring).

    Raises:
        ConfigError: saying what a root must be.
    """
    if not isinstance(root, str) or not root.strip():
        raise ConfigError("engine delta_rs: settings.root must name a directory or URI")
    if "\x00" in root:
        raise ConfigError("engine delta_rs: settings.root contains a NUL character")
    lowered = root.lower()
    if lowered.startswith("uc:"):
        raise ConfigError(
            f"engine delta_rs: root {root!r} is a Unity Catalog name; delta_rs writes Delta "
            "tables by path only. Use the spark engine (engine = \"spark\") for Unity "
            "Catalog names, or give delta_rs an absolute directory or an object-store URI."
        )
    if "://" in root:
        scheme = urlsplit(root).scheme.lower()
        if scheme not in DELTA_RS_SCHEMES:
            raise ConfigError(
                f"engine delta_rs: root {root!r} has URI scheme {scheme!r}, which delta-rs "
                f"cannot write; use one of {', '.join(sorted(DELTA_RS_SCHEMES))}, or an "
                "absolute local directory"
            )
        if scheme == "file" and not urlsplit(root).path.startswith("/"):
            raise ConfigError(f"engine delta_rs: root {root!r} must hold an absolute path")
        return
    if not PurePosixPath(root).is_absolute():
        raise ConfigError(
            f"engine delta_rs: root {root!r} is not an absolute path or a URI (scheme://...); "
            "a relative root would depend on the working directory. Give an absolute "
            "directory (settings resolve delta_root against the home directory) or a URI "
            f"with one of the schemes {', '.join(sorted(DELTA_RS_SCHEMES))}."
        )


def table_path(root: str, target: TargetName) -> str:
    """``root/[catalog/]schema/table``, after checking it lies under ``root``.

    Raises:
        ConfigError: a part is not a safe segment, or the path leaves the root.
    """
    check_target_parts(target)
    scheme, sep, rest = root.partition("://")
    # Keep a bare "memory://" intact; strip trailing slashes of everything else.
    base = f"{scheme}{sep}{rest.rstrip('/')}" if sep else root.rstrip("/")
    path = "/".join([base, *target.parts])
    # Lexical check (the parts are single segments already, so this is a backstop): the
    # normalised table path must lie below the normalised root. Symlinks an operator
    # placed under the root are respected.
    inner_root = posixpath.normpath("/" + base.split("://", 1)[-1])
    inner_path = posixpath.normpath("/" + path.split("://", 1)[-1])
    if not inner_path.startswith(inner_root.rstrip("/") + "/"):
        raise ConfigError(f"target {target}: the table path {path!r} is not under {root!r}")
    return path
