"""Delta-side failures that retrying can fix are DestinationTransientError (issue #9, item 6).

Every fault here is real; nothing is faked:

* disk full: the engine root is an 8 MiB tmpfs, mostly taken by a filler file (mounting
  needs root; elsewhere the test is skipped, naming that);
* permission denied: ``chattr +i`` on ``_delta_log`` when running as root (root ignores
  mode bits, not the immutable flag: EPERM), ``chmod 0o555`` otherwise (EACCES);
* a commit conflict: a second process overwrites the table after the engine took its
  snapshot and before its merge commits (delta-rs ``CommitFailedError``).

Each test then removes the cause and retries the same step, which succeeds: the failed
attempt left the table unchanged.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from dataloader_sdk.engines.base import EngineSettings
from dataloader_sdk.engines.common.errors import first_line, is_transient
from dataloader_sdk.engines.delta_rs import DeltaRsEngine
from dataloader_sdk.errors import DestinationError, DestinationTransientError
from dataloader_sdk.model import (
    Append,
    Column,
    CommitInfo,
    Compare,
    Merge,
    ReplaceWhere,
    TableState,
    TargetName,
)

pytestmark = pytest.mark.integration

TARGET = TargetName("bronze", "t")


def commit(version: int) -> CommitInfo:
    return CommitInfo(app_id="dataloader_sdk:1", txn_version=version, run_id=f"r{version}",
                      table_id=1, table="t", strategy="incremental",
                      state_after=TableState(txn_version=version))


def reader(table: pa.Table) -> pa.RecordBatchReader:
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())


def small(ids: list[int]) -> pa.Table:
    return pa.table({"id": pa.array(ids, pa.int64()), "v": [f"v{i}" for i in ids]})


def assert_transient(exc: DestinationError, *needles: str) -> None:
    assert isinstance(exc, DestinationTransientError) and exc.retryable
    assert "table bronze.t" in str(exc) and "transient" in str(exc)
    assert any(n in str(exc) for n in needles), str(exc)


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("simulating a full disk mounts an 8 MiB tmpfs, which needs root and mount")
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_disk_full_is_transient_and_the_retry_succeeds(tiny_fs: Path) -> None:
    engine = DeltaRsEngine(EngineSettings(root=str(tiny_fs)))
    engine.write(TARGET, reader(small([1])), Append(), commit(1))
    filler = tiny_fs / "filler"
    filler.write_bytes(b"\0" * (6 * 1024 * 1024 + 512 * 1024))
    # 2 MiB of random bytes: Parquet cannot compress them into the 1.5 MiB left.
    big = pa.table({"id": pa.array([2], pa.int64()), "v": ["x"],
                    "blob": pa.array([os.urandom(2 * 1024 * 1024)], pa.binary())})
    with pytest.raises(DestinationError) as failed:
        engine.write(TARGET, reader(big), Append(), commit(2))
    assert_transient(failed.value, "No space left on device", "os error 28")
    assert engine.read(TARGET).num_rows == 1  # unchanged
    filler.unlink()
    out = engine.write(TARGET, reader(big), Append(), commit(2))
    assert not out.replayed and engine.read(TARGET).num_rows == 2


@pytest.fixture
def locked_log(tmp_path: Path) -> Iterator[tuple[DeltaRsEngine, Path]]:
    """A table whose _delta_log cannot be written (see the module docstring)."""
    engine = DeltaRsEngine(EngineSettings(root=str(tmp_path / "delta")))
    engine.write(TARGET, reader(small([1])), Append(), commit(1))
    log_dir = Path(engine.uri(TARGET)) / "_delta_log"
    if os.geteuid() == 0:
        if shutil.which("chattr") is None:
            pytest.skip("as root, permission denied is made with chattr +i; chattr is missing")
        done = subprocess.run(["chattr", "+i", str(log_dir)], capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            pytest.skip(f"chattr +i is not supported here: {done.stderr.strip()}")
        unlock = ["chattr", "-i", str(log_dir)]
    else:
        log_dir.chmod(0o555)
        unlock = ["chmod", "0755", str(log_dir)]
    try:
        yield engine, log_dir
    finally:
        subprocess.run(unlock, check=True)


def test_permission_denied_is_transient_and_the_retry_succeeds(
    locked_log: tuple[DeltaRsEngine, Path],
) -> None:
    engine, log_dir = locked_log
    with pytest.raises(DestinationError) as failed:
        engine.write(TARGET, reader(small([2])), Append(), commit(2))
    assert_transient(failed.value, "Operation not permitted", "Permission denied")
    # The object-store cause lines are kept, so the message says which file and why.
    assert "_delta_log" in str(failed.value)
    assert DeltaTable(engine.uri(TARGET)).version() == 0
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(log_dir)], check=True)
    else:
        log_dir.chmod(0o755)
    engine.write(TARGET, reader(small([2])), Append(), commit(2))
    assert sorted(engine.read(TARGET).column("id").to_pylist()) == [1, 2]


_RIVAL = """
import sys, pyarrow as pa
from deltalake import write_deltalake
write_deltalake(sys.argv[1], pa.table({"id": pa.array([100], pa.int64()), "v": ["rival"]}),
                mode="overwrite")
