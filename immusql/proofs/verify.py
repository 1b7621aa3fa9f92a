"""Verification of immusql-proof/v1 entry proofs and RFC 9162 consistency proofs against signed checkpoints."""

from __future__ import annotations

import json
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from immusql.proofs.hashing import DELETED, TxHeader, decode_entry_leaf, entry_leaf
from immusql.proofs.merkle import root as merkle_root
from immusql.proofs.merkle import root_from_inclusion, verify_consistency
from immusql.proofs.note import Checkpoint, NoteError, _ed25519_key, _open_checkpoint, parse_vkey

PROOF_FORMAT = "immusql-proof/v1"
TX_PROOF_FORMAT = "immusql-tx-proof/v1"
_MAX_PATH = 64  # tree sizes are u64, so no inclusion path is longer
_MAX_CONSISTENCY_PATH = 2 * _MAX_PATH
_CACHE_SIZE = 64


class ProofError(ValueError):
    """A proof is malformed or does not prove what it claims; the message says what did not match."""


@dataclass(frozen=True, slots=True)
class VerifiedEntry:
    """An entry a proof showed to be in the log, with the transaction and checkpoint it was proven under."""

    key: bytes
    value: bytes
    deleted: bool
    tx_id: int
    commit_time_us: int
    checkpoint: Checkpoint
    meta: bytes


@dataclass(frozen=True, slots=True)
class VerifiedTx:
    """A whole transaction a tx proof showed to be in the log: its header fields and every entry, in order."""

    tx_id: int
    commit_time_us: int
    meta: bytes
    entries: tuple[VerifiedEntry, ...]
    checkpoint: Checkpoint


def _load(proof: dict[str, Any] | str | bytes) -> dict[str, Any]:
    if isinstance(proof, (str, bytes, bytearray)):
        try:
            proof = json.loads(proof)
        except (ValueError, RecursionError) as exc:
            raise ProofError(f"proof is not valid JSON: {exc}") from None
    if not isinstance(proof, dict):
        raise ProofError("proof must be a JSON object")
    return proof


def _field(proof: dict[str, Any], name: str) -> Any:
    try:
        return proof[name]
    except KeyError:
        raise ProofError(f"proof has no {name!r} field") from None


def _int(proof: dict[str, Any], name: str) -> int:
    value = _field(proof, name)
    if type(value) is not int or value < 0:  # bools are ints in Python; JSON true is not a size
        raise ProofError(f"{name} must be a non-negative integer, not {value!r:.40}")
    return value


def _hex(proof: dict[str, Any], name: str) -> bytes:
    text = _field(proof, name)
    if type(text) is not str:
        raise ProofError(f"{name} must be a hex string")
    try:
        data = bytes.fromhex(text)
    except ValueError:
        raise ProofError(f"{name} is not hex") from None
    if 2 * len(data) != len(text):  # fromhex skips whitespace; a proof has none
        raise ProofError(f"{name} is not plain hex")
    return data


def _hashes(proof: dict[str, Any], name: str, limit: int) -> list[bytes]:
    items = _field(proof, name)
    if type(items) is not list and type(items) is not tuple:
        raise ProofError(f"{name} must be a list of hex hashes")
    if len(items) > limit:
        raise ProofError(f"{name} has {len(items)} hashes, more than any tree needs")
    fromhex = bytes.fromhex
    out = []
    for item in items:
        # 64 chars decoding to 32 bytes means plain hex with no whitespace.
        if type(item) is not str or len(item) != 64:
            raise ProofError(f"{name} holds something that is not a 64-digit hex hash")
        try:
            digest = fromhex(item)
        except ValueError:
            raise ProofError(f"{name} holds a hash that is not hex") from None
        if len(digest) != 32:
            raise ProofError(f"{name} holds a hash that is not plain hex")
        out.append(digest)
    return out


