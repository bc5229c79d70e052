"""The core package does not install numpy (pyarrow and deltalake do not need it), so no
write path may import it. Merges whose keys repeat once did (``numpy.arange`` for row
positions, ``to_numpy`` to bisect the winners) and failed with ``ModuleNotFoundError``
on a core install. A child interpreter with numpy made unimportable runs them: a first
Merge and a Merge into an existing table, each with a key repeated in the step.
"""

from __future__ import annotations

import subprocess
import sys

CODE = """
import struct, sys, tempfile
sys.modules["numpy"] = None  # import numpy now raises ImportError, as on a core install
import pyarrow as pa
from dataloader_sdk.engines.base import EngineSettings
from dataloader_sdk.engines.delta_rs import DeltaRsEngineFactory
from dataloader_sdk.model import Column, CommitInfo, Merge, TableState, TargetName

def ints(*values):
    buf = pa.py_buffer(struct.pack(f"<{len(values)}q", *values))
    return pa.Array.from_buffers(pa.int64(), len(values), [None, buf])

def reader(*batches):
    made = [pa.RecordBatch.from_arrays([ints(*ids), ints(*seq)], names=["id", "seq"])
            for ids, seq in batches]
    return pa.RecordBatchReader.from_batches(made[0].schema, made)

def commit(v):
    return CommitInfo("dataloader_sdk:1", v, "r", 1, "t", "incremental", TableState(txn_version=v))

engine = DeltaRsEngineFactory().open(EngineSettings(root=tempfile.mkdtemp()))
target, merge = TargetName("bronze", "t"), Merge(("id",), Column("seq"))
# The first Merge: key 2 twice across batches; its newer row (seq 5) wins.
engine.write(target, reader(([1, 2], [1, 1]), ([2, 3], [5, 1])), merge, commit(1))
# A Merge into the table: key 3 twice in the step; seq 9 wins over 7 and the stored 1.
engine.write(target, reader(([3, 4, 3], [9, 1, 7]),), merge, commit(2))
table = engine.read(target)
rows = sorted(zip(table.column("id").to_pylist(), table.column("seq").to_pylist()))
print(rows, "numpy" in sys.modules and sys.modules["numpy"] is not None)
"""


def test_merges_with_repeated_keys_need_no_numpy() -> None:
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split("\n")[0] == "[(1, 1), (2, 5), (3, 9), (4, 1)] False", out.stdout
