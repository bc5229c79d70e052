"""Child process for test_maintenance: compacts (or clusters) a table until the test
SIGKILLs it.

The test watches the table's directory from outside (delta-rs holds the GIL while it
compacts, so a thread in here could not) and kills this process the moment the
compaction's first new file appears: no handler or ``finally`` runs, as in a real crash.

Usage: python -m tests.conformance._maint_kill_child HOME SCHEMA TABLE [compact|cluster]
"""

from __future__ import annotations

import sys
from pathlib import Path

from dataloader_sdk.config import Settings
from dataloader_sdk.engines.base import EngineSettings, MaintenanceTask
from dataloader_sdk.engines.delta_rs import DeltaRsEngineFactory
from dataloader_sdk.model import TargetName


def main(home: str, schema: str, table: str, kind: str = "compact") -> None:
    settings = Settings.default(Path(home))
    engine = DeltaRsEngineFactory().open(EngineSettings(root=settings.delta_root))
    target = TargetName(schema, table)
    print("ready", flush=True)
    sys.stdin.readline()  # the test lists the directory first
    task = (MaintenanceTask(compact=True) if kind == "compact"
            else MaintenanceTask(cluster_by=("id",), target_file_bytes=256 * 1024))
    engine.maintain(target, task)
    sys.exit(f"the {kind} pass finished: the kill did not happen")


if __name__ == "__main__":
    main(*sys.argv[1:5])
