"""Where an unexpected exception was raised decides how the run's failure is filed, and a
connector's probe answer of the wrong type is refused naming the connector (issue #12)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from dataloader_sdk.config import Settings
from dataloader_sdk.connectors.base import Connector, SourceColumn
from dataloader_sdk.connectors.sqlalchemy_url import SqlAlchemyConnectorFactory
from dataloader_sdk.errors import (
    ControlStoreError,
    DestinationError,
    SourceError,
    SourcePermanentError,
    StateError,
    ValidationError,
)
from dataloader_sdk.loader import DataLoader
from dataloader_sdk.model import (
    ChangeSignature,
    Column,
    CommitInfo,
    MaxOf,
    ProbeRequest,
    RowCount,
    ScalarValue,
    Select,
    SourceConfig,
    SourceObject,
    TableConfig,
    TargetName,
    WriteMode,
)
from dataloader_sdk.plugins import PluginHost, Registry, hookimpl
from dataloader_sdk.probe_answers import check_probe_answer
from dataloader_sdk.secrets import Secret
from dataloader_sdk.testing import FaultyEngine

TARGET = TargetName("bronze", "events")


class OddConnector:
    """A sqlite connector that misbehaves as ``mode`` says."""

    def __init__(self, inner: Connector, mode: str) -> None:
        self._inner = inner
        self._mode = mode

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def probe(self, obj: SourceObject, request: ProbeRequest) -> ScalarValue | None:
        return self._odd(request, self._inner.probe(obj, request))

    def probe_together(self, obj: SourceObject, requests: Sequence[ProbeRequest]
                       ) -> list[ScalarValue | None] | None:
        # The runner asks an incremental run's probes together: misbehave there too.
        answers = self._inner.probe_together(obj, requests)  # type: ignore[attr-defined]
        return None if answers is None else [
            self._odd(r, a) for r, a in zip(requests, answers, strict=True)]

    def _odd(self, request: ProbeRequest, answer: ScalarValue | None) -> ScalarValue | None:
        if self._mode == "str_max" and isinstance(request, MaxOf):
            return str(answer)
        return answer

    def read(self, select: Select, **kwargs: Any) -> pa.RecordBatchReader:
        reader = self._inner.read(select, **kwargs)
        if self._mode != "read_keyerror":
            return reader

        def batches() -> Iterator[pa.RecordBatch]:
            yield from reader
            raise KeyError("bug in the connector's stream")

        return pa.RecordBatchReader.from_batches(reader.schema, batches())


class OddFactory(SqlAlchemyConnectorFactory):
    def __init__(self, mode: str) -> None:
        self._mode = mode

    def open(self, config: SourceConfig, secret: Secret | None) -> Connector:
        return OddConnector(super().open(config, secret), self._mode)  # type: ignore[return-value]


class OddPlugin:
    def __init__(self, mode: str) -> None:
        self._mode = mode

    @hookimpl
    def dataloader_register_connectors(self, registry: Registry[Any]) -> None:
        registry.add("odd", OddFactory(self._mode))


def _loader(tmp_path: Path, mode: str) -> DataLoader:
    path = tmp_path / "src.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, v TEXT)")
        conn.executemany("INSERT INTO events VALUES (?, ?)", [(i, f"v{i}") for i in range(1, 6)])
    loader = DataLoader.from_settings(Settings.default(tmp_path / "p"),
                                      host=PluginHost([OddPlugin(mode)]))
    loader.add_source(SourceConfig(name="s", db_type="odd", options={"url": f"sqlite:///{path}"}),
                      actor="t")
    loader.add_table(TableConfig(name="events", source="s", source_table="events", target=TARGET,
                                 strategy="append_only",
                                 strategy_options={"watermark_column": "id"}), actor="t")
    return loader


class KeyErrorEngine(FaultyEngine):
    def write(self, target: TargetName, data: pa.RecordBatchReader, mode: WriteMode,
              commit: CommitInfo) -> Any:
        raise KeyError("bug in the engine")


def test_an_engine_bug_is_filed_as_an_engine_error(tmp_path: Path) -> None:
    base = _loader(tmp_path, "ok")
    loader = DataLoader(base.store, KeyErrorEngine(base.engine), host=base.host)
    record = loader.load_table("events", raise_on_error=False)
    assert record.error_class == DestinationError.__name__
    assert "raised by the engine" in (record.error_message or "")
    assert "KeyError" in (record.error_message or "")
    history = loader.store.runs("events")[0]
    assert history.error_class == "DestinationError"
    with pytest.raises(DestinationError):
        loader.load_table("events")
    base.close()


def test_a_connector_bug_mid_stream_is_filed_as_a_source_error(tmp_path: Path) -> None:
    loader = _loader(tmp_path, "read_keyerror")
    record = loader.load_table("events", raise_on_error=False)
    assert record.error_class == SourceError.__name__
    assert "KeyError" in (record.error_message or "")
    assert "'odd'" in (record.error_message or "") or "(odd)" in (record.error_message or "")
    assert loader.store.get_table("events").state.watermark is None  # nothing committed
    loader.close()


def test_a_control_store_bug_is_filed_as_a_control_store_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loader = _loader(tmp_path, "ok")

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("bug in the control store")

    monkeypatch.setattr(loader.store, "save_state", broken)
    record = loader.load_table("events", raise_on_error=False)
    assert record.error_class == ControlStoreError.__name__
    assert issubclass(ControlStoreError, StateError)
    assert "raised by the control store" in (record.error_message or "")
    monkeypatch.undo()
    assert loader.store.runs("events")[0].error_class == "ControlStoreError"
    loader.close()


def test_a_wrongly_typed_probe_answer_is_refused_naming_the_connector(tmp_path: Path) -> None:
    loader = _loader(tmp_path, "str_max")
    record = loader.load_table("events", raise_on_error=False)
    assert record.status == "failed"
    assert record.error_class == SourcePermanentError.__name__
    message = record.error_message or ""
    assert "connector 'odd'" in message and "MaxOf of column 'id'" in message
    assert "str" in message and "must be int" in message
    loader.close()


INT = [SourceColumn("id", "INTEGER", pa.int64())]


@pytest.mark.parametrize(("request_", "answer", "ok"), [
    (RowCount(), 5, True),
    (RowCount(), 5.0, False),
    (RowCount(), True, False),
    (RowCount(), None, True),
    (MaxOf(Column("id")), 7, True),
    (MaxOf(Column("id")), "7", False),
    (MaxOf(Column("id")), 7.5, False),
    (MaxOf(Column("other")), "anything", True),  # unknown column: any scalar
    (ChangeSignature(), "sig", True),
    (ChangeSignature(), object(), False),
])
def test_probe_answer_types(request_: ProbeRequest, answer: object, ok: bool) -> None:
    if ok:
        check_probe_answer("mydb", request_, answer, INT)
    else:
        with pytest.raises(SourcePermanentError, match="connector 'mydb'"):
            check_probe_answer("mydb", request_, answer, INT)


class LeakyFactory(SqlAlchemyConnectorFactory):
    """Opens fine; its connector's check fails quoting the password, as drivers do."""

    def open(self, config: SourceConfig, secret: Secret | None) -> Connector:
        connector = super().open(config, None)
        password = secret.reveal() if secret else ""

        def check() -> None:
            raise SourceError(f"login failed for password={password} (really: {password})")

        connector.check = check  # type: ignore[method-assign]
        return connector


def test_open_source_validates_resolves_opens_and_redacts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataloader_sdk.source_open import open_source

    class Leaky:
        @hookimpl
        def dataloader_register_connectors(self, registry: Registry[Any]) -> None:
            registry.add("leaky", LeakyFactory())

    monkeypatch.setenv("H4_LEAKY_PW", "s3cret-Leaky-pw")
    host = PluginHost([Leaky()])
    source = SourceConfig(name="s", db_type="leaky", secret="env:H4_LEAKY_PW",
                          options={"url": f"sqlite:///{tmp_path / 'x.db'}"})
    def check() -> None:
        with open_source(host, source) as opened:
            assert opened.secret is not None and opened.secret.reveal() == "s3cret-Leaky-pw"
            opened.connector.check()

    with pytest.raises(SourceError) as info:
        check()
    assert "s3cret-Leaky-pw" not in str(info.value)
    assert info.value.__cause__ is None
    bad = SourceConfig(name="s", db_type="leaky", options={"nope": 1})
    with pytest.raises(ValidationError), open_source(host, bad):
        pass
