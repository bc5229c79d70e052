"""``dataloader_retry_pipe``: the retry analysis over every failed table, as a Pipes script.

::

    python -m dataloader_sdk.integrations.pipes.dataloader_retry_pipe \\
        [--home DIR] [--environment ...] [--control-url ... --control-secret ...] \\
        [--base-seconds N] [--max-seconds N] [--max-retries N] [--pipes-transport ...]

Runs :func:`dataloader_sdk.orchestration.analyse_retries` once: transient failures whose
back-off is over are requeued, permanent ones (or exhausted retries) go to
``needs_attention``. Launched by Dagster it materializes ``dataloader/retry_analysis``
with the decisions as metadata (as the in-process ``dataloader_retry_analysis`` asset).
Exit 0 when the analysis ran (whatever it decided), 1 when it failed, 2 on bad input; one
line of output counts the decisions.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from dataloader_sdk.errors import ConfigError, DataLoaderError
from dataloader_sdk.integrations.pipes._shared import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Reporter,
    base_parser,
    configure_logging,
    open_reporter,
    say,
    settings_from,
)

__all__ = ["PROG", "main"]

PROG = "dataloader_retry_pipe"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the script; returns the exit code (see the module docstring)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = base_parser(PROG, "Run the dataloader retry analysis (a Dagster Pipes script).")
    parser.add_argument("--base-seconds", type=int, help="delay before the first retry")
    parser.add_argument("--max-seconds", type=int, default=3600, help="the longest delay")
    parser.add_argument("--max-retries", type=int, help="retries before needs_attention")
    args = parser.parse_args(args_list)
    configure_logging(args.verbose)
    with open_reporter(args.pipes_transport, args_list) as reporter:
        return _run(args, reporter)


def _run(args: Any, reporter: Reporter) -> int:
    from dataloader_sdk import orchestration as orch
    from dataloader_sdk.model import utcnow

    try:
        settings = settings_from(args, reporter.extras)
        store = settings.open_store()
    except DataLoaderError as exc:
        say(reporter, PROG, f"cannot start: {type(exc).__name__}: {exc}", error=True)
        reporter.fail(type(exc).__name__, str(exc))
        return EXIT_USAGE
    try:
        policy = orch.Backoff.from_policy(store.retry, max_seconds=args.max_seconds)
        backoff = orch.Backoff(
            base_seconds=policy.base_seconds if args.base_seconds is None else args.base_seconds,
            max_seconds=args.max_seconds,
            max_retries=policy.max_retries if args.max_retries is None else args.max_retries,
        )
        decisions = orch.analyse_retries(store, now=utcnow(), backoff=backoff)
    except ConfigError as exc:
        say(reporter, PROG, f"bad option: {exc}", error=True)
        reporter.fail(type(exc).__name__, str(exc))
        return EXIT_USAGE
    except DataLoaderError as exc:
        say(reporter, PROG, f"failed: {type(exc).__name__}: {exc}", error=True)
        reporter.fail(type(exc).__name__, str(exc))
        return EXIT_FAILED
    finally:
        store.close()
    counts: dict[str, int] = {}
    for decision in decisions:
        counts[decision.action] = counts.get(decision.action, 0) + 1
    metadata: dict[str, Any] = {f"dataloader/{a}": n for a, n in sorted(counts.items())}
    metadata["dataloader/decisions"] = {"raw_value": [orch.to_json(d) for d in decisions],
                                        "type": "json"}
    reporter.materialized(metadata)
    summary = ", ".join(f"{n} {a}" for a, n in sorted(counts.items())) or "no failed tables"
    say(reporter, PROG, f"retry analysis: {summary}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
