"""Every fenced block of README.md and docs/ is exercised by a test, or marked illustrative.

A block passes when one of these holds:

* an HTML comment on the line right before its fence starts ``<!-- illustrative``
  (README and getting-started also require ``: REASON``; their runner checks that);
* its page has a runner test that executes that block's language (``RUNNERS``);
* it is an output sample or a picture: ``mermaid`` (the site renders it; test_site.py
  checks mermaid loads), ``text``, an untyped block that quotes no command, ``json``
  that parses, ``yaml``/``toml`` that parses — and a ``version:`` config-as-code YAML
  passes the real declarative loader;
* a ``bash`` block whose every line is a ``dataloader ...`` command that the real click
  tree parses, or ``export X=...`` / ``cd DIR`` setting the scene;
* a ``python`` block that compiles — it must be marked as well, unless a runner runs it.

Every inline ```dataloader ...``` command on every page parses too. Parsing runs nothing.
The python blocks of ``PYTHON_RUNS`` pages are run here, each in a fresh interpreter and
an empty directory, as a reader would paste them.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
import tomllib

from tests.docs.test_guide_commands import _parse

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
ALL = frozenset({"*"})

# page -> (the test that runs its blocks, the languages it runs; "*" = every language)
RUNNERS: dict[str, tuple[str, frozenset[str]]] = {
    "README.md": ("tests/docs/test_docs_as_written.py", ALL),
    "docs/getting-started.md": ("tests/docs/test_docs_as_written.py", ALL),
    "docs/dataloader-class.md": ("tests/docs/test_dataloader_class.py", ALL),
    "docs/ui.md": ("tests/ui/test_docs_ui.py", ALL),
    "docs/troubleshooting.md": ("tests/docs/test_troubleshooting_recipes.py", frozenset({"sql"})),
    "docs/control-database.md": ("tests/docs/test_every_block.py", frozenset({"python"})),
}
PYTHON_RUNS = [page for page, (test, _) in RUNNERS.items() if test.endswith("test_every_block.py")]

_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[^\n]*\n(?P<code>.*?)^(?P=indent)```[ \t]*$",
                    re.S | re.M)
_INLINE = re.compile(r"`(dataloader [^`\n]+)`")
# A line of an untyped block that is a command, not output or a drawing.
_COMMAND = re.compile(r"^\s*(?:\$\s+)?(?:dataloader|python3?|pip|uv|nox|curl|export|cd|sudo|"
                      r"systemctl|docker|git)\b")
_SCENE = re.compile(r"^(?:export\s+[A-Za-z_][A-Za-z0-9_]*=\S*|cd\s+\S+)$")
_REDIRECT = {">", ">>", "2>", "2>>"}


@dataclass(frozen=True)
class Block:
    """One fenced block of a page."""

    page: str
    line: int
    lang: str
    code: str
    marked: bool

    def where(self) -> str:
        return f"{self.page}:{self.line}"


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path``, with whether the line before marks it illustrative."""
    text = path.read_text(encoding="utf-8")
    found = []
    for m in _FENCE.finditer(text):
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        found.append(Block(_rel(path), text.count("\n", 0, m.start()) + 1, m["lang"],
                           m["code"], before.strip().startswith("<!-- illustrative")))
    return found


def _logical_lines(code: str) -> list[str]:
    return [line.strip() for line in code.replace("\\\n", " ").splitlines()
            if line.strip() and not line.strip().startswith("#")]


def _shell_problem(line: str) -> str | None:
    """Why ``line`` is not a parseable ``dataloader`` command or a scene-setting builtin."""
    if _SCENE.match(line):
        return None
    try:
        words = shlex.split(line, comments=True)
    except ValueError as exc:
        return f"does not split as shell words ({exc})"
    commands: list[list[str]] = [[]]
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in _REDIRECT:
            skip = True  # the file a command's output goes to
        elif word in {"&&", ";"}:
            commands.append([])
        else:
            commands[-1].append(word)
    for command in commands:
        if not command or command[0] != "dataloader":
            return ("not a `dataloader` command: mark the block "
                    "<!-- illustrative: REASON --> or make a test run it")
        try:
            _parse(shlex.join(command))
        except click.ClickException as exc:
            return f"does not parse: {exc.format_message()}"
        except AssertionError as exc:
            return str(exc)
    return None


def _check_yaml(block: Block) -> str | None:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe").load(block.code)
    except YAMLError as exc:
        return f"yaml does not parse: {exc}"
    if isinstance(data, dict) and "version" in data and ({"sources", "tables", "environments"}
                                                         & data.keys()):
        from dataloader_sdk.declarative.document import ConfigFileError, parse_config
        from dataloader_sdk.plugins import PluginHost

        try:
            parse_config(block.code, path=block.where(), host=PluginHost())
        except ConfigFileError as exc:
            return f"config-as-code is refused by the loader: {exc}"
    return None


