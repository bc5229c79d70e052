"""``dataloader doctor``: check the project and explain each problem with a fix."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from dataloader_sdk._cli.common import EXIT_FAILURE, CliState, console, pass_state
from dataloader_sdk._cli.output import emit_json, json_option

if TYPE_CHECKING:
    from dataloader_sdk.doctor import DoctorReport

__all__ = ["doctor"]

_MARKS = {"ok": "✔", "warn": "!", "fail": "✖", "skip": "-"}


@click.command()
@click.option("--timeout", type=click.FloatRange(0.1, 300), default=5.0, show_default=True,
              help="Seconds each source and the control DB get to answer.")
@json_option("Print the checks as one JSON document.")
@pass_state
def doctor(state: CliState, timeout: float, as_json: bool) -> None:
    """Check the config file, control DB, sources, Delta root, engine and tables.

    One line per check: ✔ fine, ! worth knowing, ✖ broken (with the fix on the next
    line), - not checked. Changes nothing and never prints a secret. Exits 1 when any
    check fails.

    \b
    Examples:
      dataloader doctor
      dataloader --home ./proj --env dataloader_test doctor --json
    """
    from dataloader_sdk.doctor import run_doctor

    report = run_doctor(state.home, state.environment, host=state.host(), timeout=timeout)
    if as_json:
        emit_json({"home": report.home, "environment": report.environment,
                   "healthy": report.healthy, "counts": report.counts(),
                   "checks": list(report.results)})
    else:
        _print(report)
    if not report.healthy:
        raise click.exceptions.Exit(EXIT_FAILURE)


def _print(report: DoctorReport) -> None:
    from dataloader_sdk.secrets import redact

    out = console()
    out.print(f"dataloader doctor: {report.home} ({report.environment or 'environment unknown'})")
    for result in report.results:
        out.print(f"{_MARKS[result.status]} {result.name}: {redact(result.message)}")
        if result.fix and result.status in ("fail", "warn"):
            out.print(f"    fix: {result.fix}")
    counts = report.counts()
    out.print(f"{counts['ok']} ok, {counts['warn']} warning(s), {counts['fail']} failed, "
              f"{counts['skip']} not checked")
