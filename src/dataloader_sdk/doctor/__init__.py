"""``dataloader doctor``: check a project and explain what is wrong, one line per check.

Each check is a small function returning :class:`CheckResult` records (✔ ok, ! warn,
✖ fail, - skip) with a fix for every failure; :func:`run_doctor` runs them in order and
returns a :class:`DoctorReport`. Checks that depend on an earlier one (the sources need
the control DB) are skipped when it failed, so one root cause gives one ✖.

The doctor changes nothing: it never creates the control DB, runs a migration, fails a
stale run or prints a secret.

Example::

    from dataloader_sdk.doctor import run_doctor

    report = run_doctor(Path("proj"))
    for line in report.failures:
        print(line.name, line.message, line.fix)
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from dataloader_sdk.doctor._report import CHECK_STATUSES, CheckResult, CheckStatus, DoctorReport

if TYPE_CHECKING:
    from dataloader_sdk.plugins import PluginHost

__all__ = ["CHECK_STATUSES", "CheckResult", "CheckStatus", "DoctorReport", "run_doctor"]

#: Seconds each source (and the control DB) gets to answer.
DEFAULT_TIMEOUT = 5.0


def run_doctor(
    home: Path | None = None,
    environment: str | None = None,
    *,
    host: PluginHost | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    now: datetime | None = None,
) -> DoctorReport:
    """Check the project in ``home`` (default ``$DATALOADER_HOME`` or the current directory).

    Args:
        home: The project directory.
        environment: ``dataloader`` or ``dataloader_test`` (default: from the settings).
        host: The plugin host (default: the process-wide one).
        timeout: Seconds each source and the control DB get to answer.
        now: The time stale leases are judged against (default: now, UTC).

    Returns:
        Every check's result; ``report.healthy`` is false when any failed.
    """
    import os

    from dataloader_sdk.doctor._config import check_config
    from dataloader_sdk.doctor._control import check_control
    from dataloader_sdk.doctor._sources import check_source
    from dataloader_sdk.doctor._storage import check_delta_root, check_engine
    from dataloader_sdk.doctor._tables import check_tables
    from dataloader_sdk.model import utcnow
    from dataloader_sdk.plugins import get_host

    home = (home or Path(os.environ.get("DATALOADER_HOME") or Path.cwd())).resolve()
    results, settings = check_config(home, environment)
    if settings is None:
        return DoctorReport(str(home), environment, tuple(results))
    host = host or get_host()
    if host.failures:
        results.append(CheckResult(
            "config", "plugins", "warn",
            "; ".join(f"{f.entry_point} failed to load ({f.error})" for f in host.failures),
            "reinstall or remove the plugin package named",
        ))
    control, store = check_control(settings, timeout, host)
    results += control
    if store is None:
        results.append(CheckResult("source", "sources", "skip",
                                   "not checked: the control DB is not usable"))
    else:
        try:
            sources = store.list_sources()
            if not sources:
                results.append(CheckResult("source", "sources", "warn", "no sources registered",
                                           "add one: dataloader sources add NAME ..."))
            for source in sources:
                results += check_source(source, host, timeout)
            results += check_tables(store, now or utcnow())
        finally:
            store.close()
    results += check_delta_root(settings.delta_root)
    results += check_engine(settings, host, timeout)
    return DoctorReport(str(home), settings.environment, tuple(results))