class Verifier:
    """Checks proofs from one log, pinned by its verifier key; signed checkpoints are checked once and cached."""

    __slots__ = ("vkey", "origin", "_kid", "_public", "_cache")

    def __init__(self, vkey: str) -> None:
        try:
            name, kid, public = parse_vkey(vkey)
            self._public = _ed25519_key(public)
        except NoteError as exc:
            raise ProofError(f"bad verifier key: {exc}") from None
        self.vkey = vkey
        self.origin = name
        self._kid = kid
        self._cache: dict[str, Checkpoint] = {}

    def checkpoint(self, note: str) -> Checkpoint:
        """The checkpoint of a signed note, after checking its signature and origin against this key."""
        cached = self._cache.get(note) if type(note) is str else None
        if cached is not None:
            return cached  # keyed by the exact note text, so any altered note is checked afresh
        if type(note) is not str:
            raise ProofError("checkpoint must be the signed note's text")
        try:
            checkpoint = _open_checkpoint(note, self.origin, self._kid, self._public)
        except NoteError as exc:
            raise ProofError(f"checkpoint does not verify: {exc}") from None
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()  # simple bound; safe with concurrent readers
        self._cache[note] = checkpoint
        return checkpoint

    def verify_entry(self, proof: dict[str, Any] | str) -> VerifiedEntry:
        """Check an immusql-proof/v1 entry proof end to end and return the entry it proves."""
        proof = _load(proof)
        if proof.get("format") != PROOF_FORMAT:
            raise ProofError(f"proof format is {proof.get('format')!r:.40}, not {PROOF_FORMAT!r}")
        checkpoint, header = self._tx_in_checkpoint(proof)
        tx_id = header.tx_id

        entry_index = _int(proof, "entry_index")
        if entry_index >= header.n_entries:
            raise ProofError(f"entry_index {entry_index} is not below the tx's {header.n_entries} entries")
        entry_leaf = _hex(proof, "entry_leaf")
        try:
            leaf_key, flags, leaf_value_hash = decode_entry_leaf(entry_leaf)
        except ValueError as exc:
            raise ProofError(f"entry_leaf is malformed: {exc}") from None
        key = _hex(proof, "key")
        value = _hex(proof, "value")
        if leaf_key != key:
            raise ProofError("key does not match the entry_leaf's key")
        if flags & ~DELETED:
            raise ProofError(f"entry_leaf has unknown flags {flags:#04x}")
        if sha256(value).digest() != leaf_value_hash:
            raise ProofError("value does not match the entry_leaf's value hash")
        deleted = bool(flags & DELETED)
        if deleted and value:
            raise ProofError("entry_leaf is a deletion but the value is not empty")
        entry_path = _hashes(proof, "entry_path", _MAX_PATH)
        try:
            root = root_from_inclusion(sha256(b"\x00" + entry_leaf).digest(), entry_index, header.n_entries, entry_path)
        except ValueError as exc:
            raise ProofError(f"entry_path: {exc}") from None
        if root != header.entries_root:
            raise ProofError(f"entry_path does not lead from entry {entry_index} to the tx's entries_root")
        return VerifiedEntry(key, value, deleted, tx_id, header.commit_time_us, checkpoint, header.meta)

    def _tx_in_checkpoint(self, proof: dict[str, Any]) -> tuple[Checkpoint, TxHeader]:
        """Check a proof's checkpoint, tx_leaf and tx_path (the tx is leaf tx_id-1 of the checkpoint's tree)."""
        checkpoint = self.checkpoint(_field(proof, "checkpoint"))
        tree_size = _int(proof, "tree_size")
        if tree_size != checkpoint.size:
            raise ProofError(f"proof tree_size {tree_size} is not the checkpoint's size {checkpoint.size}")
        tx_id = _int(proof, "tx_id")
        if not 1 <= tx_id <= tree_size:
            raise ProofError(f"tx {tx_id} is not in a log of {tree_size} transactions")
        tx_leaf = _hex(proof, "tx_leaf")
        try:
            header = TxHeader.decode(tx_leaf)
        except ValueError as exc:
            raise ProofError(f"tx_leaf is malformed: {exc}") from None
        if header.size != len(tx_leaf):
            raise ProofError(f"tx_leaf has {len(tx_leaf) - header.size} bytes after its header")
        if header.tx_id != tx_id:
            raise ProofError(f"tx_leaf is of tx {header.tx_id}, the proof claims tx {tx_id}")
        tx_path = _hashes(proof, "tx_path", _MAX_PATH)
        try:
            tree_root = root_from_inclusion(sha256(b"\x00" + tx_leaf).digest(), tx_id - 1, tree_size, tx_path)
        except ValueError as exc:
            raise ProofError(f"tx_path: {exc}") from None
        if tree_root != checkpoint.root:
            raise ProofError(f"tx_path does not lead from tx {tx_id} to the checkpoint's root")
        return checkpoint, header

    def verify_tx(self, proof: dict[str, Any] | str) -> VerifiedTx:
        """Check an immusql-tx-proof/v1 (a tx's leaf in a checkpoint plus all its entries) and return the tx."""
        proof = _load(proof)
        if proof.get("format") != TX_PROOF_FORMAT:
            raise ProofError(f"proof format is {proof.get('format')!r:.40}, not {TX_PROOF_FORMAT!r}")
        checkpoint, header = self._tx_in_checkpoint(proof)
        items = _field(proof, "entries")
        if type(items) is not list:
            raise ProofError("entries must be a list")
        if len(items) != header.n_entries:
            raise ProofError(f"proof has {len(items)} entries, the tx_leaf says {header.n_entries}")
        entries, leaf_hashes = [], []
        for i, item in enumerate(items):
            if type(item) is not dict:
                raise ProofError(f"entries[{i}] must be a JSON object")
            key = _hex(item, "key")
            value = _hex(item, "value")
            flags = _int(item, "flags")
            if flags & ~DELETED:
                raise ProofError(f"entries[{i}] has unknown flags {flags:#x}")
            deleted = bool(flags & DELETED)
            if deleted and value:
                raise ProofError(f"entries[{i}] is a deletion but its value is not empty")
            try:
                leaf = entry_leaf(key, flags, sha256(value).digest())
            except ValueError as exc:
                raise ProofError(f"entries[{i}]: {exc}") from None
            leaf_hashes.append(sha256(b"\x00" + leaf).digest())
            entries.append(VerifiedEntry(key, value, deleted, header.tx_id, header.commit_time_us, checkpoint, header.meta))
        if merkle_root(leaf_hashes) != header.entries_root:
            raise ProofError(f"entries do not hash to the entries_root of tx {header.tx_id}")
        return VerifiedTx(header.tx_id, header.commit_time_us, header.meta, tuple(entries), checkpoint)

    def verify_consistency(self, proof: dict[str, Any] | str, old_note: str, new_note: str) -> tuple[Checkpoint, Checkpoint]:
        """Check that the log of ``old_note``'s checkpoint is a prefix of ``new_note``'s; return both checkpoints."""
        old_size, new_size, path = _consistency_fields(proof)
        old = self.checkpoint(old_note)
        new = self.checkpoint(new_note)
        if old.size != old_size:
            raise ProofError(f"proof old_size {old_size} is not the old checkpoint's size {old.size}")
        if new.size != new_size:
            raise ProofError(f"proof new_size {new_size} is not the new checkpoint's size {new.size}")
        _check_consistency(old_size, new_size, old.root, new.root, path)
        return old, new