def problem(block: Block) -> str | None:
    """Why ``block`` is neither exercised nor marked; ``None`` when it is fine."""
    if block.marked:
        if block.lang == "python":
            try:
                compile(block.code, block.where(), "exec")
            except SyntaxError as exc:
                return f"python does not compile: {exc}"
        return None
    runner = RUNNERS.get(block.page)
    if runner is not None and (runner[1] == ALL or block.lang in runner[1]):
        return None
    lang = block.lang
    if lang in {"mermaid", "text"}:
        return None
    if lang == "":
        commands = [line for line in block.code.splitlines() if _COMMAND.match(line)]
        return (f"untyped block quotes a command ({commands[0].strip()!r}): give it a language "
                "and make it parse, or mark it illustrative") if commands else None
    if lang == "json":
        try:
            json.loads(block.code)
        except ValueError as exc:
            return f"json does not parse: {exc}"
        return None
    if lang == "toml":
        try:
            tomllib.loads(block.code)
        except tomllib.TOMLDecodeError as exc:
            return f"toml does not parse: {exc}"
        return None
    if lang == "yaml":
        return _check_yaml(block)
    if lang in {"bash", "sh", "shell", "console"}:
        for line in _logical_lines(block.code):
            why = _shell_problem(line)
            if why is not None:
                return f"{line!r}: {why}"
        return None
    if lang == "python":
        try:
            compile(block.code, block.where(), "exec")
        except SyntaxError as exc:
            return f"python does not compile: {exc}"
        return "python block is not run by any test: mark it <!-- illustrative: WHY -->"
    return f"a {lang!r} block is not checked: mark it <!-- illustrative: REASON -->"


def test_the_runners_exist() -> None:
    for page, (test, _) in RUNNERS.items():
        assert (ROOT / page).is_file(), page
        assert (ROOT / test).is_file(), f"{page}: its runner {test} is gone"
        assert page.removeprefix("docs/") in (ROOT / test).read_text(encoding="utf-8") \
            or page in PYTHON_RUNS, f"{test} does not read {page}"


@pytest.mark.parametrize("page", [_rel(p) for p in PAGES])
def test_every_block_is_exercised_or_marked(page: str) -> None:
    problems = [f"{b.where()}: {why}" for b in blocks(ROOT / page)
                if (why := problem(b)) is not None]
    assert problems == [], "\n".join(problems)


def _inline_problem(command: str) -> str | None:
    """Why an inline ``dataloader ...`` reference names no real command or option.

    Prose names commands without their arguments (``dataloader tables reset``) and elides
    with ``…`` or ``<placeholder>``: the words before an elision must parse, and a missing
    argument is fine, but an unknown command or option is not.
    """
    words = command.split()
    cut = next((i for i, w in enumerate(words) if w in {"…", "..."} or w.startswith("<")),
               len(words))
    if cut < 2:
        return None  # `dataloader <table>`: a run's name, not a command
    try:
        _parse(" ".join(words[:cut]))
    except (click.MissingParameter, click.exceptions.NoArgsIsHelpError):
        return None
    except click.exceptions.Exit as exc:
        return None if exc.exit_code == 0 else f"exits {exc.exit_code}"
    except click.ClickException as exc:
        return exc.format_message()
    except (AssertionError, ValueError) as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("page", [_rel(p) for p in PAGES])
def test_inline_commands_parse(page: str) -> None:
    text = (ROOT / page).read_text(encoding="utf-8")
    problems = [f"{command!r}: {why}" for command in _INLINE.findall(text)
                if (why := _inline_problem(command)) is not None]
    assert problems == [], f"{page}:\n" + "\n".join(problems)


@pytest.mark.parametrize("page", PYTHON_RUNS)
def test_python_blocks_run(page: str, tmp_path: Path) -> None:
    runnable = [b for b in blocks(ROOT / page) if b.lang == "python" and not b.marked]
    assert runnable, f"{page} has no python block left to run"
    # The guide's SQLite URL (sqlite:///var/lib/...) is relative: give it its directory.
    (tmp_path / "var" / "lib" / "dataloader").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATALOADER_")}
    for block in runnable:
        done = subprocess.run([sys.executable, "-c", block.code], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, f"{block.where()} failed:\n{done.stderr[-2000:]}"


def test_the_check_catches_what_it_should() -> None:
    def one(lang: str, code: str, marked: bool = False) -> str | None:
        return problem(Block("docs/x.md", 1, lang, code, marked))

    assert one("bash", "pip install x\n") is not None
    assert one("bash", "pip install x\n", marked=True) is None
    assert one("bash", "dataloader tables nosuchcommand x\n") is not None
    assert one("bash", "dataloader status --no-such-option\n") is not None
    assert one("bash", "export A=1\ndataloader status  # comment\n") is None
    assert one("bash", "dataloader config schema > x.json\n") is None
    assert one("python", "print(1)\n") is not None
    assert one("python", "print(\n", marked=True) is not None
    assert one("json", "{nope}") is not None
    assert one("toml", "a = ") is not None
    assert one("yaml", "version: 1\ntables:\n  t:\n    interval_seconds: 0\n") is not None
    assert one("", "$ dataloader run\n") is not None
    assert one("", "a ──► b\n") is None
    assert one("mermaid", "flowchart LR\n") is None
    assert _inline_problem("dataloader tables reset") is None  # names the command
    assert _inline_problem("dataloader tables …") is None
    assert _inline_problem("dataloader tables reset --no-such-option") is not None
    assert _inline_problem("dataloader nosuchcommand") is not None
