"""Entry and consistency proof verification, on small logs built here from the naive RFC 9162 code."""

from __future__ import annotations

import base64
import copy
import json
import random
from dataclasses import dataclass
from hashlib import sha256

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from immusql.proofs import (
    DELETED,
    EMPTY_HASH,
    Checkpoint,
    ProofError,
    TxHeader,
    VerifiedEntry,
    VerifiedTx,
    Verifier,
    sign_checkpoint,
    verify_consistency_proof,
    verify_entry_proof,
    vkey,
)
from immusql.proofs.hashing import TX_HEADER_SIZE, decode_entry_leaf, entry_leaf
from tests.proofs import rfc9162_naive as naive

ORIGIN = "example.com/immusql-test"


# -- building logs by hand ------------------------------------------------------------------


def entry_bytes(key: bytes, flags: int, value: bytes) -> bytes:
    """entry_leaf written out from the format, independently of the package."""
    return len(key).to_bytes(2, "big") + key + bytes((flags,)) + sha256(value).digest()


def tx_bytes(tx_id: int, time_us: int, n: int, root: bytes, meta: bytes) -> bytes:
    """tx_leaf written out from the format, independently of the package."""
    return (
        b"\x01" + tx_id.to_bytes(8, "big") + time_us.to_bytes(8, "big") + n.to_bytes(4, "big") + root
        + len(meta).to_bytes(2, "big") + meta
    )


@dataclass
class Tx:
    tx_id: int
    time_us: int
    meta: bytes
    entries: list[tuple[bytes, int, bytes]]  # key, flags, value
    leaf: bytes = b""  # tx_leaf; set by make_log unless forged

    @property
    def entry_leaves(self) -> list[bytes]:
        return [entry_bytes(k, f, v) for k, f, v in self.entries]


