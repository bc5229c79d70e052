"""The runner never advances a watermark over rows it did not read (issue #9, finding 1).

The backstop is independent of any one connector's bug: a connector whose read misses
rows that its own MAX() probe saw (as the SQLite ISO-text comparison did) must fail the
run before the commit, leaving the watermark and the Delta table as they were.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from dataloader_sdk.errors import WindowMismatchError
from tests.reliability._home import TARGET, make_source, open_loader, register, target_ids


class _DroppingConnector:
    """Wraps a real connector and drops the rows of every read: a read-path bug."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def read(self, select: Any, **kwargs: Any) -> pa.RecordBatchReader:
        reader = self._inner.read(select, **kwargs)
        empty = reader.read_all().slice(0, 0)
        return pa.RecordBatchReader.from_batches(empty.schema, empty.to_batches())


class _DroppingFactory:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def open(self, config: Any, secret: Any) -> _DroppingConnector:
        return _DroppingConnector(self._inner.open(config, secret))


def test_a_read_missing_the_probed_rows_fails_and_commits_nothing(tmp_path: Path) -> None:
    source = tmp_path / "src.db"
    make_source(source, range(1, 6))
    loader = open_loader(tmp_path / "home")
    try:
        register(loader, source)  # append_only on seq
        assert loader.load_table("orders").rows_read == 5
        before = loader.store.get_table("orders").state
        make_source(source, range(6, 9))
        real = loader.host.connector("sqlalchemy")
        loader.host.connector = lambda name: _DroppingFactory(real)  # type: ignore[method-assign]
        record = loader.load_table("orders", raise_on_error=False)
        assert record.status == "failed"
        assert record.error_class == WindowMismatchError.__name__
        assert "did not move" in (record.error_message or "")
        assert loader.store.get_table("orders").state == before  # watermark unchanged
        assert target_ids(loader, TARGET) == [1, 2, 3, 4, 5]  # nothing committed
        assert WindowMismatchError.retryable
        del loader.host.connector  # the real read path again: the retry loads the rows
        assert loader.load_table("orders").rows_read == 3
        assert target_ids(loader, TARGET) == list(range(1, 9))
    finally:
        loader.close()
