"""``python -m dataloader_sdk.demo [--rows N] [--dir PATH]``: the same as ``dataloader demo``."""

from __future__ import annotations

import sys

from dataloader_sdk.cli import demo

if __name__ == "__main__":
    demo.main(args=sys.argv[1:], prog_name="python -m dataloader_sdk.demo")
