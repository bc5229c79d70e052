"""Run a few lines in a fresh interpreter: what a module imports shows only in a new one."""

from __future__ import annotations

import subprocess
import sys


def child_output(code: str) -> str:
    """``code`` run by a new Python of this environment; its standard output."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return out.stdout
