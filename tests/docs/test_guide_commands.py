"""Every `dataloader ...` command quoted in the guides of issue #16 is a real command.

Each command — in inline code or on a line of a ```bash fence — is parsed by the real
click command tree, down to its subcommand: an unknown command, an unknown option or a
missing argument fails here, so the troubleshooting guide cannot name a command that
does not exist. Parsing runs nothing.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from dataloader_sdk.cli import main

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUIDES = ("troubleshooting.md", "dataloader-class.md", "index.md", "diagrams.md")


def _commands(page: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    found = re.findall(r"`(dataloader [^`\n]+)`", text)
    for fence in re.findall(r"```bash\n(.*?)```", text, re.DOTALL):
        found += [line.strip() for line in fence.splitlines()
                  if line.strip().startswith("dataloader ")]
    return found


def _parse(command: str) -> list[str]:
    """Parse ``command`` down to its leaf; returns the path of command names."""
    args = shlex.split(command, comments=True)[1:]
    cmd: click.Command = main
    path = ["dataloader"]
    parent: click.Context | None = None
    while True:
        ctx = cmd.make_context(path[-1], args, parent=parent)
        if not isinstance(cmd, click.Group):
            return path
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        if not rest:
            return path
        sub = cmd.get_command(ctx, rest[0])
        assert sub is not None, f"{command!r}: no command {rest[0]!r} under {' '.join(path)}"
        cmd, args, parent = sub, rest[1:], ctx
        path.append(rest[0])


@pytest.mark.parametrize("page", GUIDES)
def test_commands_in_the_guide_exist(page: str) -> None:
    commands = _commands(page)
    for command in commands:
        try:
            path = _parse(command)
        except click.ClickException as exc:
            raise AssertionError(f"{page}: {command!r} does not parse: {exc}") from exc
        assert len(path) >= 2 or "--home" in command, command


def test_the_troubleshooting_guide_uses_the_operator_commands() -> None:
    used = {" ".join(_parse(c)) for c in _commands("troubleshooting.md")}
    assert {"dataloader status", "dataloader monitor", "dataloader history",
            "dataloader tables ack", "dataloader tables reset", "dataloader tables unlock",
            "dataloader tables show", "dataloader sources test"} <= used
    assert "dataloader nosuchcommand" not in used
    with pytest.raises(AssertionError, match="no command"):
        _parse("dataloader tables nosuchcommand x")
    with pytest.raises(click.UsageError):
        _parse("dataloader tables ack orders --no-such-option")
