"""Store benchmark: the figures issue #2 names, measured on the machine it runs on.

    python benchmarks/bench_store.py [--quick] [--dir DIR]

Every write figure counts a transaction only once it is durable (fsync on) and
indexed (the run ends when the index has applied the last commit). Medians of
several repetitions are printed where a figure is short enough to repeat.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable

from immusql.proofs import Verifier
from immusql.store import Store, StoreOptions


def fsync_rate(directory: str, seconds: float = 2.0) -> float:
    """Appends of 150 bytes, each followed by fdatasync, per second, on this disk."""
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    data = os.urandom(150)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        os.write(fd, data)
        os.fdatasync(fd)
        count += 1
    elapsed = time.perf_counter() - start
    os.close(fd)
    os.unlink(path)
    return count / elapsed


def run_threads(n: int, work: Callable[[int], None]) -> float:
    """Run work(i) in n threads; wall seconds."""
    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def batched_writes(directory: str, writers: int, txs: int, entries: int = 1000) -> tuple[float, float]:
    """(entries/s durable and indexed, entries/s acknowledged) for txs of 1000 entries, 32-byte keys, 100-byte values."""
    path = os.path.join(directory, f"batched-{writers}")
    rng = random.Random(writers)
    batches = [[(rng.randbytes(32), rng.randbytes(100)) for _ in range(entries)] for _ in range(txs)]
    with Store.open(path) as store:
        per_writer = txs // writers

        def work(i: int) -> None:
            for ops in batches[i * per_writer : (i + 1) * per_writer]:
                store.commit(ops)

        start = time.perf_counter()
        acked = run_threads(writers, work)
        store.wait_indexed()
        indexed = time.perf_counter() - start
    shutil.rmtree(path)
    total = per_writer * writers * entries
    return total / indexed, total / acked


def single_entry_txs(directory: str, writers: int, seconds: float) -> float:
    """Single-entry transactions per second (durable and indexed) from ``writers`` threads."""
    path = os.path.join(directory, f"single-{writers}")
    counts = [0] * writers
    with Store.open(path) as store:
        stop = time.perf_counter() + seconds

        def work(i: int) -> None:
            n = 0
            key = b"writer-%03d-" % i
            while time.perf_counter() < stop:
                store.set(key + b"%08d" % n, b"v" * 100)
                n += 1
            counts[i] = n

        start = time.perf_counter()
        run_threads(writers, work)
        store.wait_indexed()
        elapsed = time.perf_counter() - start
    shutil.rmtree(path)
    return sum(counts) / elapsed


def proofs_of_one_large_tx(directory: str, entries: int = 1000) -> float:
    """Entry proofs per second when proving every entry of one 1000-entry transaction (a bulk insert's rows)."""
    path = os.path.join(directory, "large-tx")
    with Store.open(path) as store:
        ops = [(b"row/%06d" % i, os.urandom(100)) for i in range(entries)]
        store.commit(ops)
        store.checkpoint()
        start = time.perf_counter()
        for key, _ in ops:
            store.prove_entry(key)
        elapsed = time.perf_counter() - start
    shutil.rmtree(path)
    return entries / elapsed


def build_store(path: str, txs: int, writers: int = 8) -> list[bytes]:
    """A store of ``txs`` single-entry transactions (fsync off while loading); returns its keys."""
    keys = [b"key-%012d" % i for i in range(txs)]
    with Store.open(path, StoreOptions(sync=False)) as store:
        per = txs // writers

        def work(i: int) -> None:
            for key in keys[i * per : (i + 1) * per]:
                store.set(key, b"value-" + key)

        run_threads(writers, work)
        store.wait_indexed()
    return keys[: per * writers]


def timed(count: int, fn: Callable[[], None], repeat: int = 5) -> float:
    """Median operations per second of ``count`` calls of fn over ``repeat`` runs."""
    rates = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(count):
            fn()
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates)


