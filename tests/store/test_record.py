"""Transaction records: entries encoded ahead of the commit (EntryRun) give the very bytes and root of a plain encoding."""

from __future__ import annotations

import random

import pytest

from immusql.store import record


def _entries(rng: random.Random, n: int) -> tuple[list[bytes], list[bytes | None]]:
    keys = [b"k%06d" % i for i in rng.sample(range(10 * n + 10), n)]
    values = [None if rng.random() < 0.1 else rng.randbytes(rng.randrange(0, 40)) for _ in range(n)]
    return keys, values


@pytest.mark.parametrize("seed", range(40))
def test_runs_give_the_plain_encoding(seed):
    """Runs anywhere among the entries, with gaps encoded at the commit, give encode_entries' bytes and root."""
    rng = random.Random(seed)
    keys, values = _entries(rng, rng.randint(1, 300))
    runs, at = [], 0
    while at < len(keys):
        end = min(len(keys), at + rng.randint(1, 80))
        if rng.random() < 0.6 and None not in values[at:end]:
            runs.append(record.encode_run(keys[at:end], values[at:end], at))
        at = end
    assert record.encode_runs(keys, values, runs) == record.encode_entries(keys, values)


def test_stale_runs_are_not_used():
    """A run whose entries were overwritten, reordered or moved is encoded again: the result is always the plain one."""
    rng = random.Random(5)
    keys, _ = _entries(rng, 100)
    values = [rng.randbytes(20) for _ in keys]
    runs = [record.encode_run(keys[:50], values[:50], 0), record.encode_run(keys[50:], values[50:], 50)]
    assert record.encode_runs(keys, values, runs) == record.encode_entries(keys, values)

    changed = list(values)
    changed[60] = bytes(changed[60])[:-1] + b"!"  # overwritten after the run was encoded
    assert record.encode_runs(keys, changed, runs) == record.encode_entries(keys, changed)
    equal_copy = list(values)
    equal_copy[10] = bytes(bytearray(values[10]))  # equal but another object: still encoded again, and alike
    assert record.encode_runs(keys, equal_copy, runs) == record.encode_entries(keys, values)
    swapped = keys[50:] + keys[:50]
    assert record.encode_runs(swapped, values[50:] + values[:50], runs) == record.encode_entries(swapped, values[50:] + values[:50])
    shorter = keys[:70]  # entries taken back
    assert record.encode_runs(shorter, values[:70], runs) == record.encode_entries(shorter, values[:70])
    longer = [b"first"] + keys  # entries before the runs: they are not at their place any more
    assert record.encode_runs(longer, [b"v"] + values, runs) == record.encode_entries(longer, [b"v"] + values)
    overlapping = [record.encode_run(keys[:60], values[:60], 0), runs[1]]
    assert record.encode_runs(keys, values, overlapping) == record.encode_entries(keys, values)


def test_runs_that_fit_are_taken_as_they_are():
    """encode_runs does not encode a fitting run again: a (forged) run's bytes and nodes are what it returns."""
    keys, values = [b"a", b"b"], [b"1", b"2"]
    forged = record.EntryRun(keys[1:], values[1:], b"<forged>", 1, [(0, b"\x07" * 32)])
    blob, root = record.encode_runs(keys, values, [forged])
    plain_first, _ = record.encode_entries(keys[:1], values[:1])
    assert blob == plain_first + b"<forged>"
    assert root != record.encode_entries(keys, values)[1]
