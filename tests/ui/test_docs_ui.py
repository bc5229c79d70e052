"""docs/ui.md as written: its runnable blocks run, its pictures exist, it is in the nav.

Bash and Python blocks without an ``<!-- illustrative... -->`` marker on the line before
their fence run in order in one empty directory, with this checkout's ``dataloader`` on
PATH (as a reader would paste them). Every screenshot the guide shows exists (the
browser tests write them), and every screenshot the browser tests write is shown.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "ui.md"
_FENCE = re.compile(r"(?P<before>[^\n]*)\n```(?P<lang>[\w-]*)[ \t]*\n(?P<code>.*?)^```[ \t]*$",
                    re.S | re.M)


def _blocks() -> list[tuple[str, str, bool]]:
    text = GUIDE.read_text(encoding="utf-8")
    return [(m["lang"], m["code"], m["before"].strip().startswith("<!-- illustrative"))
            for m in _FENCE.finditer(text)]


def test_runnable_blocks_run_in_order(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATALOADER_")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    ran = 0
    for index, (lang, code, illustrative) in enumerate(_blocks()):
        if illustrative:
            continue
        assert lang in ("bash", "python"), f"block {index} ({lang}) is neither run nor marked"
        command = (["bash", "-e", "-o", "pipefail", "-c", code] if lang == "bash"
                   else [sys.executable, "-c", code])
        result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True,
                                text=True, timeout=300, check=False)
        assert result.returncode == 0, f"block {index} failed:\n{code}\n{result.stderr}"
        ran += 1
    assert ran >= 2
    # The guide's users exist, stored as hashes only.
    import sqlite3

    with sqlite3.connect(tmp_path / "proj" / ".dataloader" / "dataloader.db") as conn:
        rows = dict(conn.execute("SELECT username, password_hash FROM ui_users").fetchall())
    assert set(rows) == {"alice", "bob"}
    assert all("a-long-password" not in h for h in rows.values())


def test_every_screenshot_is_shown_and_exists() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    shown = set(re.findall(r"\(assets/ui/([\w-]+\.png)\)", text))
    on_disk = {p.name for p in (ROOT / "docs" / "assets" / "ui").glob("*.png")}
    browser_tests = (ROOT / "tests" / "ui" / "test_browser.py").read_text(encoding="utf-8")
    taken = {f"{n}.png" for n in re.findall(r'shots\(driver, "([\w-]+)"\)', browser_tests)}
    assert shown == taken, "the guide shows exactly the pages the browser tests capture"
    assert shown <= on_disk, f"missing screenshots: {sorted(shown - on_disk)}"


def test_guide_is_in_the_site_nav() -> None:
    assert "Control-manager UI: ui.md" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