def reads_and_proofs(path: str, keys: list[bytes], n: int) -> dict[str, float]:
    rng = random.Random(5)
    results: dict[str, float] = {}
    start = time.perf_counter()
    store = Store.open(path)
    store.get(keys[0])
    results["open_s"] = time.perf_counter() - start
    store.set(b"written-after-open", b"x")
    store.get(b"written-after-open")  # waits for the new index process to apply the write
    results["open_write_read_s"] = time.perf_counter() - start
    with store:
        size = store.tx_id
        sample = [rng.choice(keys) for _ in range(n)]
        it = iter(sample * 10)
        results["get_latest_per_s"] = timed(n, lambda: store.get(next(it)))
        pairs = iter([(rng.choice(keys), rng.randrange(1, size + 1)) for _ in range(n * 10)])
        results["get_as_of_per_s"] = timed(n, lambda: store.get(*next(pairs)))
        for key in sample[: n // 4]:  # warm-up, untimed: steady state, not a cold page cache
            store.prove_entry(key)
        proof_keys = iter(sample * 10)
        results["prove_per_s"] = timed(n // 4, lambda: store.prove_entry(next(proof_keys)))
        proofs = [store.prove_entry(key) for key in sample[: n // 4]]  # kept apart: retaining them skews GC
        verifier = Verifier(store.verifier_key())
        to_verify = iter(proofs * 10)
        results["verify_per_s"] = timed(n // 4, lambda: verifier.verify_entry(next(to_verify)))
        results["consistency_per_s"] = timed(n // 4, lambda: store.prove_consistency(rng.randrange(1, size), size))
    return results


def _print(line: str) -> None:
    print(line, flush=True)


def write_figures(base: str, quick: bool, log: Callable[[str], None] = _print) -> dict[str, float]:
    """The disk's fsync rate, batched writes (1 and 4 writers) and single-entry transactions (1 and 16 writers), under ``base``."""
    results: dict[str, float] = {}
    results["fsync_per_s"] = fsync_rate(base)
    log(f"fsync (150-byte append + fdatasync): {results['fsync_per_s']:,.0f}/s")
    for writers in (1, 4):
        indexed, acked = batched_writes(base, writers, 40 if quick else 400)
        results[f"batched_{writers}w_entries_per_s"] = indexed
        results[f"batched_{writers}w_acked_per_s"] = acked
        log(f"batched writes, 1000 entries/tx, {writers} writer(s): {indexed:,.0f} entries/s durable+indexed ({acked:,.0f}/s acknowledged)")
    for writers in (1, 16):
        rate = single_entry_txs(base, writers, 2.0 if quick else 8.0)
        results[f"single_{writers}w_tx_per_s"] = rate
        extra = f" = {rate / results['fsync_per_s']:.0%} of the fsync rate" if writers == 1 else ""
        log(f"single-entry transactions, {writers} writer(s): {rate:,.0f} tx/s{extra}")
    return results


def read_figures(base: str, quick: bool, log: Callable[[str], None] = _print) -> dict[str, float]:
    """Proofs of a large transaction, then gets, proofs and open time on a store of 1,000,000 transactions (20,000 if quick)."""
    results: dict[str, float] = {}
    results["large_tx_proofs_per_s"] = proofs_of_one_large_tx(base)
    log(f"entry proofs of all entries of one 1000-entry transaction: {results['large_tx_proofs_per_s']:,.0f}/s")
    txs = 20_000 if quick else 1_000_000
    path = os.path.join(base, "big")
    start = time.perf_counter()
    keys = build_store(path, txs)
    results["store_txs"] = len(keys)
    log(f"built a store of {len(keys):,} transactions in {time.perf_counter() - start:.0f} s (fsync off while loading)")
    figures = reads_and_proofs(path, keys, 2_000 if quick else 20_000)
    shutil.rmtree(path, ignore_errors=True)
    results.update(figures)
    log(f"open a store of {len(keys):,} transactions: first get answered after {figures['open_s']:.3f} s, a write read back through the new index process after {figures['open_write_read_s']:.3f} s")
    log(f"get latest: {figures['get_latest_per_s']:,.0f}/s; get as of a tx: {figures['get_as_of_per_s']:,.0f}/s")
    log(f"entry proofs at {len(keys):,} txs: generate {figures['prove_per_s']:,.0f}/s, verify {figures['verify_per_s']:,.0f}/s; consistency proofs {figures['consistency_per_s']:,.0f}/s")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="where to put the stores (default: a temp dir on the disk under test)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    base = tempfile.mkdtemp(prefix="immusql-bench-", dir=args.dir)
    try:
        results = write_figures(base, args.quick)
        results.update(read_figures(base, args.quick))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)

if __name__ == "__main__":
    main()