@dataclass
class Log:
    key: Ed25519PrivateKey
    txs: list[Tx]

    @property
    def leaves(self) -> list[bytes]:
        return [tx.leaf for tx in self.txs]

    def root(self, size: int) -> bytes:
        return naive.MTH(self.leaves[:size])

    def checkpoint(self, size: int | None = None) -> str:
        size = len(self.txs) if size is None else size
        return sign_checkpoint(ORIGIN, size, self.root(size), self.key)

    @property
    def vkey(self) -> str:
        return vkey(ORIGIN, self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def proof(self, tx_id: int, index: int, size: int | None = None) -> dict:
        size = len(self.txs) if size is None else size
        tx = self.txs[tx_id - 1]
        key, flags, value = tx.entries[index]
        return {
            "format": "immusql-proof/v1",
            "checkpoint": self.checkpoint(size),
            "tree_size": size,
            "tx_id": tx_id,
            "tx_leaf": tx.leaf.hex(),
            "tx_path": [h.hex() for h in naive.PATH(tx_id - 1, self.leaves[:size])],
            "entry_index": index,
            "entry_leaf": tx.entry_leaves[index].hex(),
            "entry_path": [h.hex() for h in naive.PATH(index, tx.entry_leaves)],
            "key": key.hex(),
            "value": value.hex(),
        }


def random_tx(rng: random.Random, tx_id: int) -> Tx:
    entries = []
    keys = {rng.randbytes(rng.randint(1, 16)) for _ in range(rng.randint(1, 9))}
    for key in sorted(keys):
        if rng.random() < 0.2:
            entries.append((key, DELETED, b""))
        else:
            entries.append((key, 0, rng.randbytes(rng.randint(0, 40))))
    return Tx(tx_id, 1_700_000_000_000_000 + tx_id * 1000 + rng.randint(0, 999), rng.randbytes(rng.randint(0, 6)), entries)


def seal(tx: Tx) -> Tx:
    tx.leaf = tx_bytes(tx.tx_id, tx.time_us, len(tx.entries), naive.MTH(tx.entry_leaves), tx.meta)
    return tx


def make_log(n_tx: int, seed: int = 0, key: Ed25519PrivateKey | None = None) -> Log:
    rng = random.Random(seed)
    return Log(key or Ed25519PrivateKey.generate(), [seal(random_tx(rng, i)) for i in range(1, n_tx + 1)])


@pytest.fixture(scope="module")
def log() -> Log:
    return make_log(13, seed=1)


# -- the format helpers agree with the hand-written encodings ----------------------------------


def test_package_encodings_match_the_format(log):
    for tx in log.txs:
        header = TxHeader(tx.tx_id, tx.time_us, len(tx.entries), naive.MTH(tx.entry_leaves), tx.meta)
        assert header.encode() == tx.leaf
        assert header.size == len(tx.leaf) == TX_HEADER_SIZE + len(tx.meta)
        assert TxHeader.decode(tx.leaf + b"trailing") == header
        assert TxHeader.decode(memoryview(tx.leaf)) == header
        for key, flags, value in tx.entries:
            leaf = entry_leaf(key, flags, sha256(value).digest())
            assert leaf == entry_bytes(key, flags, value)
            assert decode_entry_leaf(leaf) == (key, flags, sha256(value).digest())


def test_malformed_leaves_raise_value_error(log):
    leaf = TxHeader(7, 1, 2, bytes(32), b"meta").encode()
    for bad in [b"", leaf[: TX_HEADER_SIZE - 1], b"\x02" + leaf[1:], b"\x00" + leaf[1:], leaf[:-1], leaf[:TX_HEADER_SIZE]]:
        with pytest.raises(ValueError):
            TxHeader.decode(bad)
    good = entry_bytes(b"key", 0, b"v")
    for bad in [b"", good[:-1], good + b"x", b"\xff\xff" + good[2:]]:
        with pytest.raises(ValueError):
            decode_entry_leaf(bad)
    with pytest.raises(ValueError):
        entry_leaf(b"k" * 65536, 0, bytes(32))
    with pytest.raises(ValueError):
        TxHeader(2**64, 0, 0, bytes(32)).encode()


# -- accepting good proofs ----------------------------------------------------------------------


def test_every_entry_of_several_logs_verifies():
    for n_tx, seed in [(1, 2), (2, 3), (3, 4), (7, 5), (16, 6), (33, 7)]:
        log = make_log(n_tx, seed)
        verifier = Verifier(log.vkey)
        for tx in log.txs:
            for index, (key, flags, value) in enumerate(tx.entries):
                proof = log.proof(tx.tx_id, index)
                got = verifier.verify_entry(proof)
                assert got == VerifiedEntry(
                    key, value, flags == DELETED, tx.tx_id, tx.time_us, verifier.checkpoint(proof["checkpoint"]), tx.meta
                )
                assert got.checkpoint == Checkpoint(ORIGIN, n_tx, log.root(n_tx), proof["checkpoint"])


def test_proofs_against_older_checkpoints_verify(log):
    verifier = Verifier(log.vkey)
    for size in range(1, len(log.txs) + 1):
        for tx_id in range(1, size + 1):
            assert verifier.verify_entry(log.proof(tx_id, 0, size)).tx_id == tx_id


def test_json_text_and_one_shot_function(log):
    proof = log.proof(5, 0)
    assert verify_entry_proof(json.dumps(proof), log.vkey) == Verifier(log.vkey).verify_entry(proof)
    assert verify_entry_proof(json.dumps(proof).encode(), log.vkey).tx_id == 5


KEY = Ed25519PrivateKey.generate()
VERIFIER = Verifier(vkey(ORIGIN, KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)))


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 40), st.integers(0, 2**32), st.data())
def test_random_logs_verify(n_tx, seed, data):
    log = make_log(n_tx, seed, KEY)
    tx_id = data.draw(st.integers(1, n_tx))
    index = data.draw(st.integers(0, len(log.txs[tx_id - 1].entries) - 1))
    size = data.draw(st.integers(tx_id, n_tx))
    assert VERIFIER.verify_entry(log.proof(tx_id, index, size)).key == log.txs[tx_id - 1].entries[index][0]


# -- rejecting altered proofs ---------------------------------------------------------------------


