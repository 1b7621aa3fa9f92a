"""Store.follow: another process's read-only view of a store, as of the last transaction its owner acknowledged."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from immusql.store import Store

_CHILD = textwrap.dedent('''
    import sys
    import time

    from immusql.errors import StoreError
    from immusql.store import Store

    follower = Store.follow(sys.argv[1])
    for line in sys.stdin:
        command, _, key = line.strip().partition(" ")
        if command == "get":
            while not follower.refresh():  # the index process applies a commit a moment after it is acknowledged
                time.sleep(0.001)
            entry = follower.get(key.encode())
            print(follower.tx_id, entry and (entry.value.decode(), entry.tx_id, entry.revision), flush=True)
        else:
            try:
                follower.set(b"k", b"v")
            except StoreError as exc:
                print("refused:", exc, flush=True)
    follower.close()
''')


def test_a_follower_reads_what_was_acknowledged_and_never_writes(tmp_path) -> None:
    path = str(tmp_path / "store")
    with Store.open(path) as store:
        store.set(b"a", b"1")
        child = subprocess.Popen([sys.executable, "-c", _CHILD, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

        def ask(line: str) -> str:
            child.stdin.write(line + "\n")
            child.stdin.flush()
            return child.stdout.readline().strip()

        try:
            assert ask("get a") == "1 ('1', 1, 1)"
            for n in range(2, 40):  # each read right after the commit: the follower sees it once its index has it
                tx = store.set(b"a", str(n).encode())
                assert ask("get a") == f"{tx} ('{n}', {tx}, {n})"
            assert ask("get nothing") == f"{tx} None"
            assert ask("set").startswith("refused:")
            assert store.get(b"k") is None
        finally:
            child.stdin.close()
            assert child.wait(timeout=30) == 0
