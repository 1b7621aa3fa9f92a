"""Offline verification of a store: every hash and the whole tree, against its signed checkpoints.

Trusts nothing derived (the index is not read): each record's frame, header,
entries and entries_root are recomputed, the log tree is rebuilt leaf by leaf,
and its root at each checkpoint's size must equal the signed root.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from immusql.proofs import merkle
from immusql.proofs.hashing import TxHeader, leaf_hash
from immusql.proofs.note import Checkpoint, NoteError, open_checkpoint, vkey
from immusql.store import record
from immusql.store.checkpoints import load_key, public_bytes, read_notes
from immusql.store.framing import BadFrame
from immusql.store.layout import Layout
from immusql.store.segments import iter_records, list_segments, segment_path
from immusql.store.tree import Frontier

Progress = Callable[[int, int], None]  # (bytes checked, bytes in all)


@dataclass(frozen=True, slots=True)
class Report:
    """What verification found; ``ok`` is False with ``bad_tx`` and ``problem`` set at the first failure."""

    path: str
    ok: bool
    tx_count: int
    checkpoint_size: int
    problem: str = ""
    bad_tx: int | None = None


def store_vkey(path: str, key_file: str | None = None) -> str:
    """The verifier key of the store at ``path``, from its signing key (its own, or ``key_file``: a server's one key)."""
    import json

    layout = Layout(path)
    with open(layout.config) as f:
        origin = json.load(f)["origin"]
    return vkey(origin, public_bytes(load_key(key_file or layout.signing_key)))


def verify_store(path: str, verifier_key: str | None = None, progress: Progress | None = None, key_file: str | None = None) -> Report:
    """Check the store at ``path`` end to end; ``verifier_key`` pins the key (default: from its signing key, see store_vkey)."""
    layout = Layout(path)
    key = verifier_key or store_vkey(path, key_file)
    checkpoints: list[Checkpoint] = []
    for item in read_notes(layout.checkpoints):
        if isinstance(item, BadFrame):
            return Report(path, False, 0, 0, f"checkpoint log damaged at offset {item.offset}: {item.reason}")
        try:
            checkpoints.append(open_checkpoint(item, key))
        except (NoteError, ValueError) as exc:
            return Report(path, False, 0, 0, f"checkpoint {len(checkpoints) + 1} does not verify: {exc}")
    for older, newer in zip(checkpoints, checkpoints[1:]):
        if newer.size < older.size:
            return Report(path, False, 0, 0, f"checkpoint of size {newer.size} follows one of size {older.size}")
    pending = {c.size: c for c in checkpoints}
    signed = checkpoints[-1].size if checkpoints else 0

    total = sum(os.path.getsize(segment_path(layout.log, s)) for s in list_segments(layout.log))
    frontier = Frontier()
    expected = 1
    done = 0

    def fail(problem: str) -> Report:
        return Report(path, False, expected - 1, signed, f"tx {expected}: {problem}", expected)

    for item in iter_records(layout.log):
        if isinstance(item[1], BadFrame):
            segment, bad = item
            return fail(f"{bad.reason} (segment {segment}, offset {bad.offset})")
        location, payload = item
        try:
            header = TxHeader.decode(payload)
            if header.tx_id != expected:
                return fail(f"record holds tx id {header.tx_id} (segment {location.segment}, offset {location.offset})")
            _, entries = record.decode(payload)
        except ValueError as exc:
            return fail(f"malformed record: {exc} (segment {location.segment}, offset {location.offset})")
        if merkle.root(record.entry_leaves(entries)) != header.entries_root:
            return fail(f"entries do not hash to the entries_root in its header (segment {location.segment}, offset {location.offset})")
        frontier.append(leaf_hash(payload[: header.size]))
        checkpoint = pending.get(expected)
        if checkpoint is not None and frontier.root() != checkpoint.root:
            return fail(f"the log's root at size {expected} differs from the signed checkpoint's")
        expected += 1
        done += location.size
        if progress is not None and expected % 1024 == 0:
            progress(done, total)
    if progress is not None:
        progress(total, total)
    if signed > expected - 1:
        return fail(f"missing: the log ends at tx {expected - 1} but a signed checkpoint covers tx {signed}")
    return Report(path, True, expected - 1, signed)


def find_stores(path: str) -> list[str]:
    """The store directories at or below ``path`` (a store, or a server data directory)."""
    if Layout.is_store(path):
        return [path]
    found = []
    for root, dirs, _ in os.walk(path):
        dirs.sort()
        for name in list(dirs):
            candidate = os.path.join(root, name)
            if Layout.is_store(candidate):
                found.append(candidate)
                dirs.remove(name)
    return found
