"""``python -m dataloader_sdk.demo [--rows N] [--dir PATH]``: the same as ``dataloader demo``."""

from __future__ import annotations

import sys

from dataloader_sdk.cli import main

if __name__ == "__main__":
    main(args=["demo", *sys.argv[1:]], prog_name="python -m dataloader_sdk.demo")