def flip_hex(text: str, byte: int) -> str:
    data = bytearray.fromhex(text)
    data[byte] ^= 1 << (byte % 8)
    return data.hex()


def mutations(proof: dict):
    """(description, altered proof) for every field of ``proof`` in turn."""
    def altered(**changes):
        p = copy.deepcopy(proof)
        p.update(changes)
        return p

    for name in ("tx_leaf", "entry_leaf", "key", "value"):
        n = len(proof[name]) // 2
        for byte in range(n):
            yield f"{name} byte {byte}", altered(**{name: flip_hex(proof[name], byte)})
        yield f"{name} extended", altered(**{name: proof[name] + "00"})
        if n:
            yield f"{name} truncated", altered(**{name: proof[name][:-2]})
        yield f"{name} odd hex", altered(**{name: proof[name] + "0"})
        yield f"{name} not hex", altered(**{name: "zz" + proof[name]})
        yield f"{name} spaced", altered(**{name: " ".join([proof[name], "00"])})
        yield f"{name} not a string", altered(**{name: list(bytes.fromhex(proof[name]))})
    for name in ("tx_path", "entry_path"):
        path = proof[name]
        for i in range(len(path)):
            for byte in (0, 13, 31):
                yield f"{name}[{i}] byte {byte}", altered(**{name: path[:i] + [flip_hex(path[i], byte)] + path[i + 1 :]})
            yield f"{name}[{i}] dropped", altered(**{name: path[:i] + path[i + 1 :]})
            yield f"{name}[{i}] short", altered(**{name: path[:i] + [path[i][:-2]] + path[i + 1 :]})
            yield f"{name}[{i}] long", altered(**{name: path[:i] + [path[i] + "00"] + path[i + 1 :]})
            yield f"{name}[{i}] not hex", altered(**{name: path[:i] + ["g" + path[i][1:]] + path[i + 1 :]})
            yield f"{name}[{i}] spaced", altered(**{name: path[:i] + [" " + path[i][2:] + " "] + path[i + 1 :]})
        yield f"{name} extended", altered(**{name: path + ["00" * 32]})
        yield f"{name} prepended", altered(**{name: ["00" * 32] + path})
        if len(path) > 1:
            yield f"{name} reversed", altered(**{name: path[::-1]})
        yield f"{name} null", altered(**{name: None})
        yield f"{name} a string", altered(**{name: "".join(path)})
        yield f"{name} too long", altered(**{name: ["00" * 32] * 65})
    for name in ("tree_size", "tx_id", "entry_index"):
        for delta in (-1, 1):
            yield f"{name} {delta:+d}", altered(**{name: proof[name] + delta})
        yield f"{name} as string", altered(**{name: str(proof[name])})
        yield f"{name} as float", altered(**{name: float(proof[name])})
        yield f"{name} as bool", altered(**{name: bool(proof[name])})
        yield f"{name} null", altered(**{name: None})
        yield f"{name} huge", altered(**{name: proof[name] + 2**64})
    note = proof["checkpoint"]
    text, sigs = note.split("\n\n")
    for line_no in range(3):
        lines = text.split("\n")
        lines[line_no] = lines[line_no][:-1] + chr(ord(lines[line_no][-1]) ^ 1)
        yield f"checkpoint line {line_no}", altered(checkpoint="\n".join(lines) + "\n\n" + sigs)
    yield "checkpoint extension line", altered(checkpoint=text + "extra\n\n" + sigs)
    yield "checkpoint signature", altered(checkpoint=text + "\n\n" + sigs[:-6] + ("A" if sigs[-6] != "A" else "B") + sigs[-5:])
    yield "checkpoint unsigned", altered(checkpoint=text)
    yield "checkpoint not text", altered(checkpoint=note.encode())
    yield "value of another entry", altered(value="00" + proof["value"])
    yield "key of another entry", altered(key=proof["key"] + "00")
    for fmt in ("immusql-proof/v2", "", None, "IMMUSQL-PROOF/V1"):
        yield f"format {fmt!r}", altered(format=fmt)
    for name in proof:
        p = copy.deepcopy(proof)
        del p[name]
        yield f"no {name}", p


def picked_proofs(log: Log) -> list[dict]:
    proofs = [log.proof(1, 0), log.proof(len(log.txs), len(log.txs[-1].entries) - 1), log.proof(6, 0, 9)]
    deleted = [(tx.tx_id, i) for tx in log.txs for i, (_, flags, _) in enumerate(tx.entries) if flags]
    proofs.append(log.proof(*deleted[0]))
    return proofs


def test_every_field_mutation_is_rejected(log):
    verifier = Verifier(log.vkey)
    count = 0
    for proof in picked_proofs(log):
        verifier.verify_entry(proof)
        for description, bad in mutations(proof):
            with pytest.raises(ProofError):
                verifier.verify_entry(bad)
                pytest.fail(f"accepted a proof with {description}")
            count += 1
    assert count > 1000


def test_wrong_checkpoints_rejected(log):
    verifier = Verifier(log.vkey)
    proof = log.proof(4, 0)
    other_key = Ed25519PrivateKey.generate()
    cases = {
        "another key, same origin": sign_checkpoint(ORIGIN, len(log.txs), log.root(len(log.txs)), other_key),
        "right key, older size": log.checkpoint(len(log.txs) - 1),
        "right key, wrong root": sign_checkpoint(ORIGIN, len(log.txs), log.root(len(log.txs) - 1), log.key),
        "right key, other origin": sign_checkpoint("other.example", len(log.txs), log.root(len(log.txs)), log.key),
    }
    for description, note in cases.items():
        bad = dict(proof, checkpoint=note)
        with pytest.raises(ProofError):
            verifier.verify_entry(bad)
            pytest.fail(description)
    # Older checkpoint with a matching tree_size still fails: the path is for the newer tree.
    with pytest.raises(ProofError, match="tx_path"):
        verifier.verify_entry(dict(proof, checkpoint=cases["right key, older size"], tree_size=len(log.txs) - 1))


def test_not_a_proof_rejected(log):
    verifier = Verifier(log.vkey)
    for bad in ["", "{", "[]", "null", json.dumps([log.proof(1, 0)]), 42, None, "[" * 100_000]:
        with pytest.raises(ProofError):
            verifier.verify_entry(bad)


def test_bad_verifier_key_rejected():
    with pytest.raises(ProofError):
        Verifier("not a key")


# -- rejecting validly signed logs with bad leaves --------------------------------------------------


def forged_log(forge) -> tuple[Log, dict]:
    """A correctly signed log whose tx 3 was built by ``forge`` (a Tx -> Tx function), and a proof of its entry 0."""
    log = make_log(5, seed=9)
    log.txs[2] = forge(log.txs[2])
    return log, log.proof(3, 0)


def test_deletion_with_a_value_rejected():
    def forge(tx):
        key, _, _ = tx.entries[0]
        tx.entries[0] = (key, DELETED, b"ghost")
        return seal(tx)

    log, proof = forged_log(forge)
    with pytest.raises(ProofError, match="deletion"):
        Verifier(log.vkey).verify_entry(proof)


def test_unknown_entry_flags_rejected():
    def forge(tx):
        key, _, value = tx.entries[0]
        tx.entries[0] = (key, 2, value)
        return seal(tx)

    log, proof = forged_log(forge)
    with pytest.raises(ProofError, match="flags"):
        Verifier(log.vkey).verify_entry(proof)


def test_tx_leaf_with_trailing_bytes_rejected():
    def forge(tx):
        seal(tx).leaf += b"\x00"
        return tx

    log, proof = forged_log(forge)
    with pytest.raises(ProofError, match="after its header"):
        Verifier(log.vkey).verify_entry(proof)


def test_tx_leaf_of_another_tx_id_rejected():
    def forge(tx):
        tx.tx_id = 4
        return seal(tx)

    log, proof = forged_log(forge)
    proof["tx_id"] = 3
    with pytest.raises(ProofError, match="tx_leaf is of tx 4"):
        Verifier(log.vkey).verify_entry(proof)


def test_tx_leaf_of_unknown_version_rejected():
    def forge(tx):
        seal(tx).leaf = b"\x02" + tx.leaf[1:]
        return tx

    log, proof = forged_log(forge)
    with pytest.raises(ProofError, match="version"):
        Verifier(log.vkey).verify_entry(proof)


def test_entry_index_beyond_n_entries_rejected():
    # n_entries in the tx_leaf says 1 but the entries tree has more leaves.
    def forge(tx):
        tx.leaf = tx_bytes(tx.tx_id, tx.time_us, 1, naive.MTH(tx.entry_leaves), tx.meta)
        return tx

    log = make_log(8, seed=9)
    tx = next(tx for tx in log.txs if len(tx.entries) >= 2)
    forge(tx)
    for index in (0, 1):
        with pytest.raises(ProofError):
            Verifier(log.vkey).verify_entry(log.proof(tx.tx_id, index))


# -- consistency -------------------------------------------------------------------------------


def consistency(log: Log, old: int, new: int) -> dict:
    path = naive.PROOF(old, log.leaves[:new]) if 0 < old < new else []
    return {"old_size": old, "new_size": new, "path": [h.hex() for h in path]}


def test_consistency_between_signed_checkpoints(log):
    verifier = Verifier(log.vkey)
    n = len(log.txs)
    for old in range(0, n + 1):
        for new in range(old, n + 1):
            old_cp, new_cp = verifier.verify_consistency(consistency(log, old, new), log.checkpoint(old), log.checkpoint(new))
            assert (old_cp.size, new_cp.size) == (old, new)
            assert old_cp.root == (log.root(old) if old else EMPTY_HASH)
            verify_consistency_proof(json.dumps(consistency(log, old, new)), old_cp.root, new_cp.root)


def test_consistency_mutations_rejected(log):
    verifier = Verifier(log.vkey)
    for old, new in [(1, 13), (4, 13), (5, 13), (6, 9), (12, 13)]:
        proof = consistency(log, old, new)
        old_note, new_note = log.checkpoint(old), log.checkpoint(new)
        verifier.verify_consistency(proof, old_note, new_note)
        path = proof["path"]
        bad = []
        for i in range(len(path)):
            bad.append(dict(proof, path=path[:i] + [flip_hex(path[i], 7)] + path[i + 1 :]))
            bad.append(dict(proof, path=path[:i] + path[i + 1 :]))
        bad += [
            dict(proof, path=path + ["00" * 32]),
            dict(proof, path=[]),
            dict(proof, path=["zz" * 32]),
            dict(proof, old_size=new, new_size=old),
            dict(proof, old_size=True),
            dict(proof, new_size=str(new)),
            {"old_size": old, "new_size": new},
        ]
        for b in bad:
            with pytest.raises(ProofError):
                verifier.verify_consistency(b, old_note, new_note)
            with pytest.raises(ProofError):
                verify_consistency_proof(b, log.root(old), log.root(new))
        # A wrong size fails against the signed checkpoints, and against the roots of the
        # sizes it claims. (Against the original roots it may pass: RFC 9162 binds a path
        # to roots only, so verify_consistency_proof trusts the caller's roots to be of
        # the proof's sizes.)
        for o, n in [(old - 1, new), (old + 1, new), (old, new - 1), (old, new + 1)]:
            b = dict(proof, old_size=o, new_size=n)
            with pytest.raises(ProofError):
                verifier.verify_consistency(b, old_note, new_note)
            if n <= len(log.txs):  # (a size past the log has no root of its own)
                with pytest.raises(ProofError):
                    verify_consistency_proof(b, log.root(o) if o else EMPTY_HASH, log.root(n))
        with pytest.raises(ProofError):
            verifier.verify_consistency(proof, new_note, old_note)
        with pytest.raises(ProofError):
            verifier.verify_consistency(proof, old_note, log.checkpoint(new - 1))
        with pytest.raises(ProofError):
            verifier.verify_consistency(proof, sign_checkpoint(ORIGIN, old, log.root(old), Ed25519PrivateKey.generate()), new_note)
        with pytest.raises(ProofError):
            verify_consistency_proof(proof, log.root(old - 1) if old > 1 else bytes(32), log.root(new))
        with pytest.raises(ProofError):
            verify_consistency_proof(proof, log.root(old), log.root(new)[:31])


def test_forked_log_is_inconsistent():
    # Same key, two different histories: no proof from one connects to the other's checkpoint.
    a = make_log(10, seed=20)
    b = make_log(10, seed=20, key=a.key)
    b.txs[3] = seal(random_tx(random.Random(99), 4))
    verifier = Verifier(a.vkey)
    with pytest.raises(ProofError):
        verifier.verify_consistency(consistency(a, 5, 10), a.checkpoint(5), b.checkpoint(10))
    with pytest.raises(ProofError):
        verifier.verify_consistency(consistency(b, 5, 10), a.checkpoint(5), b.checkpoint(10))


# -- the checkpoint cache -------------------------------------------------------------------------


class CountingKey:
    def __init__(self, key):
        self.key, self.calls = key, 0

    def verify(self, signature, data):
        self.calls += 1
        return self.key.verify(signature, data)


def test_cache_checks_each_note_once(log):
    verifier = Verifier(log.vkey)
    counter = verifier._public = CountingKey(verifier._public)
    proofs = [log.proof(tx.tx_id, 0) for tx in log.txs]
    for proof in proofs * 3:
        verifier.verify_entry(proof)
    assert counter.calls == 1


def test_cache_does_not_accept_a_tampered_note(log):
    verifier = Verifier(log.vkey)
    proof = log.proof(2, 0)
    verifier.verify_entry(proof)
    note = proof["checkpoint"]
    text, sigs = note.split("\n\n")
    origin, size, root = text.split("\n")[:3]
    tampered = [
        f"{origin}\n{size}\n{base64.b64encode(bytes(32)).decode()}\n\n{sigs}",
        f"{origin}\n{int(size) + 1}\n{root}\n\n{sigs}",
        note + "\u2014 " + ORIGIN + " AAAA\n",  # extra line too short to be a signature: malformed
        note.replace("\u2014", "-"),
    ]
    for bad_note in tampered:
        for _ in range(2):  # rejected again: failures are not cached
            with pytest.raises(ProofError):
                verifier.checkpoint(bad_note)
            with pytest.raises(ProofError):
                verifier.verify_entry(dict(proof, checkpoint=bad_note))
    assert verifier.verify_entry(proof).tx_id == 2


def test_cache_is_bounded(log):
    verifier = Verifier(log.vkey)
    notes = [log.checkpoint(size) for size in range(1, 14)]
    more = [sign_checkpoint(ORIGIN, size, bytes(32), log.key) for size in range(100, 200)]
    for note in notes + more:
        verifier.checkpoint(note)
    assert len(verifier._cache) <= 64
    assert verifier.verify_entry(log.proof(1, 0)).tx_id == 1


# -- whole-transaction proofs (immusql-tx-proof/v1) --------------------------------------------------


def tx_proof(log: Log, tx_id: int, size: int | None = None) -> dict:
    """A tx proof as the server's immusql_tx_proof(n) gives it: the tx's leaf and path, and all its entries."""
    proof = log.proof(tx_id, 0, size)
    tx = log.txs[tx_id - 1]
    entries = [{"key": k.hex(), "flags": f, "value": v.hex()} for k, f, v in tx.entries]
    return {"format": "immusql-tx-proof/v1", "checkpoint": proof["checkpoint"], "tree_size": proof["tree_size"],
            "tx_id": tx_id, "tx_leaf": proof["tx_leaf"], "tx_path": proof["tx_path"], "entries": entries}


def test_tx_proofs_verify(log):
    verifier = Verifier(log.vkey)
    for size in (len(log.txs), 9):
        for tx in log.txs[:size]:
            got = verifier.verify_tx(tx_proof(log, tx.tx_id, size))
            assert isinstance(got, VerifiedTx)
            assert (got.tx_id, got.commit_time_us, got.meta) == (tx.tx_id, tx.time_us, tx.meta)
            assert [(e.key, e.deleted, e.value) for e in got.entries] == [(k, f == DELETED, v) for k, f, v in tx.entries]
            assert got.checkpoint == Checkpoint(ORIGIN, size, log.root(size), got.checkpoint.note)
            assert all(e.checkpoint is got.checkpoint and e.tx_id == tx.tx_id for e in got.entries)
    assert verifier.verify_tx(json.dumps(tx_proof(log, 3))).tx_id == 3


def tx_mutations(proof: dict):
    """(description, altered tx proof): the header and path fields as for entry proofs, then each entry."""
    entry_fields = {"format", "checkpoint", "tree_size", "tx_id", "tx_leaf", "tx_path"}
    base = {**{k: proof[k] for k in entry_fields}, "format": "immusql-proof/v1",
            "entry_index": 0, "entry_leaf": "", "entry_path": [], "key": "", "value": ""}
    for description, bad in mutations(base):
        if any(word in description for word in ("entry", "key", "value", "format")):
            continue  # fields a tx proof does not have (format is checked below)
        yield description, {**proof, **{k: bad[k] for k in entry_fields if k in bad and k != "format"},
                            **{k: None for k in entry_fields if k not in bad}}

    def with_entries(entries):
        return {**proof, "entries": entries}

    entries = proof["entries"]
    for i, entry in enumerate(entries):
        for name in ("key", "value"):
            if entry[name]:
                yield f"entries[{i}].{name} flipped", with_entries(entries[:i] + [{**entry, name: flip_hex(entry[name], 0)}] + entries[i + 1 :])
            yield f"entries[{i}].{name} extended", with_entries(entries[:i] + [{**entry, name: entry[name] + "00"}] + entries[i + 1 :])
            yield f"entries[{i}].{name} not hex", with_entries(entries[:i] + [{**entry, name: "zz"}] + entries[i + 1 :])
        for flags in (entry["flags"] ^ DELETED, 2, -1, None, "0", True):
            yield f"entries[{i}].flags {flags!r}", with_entries(entries[:i] + [{**entry, "flags": flags}] + entries[i + 1 :])
        yield f"entries[{i}] dropped", with_entries(entries[:i] + entries[i + 1 :])
        yield f"entries[{i}] doubled", with_entries(entries[:i + 1] + entries[i:])
        yield f"entries[{i}] not an object", with_entries(entries[:i] + [[entry["key"], entry["flags"], entry["value"]]] + entries[i + 1 :])
        for name in entry:
            yield f"entries[{i}] without {name}", with_entries(entries[:i] + [{k: v for k, v in entry.items() if k != name}] + entries[i + 1 :])
    if len(entries) > 1:
        yield "entries reordered", with_entries(entries[::-1])
    yield "entries null", with_entries(None)
    yield "no entries", {k: v for k, v in proof.items() if k != "entries"}
    for fmt in ("immusql-proof/v1", "immusql-tx-proof/v2", None):
        yield f"format {fmt!r}", {**proof, "format": fmt}


def test_every_tx_proof_mutation_is_rejected(log):
    verifier = Verifier(log.vkey)
    count = 0
    multi = next(tx.tx_id for tx in log.txs if len(tx.entries) > 2 and any(f for _, f, _ in tx.entries))
    for proof in (tx_proof(log, 1), tx_proof(log, multi), tx_proof(log, 6, 9)):
        verifier.verify_tx(proof)
        for description, bad in tx_mutations(proof):
            with pytest.raises(ProofError):
                verifier.verify_tx(bad)
                pytest.fail(f"accepted a tx proof with {description}")
            count += 1
    assert count > 300


def test_tx_proof_of_a_forged_deletion_rejected():
    def forge(tx):
        key, _, _ = tx.entries[0]
        tx.entries[0] = (key, DELETED, b"ghost")
        return seal(tx)

    log, _ = forged_log(forge)
    with pytest.raises(ProofError, match="deletion"):
        Verifier(log.vkey).verify_tx(tx_proof(log, 3))
