"""The immusql command line: keys, reindex, and verify's progress bar."""

from __future__ import annotations

import io
import subprocess
import sys

from immusql.cli import ProgressBar
from immusql.store import Store


def _immusql(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "immusql.cli", *args], capture_output=True, text=True)


def test_keys_prints_the_stores_verifier_key(tmp_path):
    with Store.open(tmp_path / "s") as store:
        vkey = store.verifier_key()
    result = _immusql("keys", "--data-dir", str(tmp_path / "s"))
    assert result.returncode == 0 and result.stdout.strip() == vkey


def test_reindex_rebuilds_the_index(tmp_path):
    with Store.open(tmp_path / "s") as store:
        for i in range(20):
            store.set(b"k%d" % i, b"v%d" % i)
    result = _immusql("reindex", "--data-dir", str(tmp_path / "s"))
    assert result.returncode == 0 and "from 20 transactions" in result.stdout
    with Store.open(tmp_path / "s") as store:
        assert store.get(b"k7").value == b"v7"


def test_missing_store_is_an_error(tmp_path):
    result = _immusql("verify", "--data-dir", str(tmp_path))
    assert result.returncode == 2 and "no store found" in result.stderr


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_on_a_terminal_only():
    terminal = _Terminal()
    bar = ProgressBar("verifying", terminal)
    bar(50, 100)
    bar(100, 100)
    bar.finish()
    assert "verifying [" in terminal.getvalue() and "100.0%" in terminal.getvalue()
    piped = io.StringIO()
    ProgressBar("verifying", piped)(50, 100)
    assert piped.getvalue() == ""
