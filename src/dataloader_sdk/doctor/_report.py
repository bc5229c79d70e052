"""The doctor's result records: one :class:`CheckResult` per line, a :class:`DoctorReport`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["CHECK_STATUSES", "CheckResult", "CheckStatus", "DoctorReport"]

#: ``ok`` ✔, ``warn`` ! (worth knowing, not failing), ``fail`` ✖, ``skip`` - (not checked,
#: because an earlier check failed or the check does not apply).
CheckStatus = Literal["ok", "warn", "fail", "skip"]
CHECK_STATUSES: tuple[CheckStatus, ...] = get_args(CheckStatus)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check.

    Attributes:
        group: What was checked: ``config``, ``control``, ``source``, ``delta``,
            ``engine`` or ``tables``.
        name: The line's label, e.g. ``source erp: secret``.
        status: ``ok``, ``warn``, ``fail`` or ``skip``.
        message: What was found (never a secret).
        fix: What to do about a ``fail`` or ``warn`` (empty otherwise).
    """

    group: str
    name: str
    status: CheckStatus
    message: str
    fix: str = ""


@dataclass(frozen=True)
class DoctorReport:
    """Every check's result, in the order they ran.

    Attributes:
        home: The project directory checked.
        environment: The control environment checked (``None`` when the settings did not load).
        results: One result per line of the report.
    """

    home: str
    environment: str | None
    results: tuple[CheckResult, ...]

    @property
    def healthy(self) -> bool:
        """Whether no check failed (warnings do not count)."""
        return not self.failures

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        """The failed checks."""
        return tuple(r for r in self.results if r.status == "fail")

    def counts(self) -> dict[str, int]:
        """How many results have each status."""
        return {s: sum(1 for r in self.results if r.status == s) for s in CHECK_STATUSES}
