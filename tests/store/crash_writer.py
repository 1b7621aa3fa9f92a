"""Writes transactions from four threads until killed, printing each acknowledged one.

Each line is ``tx_id round thread seq n``; the transaction wrote keys
``r{round}/t{thread}/{seq}/{j}-of-{n}`` for j < n, so a reader can tell a
partial transaction from a whole one.
"""

import random
import sys
import threading

from immusql.store import Store


def main(path: str, round_no: int) -> None:
    store = Store.open(path)
    out = threading.Lock()

    def write(thread: int) -> None:
        rng = random.Random(round_no * 100 + thread)
        seq = 0
        while True:
            n = rng.randrange(1, 9)
            ops = [(f"r{round_no}/t{thread}/{seq}/{j}-of-{n}".encode(), rng.randbytes(rng.randrange(0, 3000))) for j in range(n)]
            tx = store.commit(ops)
            with out:
                sys.stdout.write(f"{tx} {round_no} {thread} {seq} {n}\n")
                sys.stdout.flush()
            seq += 1

    threads = [threading.Thread(target=write, args=(t,), daemon=True) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
