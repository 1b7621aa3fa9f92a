"""Every program in examples/ runs to completion and says what it did."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_"))  # _server.py is shared by them
PSQL_SCRIPTS = sorted((ROOT / "examples").glob("*.sql"))


def takes_a_directory(script: Path) -> bool:
    """Whether the example reads a command-line argument (by convention, a directory to work in)."""
    return "sys.argv" in script.read_text()


def example_env() -> dict[str, str]:
    """The current environment with the repository root first on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def test_quickstart_is_an_example() -> None:
    """The quickstart is among the examples found (so the parametrized test is not silently empty)."""
    assert ROOT / "examples" / "quickstart.py" in EXAMPLES


@pytest.mark.parametrize("script", EXAMPLES, ids=[script.name for script in EXAMPLES])
def test_example_runs(script: Path, tmp_path: Path) -> None:
    """The example exits 0 and prints something."""
    args = [sys.executable, str(script)]
    if takes_a_directory(script):
        args.append(str(tmp_path / "data"))
    result = subprocess.run(args, cwd=ROOT, env=example_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{script.name} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert result.stdout.strip(), f"{script.name} printed nothing\n{result.stderr}"


@pytest.mark.parametrize("script", PSQL_SCRIPTS, ids=[script.name for script in PSQL_SCRIPTS])
def test_psql_script_runs(script: Path, server) -> None:
    """A psql walk-through runs against a server without an error and shows its rows."""
    from tests.pg_oracle import bindir

    psql = os.path.join(bindir(), "psql")
    result = subprocess.run([psql, "-X", "-v", "ON_ERROR_STOP=1", "-f", str(script)], env=server.env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, f"{script.name} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "(1 row)" in result.stdout and "ERROR" not in result.stderr
