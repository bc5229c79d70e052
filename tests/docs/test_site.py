"""The documentation site builds strictly, works offline, and its nav and diagrams are true.

``mkdocs build --strict`` fails on a broken link or anchor, a page missing from the nav,
a nav entry without a page, and an API reference to a name that does not exist. The
built pages must load nothing from another host: Material's Google fonts are off and
mermaid is vendored (Material fetches it from a CDN only when no ``mermaid`` global
exists, so every page that draws a diagram must load the vendored copy).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from dataloader_sdk.control.status import TRANSITIONS

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
MERMAID = "assets/vendor/mermaid/mermaid.min.js"

# The site build takes 5-30 s on the 2-core CI machine.
pytestmark = pytest.mark.slow


class _Refs(HTMLParser):
    """Every URL a page would load or link to as a resource, by tag."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[tuple[str, str]] = []
        self.mermaid_blocks = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("script", "img", "iframe", "source", "audio", "video", "embed") and a.get("src"):
            self.loads.append((tag, a["src"] or ""))
        if tag == "link" and a.get("href"):
            self.loads.append((f"link rel={a.get('rel')}", a["href"] or ""))
        if tag == "object" and a.get("data"):
            self.loads.append((tag, a["data"] or ""))
        if "mermaid" in (a.get("class") or "").split():
            self.mermaid_blocks += 1


def _external(url: str) -> bool:
    return bool(re.match(r"^(https?:)?//", url, re.IGNORECASE))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--clean",
         "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-4000:]}"
    return out


def _nav_pages() -> list[str]:
    from mkdocs.config import load_config

    config = load_config(str(ROOT / "mkdocs.yml"))
    pages: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            pages.append(node)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)

    walk(config["nav"])
    return pages


def test_every_nav_page_exists_and_is_built(site: Path) -> None:
    pages = _nav_pages()
    assert len(pages) >= 25
    for page in pages:
        assert (DOCS / page).is_file(), f"nav entry {page} has no file in docs/"
        stem = page.removesuffix(".md")
        built = stem.removesuffix("index") + "index.html" if stem.endswith("index") else (
            stem + "/index.html")
        assert (site / built).is_file(), f"{page} was not built"
    # Every page in docs/ is in the nav (the build also warns, strictly, about omissions).
    on_disk = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert on_disk == set(pages)


def test_the_site_loads_nothing_from_other_hosts(site: Path) -> None:
    html_files = list(site.rglob("*.html"))
    assert len(html_files) >= 25
    diagrams = 0
    for path in html_files:
        refs = _Refs()
        refs.feed(path.read_text(encoding="utf-8"))
        external = [(tag, url) for tag, url in refs.loads if _external(url)]
        assert not external, f"{path.relative_to(site)} loads from another host: {external}"
        if refs.mermaid_blocks:
            diagrams += refs.mermaid_blocks
            assert any(url.endswith(MERMAID) for _, url in refs.loads), path
    assert diagrams >= 7  # the diagrams page's seven diagrams reached the HTML as mermaid
    assert (site / MERMAID).stat().st_size > 1_000_000
    assert (DOCS / "assets/vendor/mermaid/LICENSE").is_file()
    for css in site.rglob("*.css"):
        text = css.read_text(encoding="utf-8", errors="replace")
        assert not re.search(r"@import\s+(url\()?['\"]?(https?:)?//", text), css
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), css


def test_home_page_shows_the_system_overview_picture(site: Path) -> None:
    html = (site / "index.html").read_text(encoding="utf-8")
    assert 'src="assets/system-overview.svg"' in html
    assert (site / "assets/system-overview.svg").read_text(encoding="utf-8").startswith("<svg")


def test_changelog_page_embeds_the_changelog(site: Path) -> None:
    html = (site / "changelog/index.html").read_text(encoding="utf-8")
    first_release = re.search(r"^## \[([^\]]+)\]", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert first_release is not None
    assert first_release.group(1) in html
    assert "--8&lt;--" not in html and "--8<--" not in html


def test_api_reference_covers_the_public_api(site: Path) -> None:
    import dataloader_sdk

    html = "".join(p.read_text(encoding="utf-8") for p in (site / "api").rglob("*.html"))
    public = [name for name in dataloader_sdk.__all__ if not name.startswith("_")]
    missing = [n for n in public if f'id="dataloader_sdk.{n}"' not in html
               and f'id="dataloader_sdk.errors.{n}"' not in html]
    assert not missing, f"public names without an API reference entry: {missing}"
    for name in ("dataloader_sdk.orchestration.run_table", "dataloader_sdk.testing.run_conformance"):
        assert f'id="{name}"' in html


def test_state_diagram_matches_the_state_machine() -> None:
    text = (DOCS / "diagrams.md").read_text(encoding="utf-8")
    block = re.search(r"```mermaid\nstateDiagram-v2\n(.*?)```", text, re.DOTALL)
    assert block is not None
    drawn = {(a, b) for a, b in re.findall(r"^\s*(\w+) --> (\w+)", block.group(1), re.M)}
    allowed = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert drawn == allowed
