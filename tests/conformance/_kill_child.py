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
from dataloader_sdk.model import CommitInfo, TargetName, WriteMode
from dataloader_sdk.testing import FaultyEngine


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _die_after_first(source: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    for batch in source:
        yield batch
        die()


class KillingEngine(FaultyEngine):
    """Really kills the process: no exception handler, no finally block runs.

    Reads (last_commit, recorded_version, exists, read, count) pass through as in
    FaultyEngine; only the write differs.
    """

    def __init__(self, inner: Engine, point: str) -> None:
        super().__init__(inner)
        self.point = point

    def write(self, target: TargetName, data: pa.RecordBatchReader, mode: WriteMode,
              commit: CommitInfo) -> WriteOutcome:
        if self.point == "mid_read":
            data = pa.RecordBatchReader.from_batches(data.schema, _die_after_first(data))
        outcome = self.inner.write(target, data, mode, commit)
        if self.point == "after_commit":
            die()
        return outcome


def main(home: str, table: str, point: str) -> None:
    settings = Settings.default(Path(home))
    engine = DeltaRsEngineFactory().open(EngineSettings(root=settings.delta_root))
    loader = DataLoader(settings.open_store(), KillingEngine(engine, point))
    loader.load_table(table)
    sys.exit("the load finished: the kill did not happen")


if __name__ == "__main__":
    main(*sys.argv[1:4])
