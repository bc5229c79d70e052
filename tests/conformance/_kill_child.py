"""Child process for test_process_kill: loads a table and SIGKILLs itself at a step boundary.

Usage: python -m tests.conformance._kill_child HOME TABLE (after_commit|mid_read)
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from dataloader_sdk.config import Settings
from dataloader_sdk.engines.base import Engine, EngineSettings, WriteOutcome
from dataloader_sdk.engines.delta_rs import DeltaRsEngineFactory
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import CommitInfo, Predicate, TargetName, WriteMode


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _die_after_first(source: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    for batch in source:
        yield batch
        die()


class KillingEngine:
    """Really kills the process: no exception handler, no finally block runs."""

    def __init__(self, inner: Engine, point: str) -> None:
        self.inner, self.point, self.name = inner, point, inner.name

    def write(self, target: TargetName, data: pa.RecordBatchReader, mode: WriteMode,
              commit: CommitInfo) -> WriteOutcome:
        if self.point == "mid_read":
            data = pa.RecordBatchReader.from_batches(data.schema, _die_after_first(data))
        outcome = self.inner.write(target, data, mode, commit)
        if self.point == "after_commit":
            die()
        return outcome

    def last_commit(self, target: TargetName, app_id: str) -> CommitInfo | None:
        return self.inner.last_commit(target, app_id)

    def recorded_version(self, target: TargetName, app_id: str) -> int | None:
        return self.inner.recorded_version(target, app_id)

    def exists(self, target: TargetName) -> bool:
        return self.inner.exists(target)

    def read(self, target: TargetName) -> pa.Table:
        return self.inner.read(target)

    def count(self, target: TargetName, where: tuple[Predicate, ...] = ()) -> int:
        return self.inner.count(target, where)


def main(home: str, table: str, point: str) -> None:
    settings = Settings.default(Path(home))
    engine = DeltaRsEngineFactory().open(EngineSettings(root=settings.delta_root))
    loader = DataLoader(settings.open_store(), KillingEngine(engine, point))
    loader.load_table(table)
    sys.exit("the load finished: the kill did not happen")


if __name__ == "__main__":
    main(*sys.argv[1:4])
