"""Helper processes of this project's own code (the index process, reader processes, COPY workers)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # where immusql, engine and pgwire are importable


def python(code: str, *args: str, **popen: Any) -> subprocess.Popen[bytes]:
    """Run ``python -c code args`` with this interpreter, the project importable whatever the current directory."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")])))
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, **popen)
