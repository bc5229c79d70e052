"""A batch reads each source's config once (``SourcePool.source_config``)."""

from __future__ import annotations

import threading

import pytest

from dataloader_sdk.connectors.pool import SourcePool
from dataloader_sdk.errors import UnknownNameError
from dataloader_sdk.model import SourceConfig


def test_each_sources_config_is_read_once_per_batch() -> None:
    reads: list[str] = []
    lock = threading.Lock()

    def read(name: str) -> SourceConfig:
        with lock:
            reads.append(name)
        return SourceConfig(name=name, db_type="postgresql", host=f"{name}-host")

    pool = SourcePool(2)
    got: dict[str, set[int]] = {"a": set(), "b": set()}

    def table(name: str) -> None:
        config = pool.source_config(name, read)
        with lock:
            got[name].add(id(config))

    threads = [threading.Thread(target=table, args=(name,)) for name in ["a", "b"] * 20]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Threads racing on the first table may each read, but every table of the batch
    # gets the one config the batch kept.
    assert len(got["a"]) == 1 and len(got["b"]) == 1 and set(reads) == {"a", "b"}
    first = pool.source_config("a", read)
    assert id(first) in got["a"] and first.host == "a-host"
    settled = len(reads)
    assert pool.source_config("a", read) is first and len(reads) == settled
    # The next batch (a new pool) reads again: an edit applies from then on.
    assert SourcePool(2).source_config("a", read) is not first and len(reads) == settled + 1


def test_a_failed_read_is_not_kept() -> None:
    calls = [0]

    def read(name: str) -> SourceConfig:
        calls[0] += 1
        if calls[0] == 1:
            raise UnknownNameError("source", name, [], hint="add it")
        return SourceConfig(name=name, db_type="postgresql")

    pool = SourcePool(1)
    with pytest.raises(UnknownNameError):
        pool.source_config("pg", read)
    assert pool.source_config("pg", read).name == "pg" and calls[0] == 2
