"""Doctor checks: the Delta root (writable, free space) and the engine's dependencies."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from dataloader_sdk.doctor._report import CheckResult
from dataloader_sdk.errors import DataLoaderError

if TYPE_CHECKING:
    from dataloader_sdk.config import Settings
    from dataloader_sdk.plugins import PluginHost

__all__ = ["MIN_FREE_BYTES", "check_delta_root", "check_engine"]

#: Below this much free space the Delta root gets a warning (a load rewrites whole files).
MIN_FREE_BYTES = 1 << 30
#: pyspark 4.0 needs Java 17 or newer.
MIN_JAVA = 17


def check_delta_root(root: str, *, min_free_bytes: int = MIN_FREE_BYTES) -> list[CheckResult]:
    """Whether Delta tables can be written under ``root`` and how much space is left."""
    label = "delta root"
    if "://" in root or root.startswith("uc:"):
        return [CheckResult("delta", label, "skip",
                            f"{root} is not a local path; the engine checks it at the first write")]
    path = Path(root)
    try:
        existing = path
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        is_dir = existing.is_dir()
    except OSError as exc:  # a parent the user may not enter
        return [CheckResult(
            "delta", label, "fail", f"{path} cannot be inspected ({exc.strerror or exc})",
            f"give the user that runs the loads access to {path} and its parents",
        )]
    if not is_dir:
        return [CheckResult(
            "delta", label, "fail", f"{existing} is not a directory, so {path} cannot be created",
            "point delta_root in dataloader.toml at a directory (or remove the file in the way)",
        )]
    probe_dir = path if path.exists() else existing
    try:
        # Creating a file is the only honest test: permission bits, read-only mounts, ACLs
        # and quotas all say no here, where os.access would miss some of them.
        with tempfile.NamedTemporaryFile(dir=probe_dir, prefix=".dataloader-doctor-"):
            pass
    except OSError as exc:
        return [CheckResult(
            "delta", label, "fail", f"{probe_dir} is not writable ({exc.strerror or exc})",
            f"give the user that runs the loads write access to {probe_dir}, or set "
            "delta_root in dataloader.toml to a writable directory",
        )]
    state = "writable" if path.exists() else f"does not exist yet; will be created in {existing}"
    results = [CheckResult("delta", label, "ok", f"{path}: {state}")]
    free = shutil.disk_usage(existing).free
    if free < min_free_bytes:
        results.append(CheckResult(
            "delta", "free space", "warn", f"{_size(free)} free under {existing}",
            "free space or move delta_root; a full load needs about twice the table's size",
        ))
    else:
        results.append(CheckResult("delta", "free space", "ok", f"{_size(free)} free"))
    return results


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def check_engine(settings: Settings, host: PluginHost, timeout: float) -> list[CheckResult]:
    """The engine is registered; for ``spark``: Java, pyspark, delta-spark and its jars."""
    label = f"engine {settings.engine}"
    try:
        host.engine(settings.engine)
    except DataLoaderError as exc:
        return [CheckResult("engine", label, "fail", str(exc),
                            "set engine in dataloader.toml to a registered engine "
                            "(`dataloader plugins` lists them) or install its package")]
    if settings.engine != "spark":
        return [CheckResult("engine", label, "ok", "registered; needs no JVM")]
    return [CheckResult("engine", label, "ok", "registered"), _java(timeout),
            *_spark_packages()]


def _java(timeout: float) -> CheckResult:
    java_home = os.environ.get("JAVA_HOME")
    candidate = Path(java_home) / "bin" / "java" if java_home else None
    java = str(candidate) if candidate and candidate.is_file() else shutil.which("java")
    fix = (f"install a Java {MIN_JAVA}+ runtime (e.g. apt-get install openjdk-17-jre-headless) "
           "and put it on PATH or set JAVA_HOME")
    if java is None:
        return CheckResult("engine", "java", "fail", "no java on PATH and JAVA_HOME is not set",
                           fix)
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True,
                              timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return CheckResult("engine", "java", "fail", f"{java} -version failed: {exc}", fix)
    version = _java_major(done.stderr + done.stdout)
    if version is None or version < MIN_JAVA:
        return CheckResult("engine", "java", "fail",
                           f"{java} is Java {version or '(unknown version)'}; pyspark 4 needs "
                           f"{MIN_JAVA}+", fix)
    return CheckResult("engine", "java", "ok", f"{java} (Java {version})")


def _java_major(text: str) -> int | None:
    import re

    match = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if match is None:
        return None
    major = int(match.group(1))
    # Java 8 and older report "1.8.0_…".
    return int(match.group(2) or 0) if major == 1 else major


def _spark_packages() -> list[CheckResult]:
    results: list[CheckResult] = []
    versions: dict[str, str] = {}
    for dist in ("pyspark", "delta-spark"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            results.append(CheckResult("engine", dist, "fail", f"{dist} is not installed",
                                       "pip install 'dataloader-sdk[spark]'"))
        else:
            results.append(CheckResult("engine", dist, "ok", versions[dist]))
    if "delta-spark" in versions:
        results.append(_delta_jars(versions["delta-spark"]))
    return results


def _delta_jars(version: str) -> CheckResult:
    """The Delta jars ``configure_spark_with_delta_pip`` asks Ivy for, in the local cache.

    Missing jars are not an error: Spark downloads them from Maven Central when it starts,
    which only fails on a machine without internet access.
    """
    jar = f"io.delta_delta-spark_2.13-{version}.jar"
    home = Path.home()
    caches = [Path(os.environ["SPARK_IVY_CACHE"])] if "SPARK_IVY_CACHE" in os.environ else []
    caches += [home / ".ivy2.5.2" / "jars", home / ".ivy2" / "jars"]
    for cache in caches:
        if (cache / jar).is_file():
            return CheckResult("engine", "delta jars", "ok", f"{cache / jar}")
    return CheckResult(
        "engine", "delta jars", "warn", f"{jar} is not in the Ivy cache ({caches[0]})",
        "Spark downloads it from Maven Central at the first session; on a machine without "
        "internet access, copy the jars into the Ivy cache or set spark.jars",
    )
