"""A process that read a table through ``DeltaRsEngine.read`` exits cleanly.

``DeltaTable.to_pyarrow_table()`` scans on pyarrow's thread pool, and a process that
exited soon after it aborted in most runs ("terminate called without an active
exception", SIGABRT: apache/arrow#34314) although its work was done: a demo, a notebook
script or a test child would then fail with exit code -6. The engine scans without the
thread pool. Ten children read an 11-file table, two at a time; with the threaded
scan a child like this aborted in 11 of 20 runs (deltalake 1.6.6, pyarrow 26), so
ten clean exits by chance would happen less than once in a thousand runs.
"""

from __future__ import annotations

import subprocess
import sys

CODE = """
import tempfile
import pyarrow as pa
from dataloader_sdk.engines.base import EngineSettings
from dataloader_sdk.engines.delta_rs import DeltaRsEngineFactory
from dataloader_sdk.model import Append, CommitInfo, Overwrite, TableState, TargetName

def commit(v):
    return CommitInfo("dataloader_sdk:1", v, "r", 1, "t", "full", TableState(txn_version=v))

engine = DeltaRsEngineFactory().open(EngineSettings(root=tempfile.mkdtemp()))
target = TargetName("bronze", "t")
rows = pa.table({"id": pa.array(range(1000), pa.int64())})
engine.write(target, rows.to_reader(), Overwrite(), commit(1))
for version in range(2, 12):  # 11 files: more scan tasks, an abort more likely
    engine.write(target, rows.to_reader(), Append(), commit(version))
print(engine.read(target).num_rows)
"""

#: Children run, two at a time (more at once made the abort rarer).
CHILDREN = 10


def test_a_process_that_read_a_table_exits_cleanly() -> None:
    for _ in range(CHILDREN // 2):
        pair = [subprocess.Popen([sys.executable, "-c", CODE], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(2)]
        for child in pair:
            out, err = child.communicate(timeout=120)
            assert (child.returncode, out.strip()) == (0, "11000"), err[-2000:]
