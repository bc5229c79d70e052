"""docs/dataloader-class.md cannot rot: its examples run and it names every public method.

The page's Python blocks run in order in one namespace, in an empty directory, the way a
reader pastes them into a notebook; a block preceded by ``<!-- illustrative -->`` is
skipped, and every other fence must be Python (so nothing unrun slips in unmarked).
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from dataloader_sdk import DataLoader, Settings

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "dataloader-class.md"
_FENCE = re.compile(r"(?P<before>[^\n]*)\n```(?P<lang>[a-z]*)\n(?P<body>.*?)\n```", re.DOTALL)


def _blocks() -> list[tuple[str, str, bool]]:
    """``(language, code, illustrative)`` for every fence of the guide, in order."""
    text = GUIDE.read_text(encoding="utf-8")
    return [(m["lang"], m["body"], m["before"].strip() == "<!-- illustrative -->")
            for m in _FENCE.finditer(text)]


def _public_methods(cls: type) -> set[str]:
    return {name for name, member in inspect.getmembers(cls)
            if not name.startswith("_") and callable(member)}


@pytest.mark.parametrize("cls", [DataLoader, Settings], ids=lambda c: c.__name__)
def test_every_public_method_is_in_the_guide(cls: type) -> None:
    text = GUIDE.read_text(encoding="utf-8")
    methods = _public_methods(cls)
    assert len(methods) >= 4  # the introspection found the methods
    missing = sorted(m for m in methods if not re.search(rf"\b{m}\(", text))
    assert not missing, f"{cls.__name__} methods not described in {GUIDE.name}: {missing}"


def test_settings_fields_are_in_the_guide() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    missing = [f for f in Settings.__dataclass_fields__ if f"`{f}`" not in text]
    assert not missing


def test_unrun_blocks_are_marked_illustrative() -> None:
    blocks = _blocks()
    assert sum(lang == "python" and not illustrative for lang, _, illustrative in blocks) >= 5
    unmarked = [body[:60] for lang, body, illustrative in blocks
                if lang != "python" and not illustrative]
    assert not unmarked


@pytest.mark.integration
def test_examples_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("DATALOADER_HOME", "DATALOADER_CONTROL_URL", "DATALOADER_ENV",
                 "DATALOADER_ENGINE", "DATALOADER_DELTA_ROOT"):
        monkeypatch.delenv(name, raising=False)
    namespace: dict[str, object] = {"__name__": "dataloader_class_guide"}
    for index, (lang, body, illustrative) in enumerate(_blocks()):
        if lang != "python" or illustrative:
            continue
        try:
            exec(compile(body, f"{GUIDE.name} block {index}", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"block {index} of {GUIDE.name} failed:\n{body}") from exc
    # The guide's session did what it says: both tables loaded, the sources it lists stored.
    loader = namespace["loader"]
    assert isinstance(loader, DataLoader)
    assert (tmp_path / "proj" / "dataloader.toml").exists()
    reopened = DataLoader.from_settings(Settings.load(home=tmp_path / "proj"))
    try:
        names = {s.name for s in reopened.store.list_sources()}
        assert {"shop", "erp", "crm", "billing", "warehouse", "warehouse_keypair", "events",
                "shop_mysql"} <= names
        from dataloader_sdk import TargetName

        assert reopened.engine.read(TargetName.parse("bronze.orders")).num_rows == 100
        assert reopened.engine.read(TargetName.parse("bronze.customers")).num_rows == 2
        assert reopened.store.get_table("orders").config.interval_seconds == 900
    finally:
        reopened.close()