def _consistency_fields(proof: dict[str, Any] | str) -> tuple[int, int, list[bytes]]:
    proof = _load(proof)
    old_size = _int(proof, "old_size")
    new_size = _int(proof, "new_size")
    if old_size > new_size:
        raise ProofError(f"old_size {old_size} is larger than new_size {new_size}")
    return old_size, new_size, _hashes(proof, "path", _MAX_CONSISTENCY_PATH)


def _check_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: list[bytes]) -> None:
    if not verify_consistency(old_size, new_size, old_root, new_root, path):
        raise ProofError(f"path does not prove the tree of size {old_size} is a prefix of the tree of size {new_size}")


def verify_entry_proof(proof: dict[str, Any] | str, vkey: str) -> VerifiedEntry:
    """One-shot verify_entry; build a Verifier instead to check many proofs against one key."""
    return Verifier(vkey).verify_entry(proof)


def verify_consistency_proof(proof: dict[str, Any] | str, old_root: bytes, new_root: bytes) -> None:
    """Check a consistency proof between two trusted roots; ProofError if it does not verify.

    RFC 9162 binds a path to roots, not sizes: the caller must know the roots are
    of the proof's old_size and new_size (Verifier.verify_consistency checks that).
    """
    if len(old_root) != 32 or len(new_root) != 32:
        raise ProofError("roots must be 32-byte SHA-256 hashes")
    old_size, new_size, path = _consistency_fields(proof)
    _check_consistency(old_size, new_size, old_root, new_root, path)