"""


def rival_commits_first(uri: str, rows: pa.Table) -> pa.RecordBatchReader:
    """A source reader that, when first read, lets another process commit to ``uri``.

    The engine has loaded its snapshot by then (a Merge into an existing table reads its
    rows after opening the table), so the rival's commit lands between snapshot and commit.
    """

    def batches() -> Iterator[pa.RecordBatch]:
        subprocess.run([sys.executable, "-c", _RIVAL, uri], check=True, timeout=120)
        yield from rows.to_batches()

    return pa.RecordBatchReader.from_batches(rows.schema, batches())


def test_a_concurrent_commit_conflict_is_transient_and_the_retry_succeeds(
    tmp_path: Path,
) -> None:
    engine = DeltaRsEngine(EngineSettings(root=str(tmp_path)))
    mode = Merge(keys=("id",))
    engine.write(TARGET, reader(small([1, 2])), mode, commit(1))
    with pytest.raises(DestinationError) as failed:
        engine.write(TARGET, rival_commits_first(engine.uri(TARGET), small([1, 3])), mode,
                     commit(2))
    assert_transient(failed.value, "CommitFailedError", "concurrent")
    assert engine.read(TARGET).column("v").to_pylist() == ["rival"]  # ours not applied
    engine.write(TARGET, reader(small([1, 3])), mode, commit(2))
    assert sorted(engine.read(TARGET).column("id").to_pylist()) == [1, 3, 100]


def test_other_failures_stay_permanent(tmp_path: Path) -> None:
    engine = DeltaRsEngine(EngineSettings(root=str(tmp_path)))
    window = ReplaceWhere((Compare(Column("id"), ">=", 10),))
    engine.write(TARGET, reader(small([10])), window, commit(1))
    # delta-rs itself refuses rows outside the replace-where predicate.
    with pytest.raises(DestinationError, match="delta-rs failed to write") as failed:
        engine.write(TARGET, reader(small([1])), window, commit(2))
    assert not isinstance(failed.value, DestinationTransientError)
    assert not failed.value.retryable


def test_classification_reads_the_cause_chain_and_os_error_codes() -> None:
    # Real exceptions as the libraries raise them (their text is what delta-rs reports).
    assert is_transient(OSError(28, "No space left on device"))
    assert is_transient(PermissionError(13, "Permission denied"))
    assert not is_transient(FileNotFoundError(2, "No such file or directory"))
    wrapped = RuntimeError("write failed")
    wrapped.__cause__ = OSError("Generic LocalFileSystem error\n  ↳ Unable to open file "
                                "x\n  ↳ Operation not permitted (os error 1)\n")
    assert is_transient(wrapped)
    assert not is_transient(ValueError("Invalid comparison (os error 2)"))
    assert first_line(wrapped.__cause__) == (
        "OSError: Generic LocalFileSystem error: Unable to open file x: Operation not "
        "permitted (os error 1)")
