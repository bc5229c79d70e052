"""A first ``incremental`` load must not make pyarrow import pandas (over a second and
~60 MB on a worker's first load): neither the boundary tap over a zoned timestamp cursor
(with and without lookback) nor a first Merge whose keys arrive out of order or repeat.
"""

from __future__ import annotations

import subprocess
import sys

CODE = """
import struct, sys, tempfile
from datetime import timedelta
import pyarrow as pa
from dataloader_sdk._boundary import BoundaryTap
from dataloader_sdk.engines.base import EngineSettings
from dataloader_sdk.engines.delta_rs import DeltaRsEngineFactory
from dataloader_sdk.model import BoundaryRule, Column, CommitInfo, Merge, TableState, TargetName

def ints(*values, kind=pa.int64()):
    buf = pa.py_buffer(struct.pack(f"<{len(values)}q", *values))
    return pa.Array.from_buffers(pa.int64(), len(values), [None, buf]).view(kind)

zoned = pa.timestamp("us", tz="Europe/Paris")
batch = pa.RecordBatch.from_arrays([ints(1, 2, 3), ints(10**15, 2 * 10**15, 2 * 10**15,
                                                        kind=zoned)], names=["id", "cur"])
digests = []
for lookback in (None, timedelta(seconds=5)):
    tap = BoundaryTap(BoundaryRule(Column("cur"), lookback))
    tap.wrap(pa.RecordBatchReader.from_batches(batch.schema, [batch, batch])).read_all()
    digests.append(tap.digest())

def reader(ids, seq):
    b = pa.RecordBatch.from_arrays([ints(*ids), ints(*seq)], names=["id", "seq"])
    return pa.RecordBatchReader.from_batches(b.schema, [b])

engine = DeltaRsEngineFactory().open(EngineSettings(root=tempfile.mkdtemp()))
def commit(v):
    return CommitInfo("dataloader_sdk:1", v, "r", 1, "t", "incremental", TableState(txn_version=v))
engine.write(TargetName("bronze", "unsorted"), reader([3, 1, 2], [1, 1, 1]),
             Merge(("id",), Column("seq")), commit(1))
print(digests[0].split(":")[0], digests[1].split(":")[0],
      engine.count(TargetName("bronze", "unsorted")), "pandas" in sys.modules)
"""


def test_boundary_tap_and_unsorted_first_merge_do_not_import_pandas() -> None:
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                         check=True)
    # Rows at the top: the two tied at 2e15 of each of the two batches.
    assert out.stdout.split() == ["4", "4", "3", "False"], out.stdout + out.stderr
