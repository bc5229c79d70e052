"""The embedded load path must not make pyarrow import pandas.

pyarrow imports pandas (when it is installed) the first time Python objects are
converted or a ``group_by`` runs; that costs over a second on a process's first load,
which a worker that loads one table per process pays every time.
"""

from __future__ import annotations

import subprocess
import sys

CODE = """
import struct, sys, tempfile
import pyarrow as pa
from dataloader_sdk.engines.base import EngineSettings
from dataloader_sdk.engines.delta_rs import DeltaRsEngineFactory
from dataloader_sdk.model import (Column, CommitInfo, Merge, Overwrite, TableState,
                                  TargetName)

def ints(*values):
    buf = pa.py_buffer(struct.pack(f"<{len(values)}q", *values))
    return pa.Array.from_buffers(pa.int64(), len(values), [None, buf])

def reader(ids, seq):
    batch = pa.RecordBatch.from_arrays([ints(*ids), ints(*seq)], names=["id", "seq"])
    return pa.RecordBatchReader.from_batches(batch.schema, [batch])

engine = DeltaRsEngineFactory().open(EngineSettings(root=tempfile.mkdtemp()))
target = TargetName("bronze", "t")
def commit(v):
    return CommitInfo("dataloader_sdk:1", v, "r", 1, "t", "incremental", TableState(txn_version=v))
engine.write(target, reader([1, 2, 3], [1, 1, 1]), Overwrite(), commit(1))
engine.write(target, reader([2, 4], [5, 5]), Merge(("id",), Column("seq")), commit(2))
engine.last_commit(target, "dataloader_sdk:1")
# A Merge that creates its table streams (FirstMergeStream).
first = TargetName("bronze", "first")
engine.write(first, reader([1, 2], [1, 1]), Merge(("id",), Column("seq")), commit(1))
print(engine.count(target), engine.count(first), "pandas" in sys.modules)
"""


def test_overwrite_merge_and_recovery_do_not_import_pandas() -> None:
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["4", "2", "False"], out.stdout + out.stderr
