"""``python -m dataloader_sdk``: the ``dataloader`` command, for when its script is not on PATH."""

from __future__ import annotations

from dataloader_sdk.cli import main

if __name__ == "__main__":
    main(prog_name="dataloader")
