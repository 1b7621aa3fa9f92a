"""SIGKILL a writing process at random moments: no acknowledged transaction is lost, none is partial."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict

from immusql.store import Store
from immusql.store.verify import verify_store

WRITER = os.path.join(os.path.dirname(__file__), "crash_writer.py")
ROUNDS = 24


def _run_and_kill(path: str, round_no: int, rng: random.Random) -> list[tuple[int, str, int]]:
    proc = subprocess.Popen([sys.executable, WRITER, path, str(round_no)], stdout=subprocess.PIPE, text=True)
    time.sleep(rng.uniform(0.3, 1.2))
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate()
    acked = []
    for line in out.splitlines():
        tx, rnd, thread, seq, n = line.split()
        acked.append((int(tx), f"r{rnd}/t{thread}/{seq}/", int(n)))
    return acked


def _check(path: str, acked: list[tuple[int, str, int]]) -> None:
    with Store.open(path) as store:
        for tx, prefix, n in acked:
            for j in range(n):
                entry = store.get(f"{prefix}{j}-of-{n}".encode())
                assert entry is not None and entry.tx_id == tx, f"acknowledged tx {tx} lost ({prefix})"
        # every transaction in the log is whole: all n keys of it, written by it
        groups: dict[bytes, list] = defaultdict(list)
        for entry in store.scan():
            groups[entry.key.rsplit(b"/", 1)[0]].append(entry)
        for prefix, entries in groups.items():
            n = int(re.search(rb"-of-(\d+)$", entries[0].key).group(1))
            assert len(entries) == n, f"partial transaction visible: {prefix!r} has {len(entries)} of {n}"
            assert len({e.tx_id for e in entries}) == 1
    report = verify_store(path)
    assert report.ok, report.problem


def test_sigkill_loses_no_acknowledged_transaction(tmp_path):
    path = str(tmp_path / "store")
    rng = random.Random(1234)
    acked: list[tuple[int, str, int]] = []
    for round_no in range(ROUNDS):
        acked += _run_and_kill(path, round_no, rng)
        if round_no % 6 == 5:
            _check(path, acked)
    _check(path, acked)
    assert len(acked) > 200, "the writer barely ran; the test proves little"
    verify = subprocess.run([sys.executable, "-m", "immusql.cli", "verify", "--data-dir", path], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr
