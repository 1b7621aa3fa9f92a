"""Proofs made by the real store, checked against RFC 9162 as written and against immusql.proofs' verifier."""

from __future__ import annotations

import copy
import itertools
import json
import os
import random
import struct
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from immusql.proofs import Checkpoint, ProofError, TxHeader, Verifier, leaf_hash, verify_consistency
from immusql.store import Store, StoreOptions
from tests.proofs import rfc9162_naive as naive

TX_COUNT = 300
CHECKPOINT_AFTER = (1, 2, 3, 64, 100, 128, 201, 255, 299)
KEYS: list[bytes] = [b"acct/%02d" % i for i in range(24)] + [b"\x00nul\x00key", b"\xff\xfe\xff", b"long/" + b"x" * 600]
NEVER_WRITTEN = b"acct/never"

Op = tuple[bytes, "bytes | None"]


@dataclass
class WrittenTx:
    """One committed transaction: what was asked for and what the log holds."""

    ops: list[Op]
    meta: bytes
    header: TxHeader
    entries: list[tuple[bytes, int, bytes]]


@dataclass
class Log:
    """A store grown by the test, with an independent record of every transaction."""

    store: Store
    txs: list[WrittenTx] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)

    @property
    def tx_leafs(self) -> list[bytes]:
        return [tx.header.encode() for tx in self.txs]

    def version(self, key: bytes, at_tx: int) -> tuple[int, bytes | None] | None:
        """The (tx id, value or None if deleted) of the newest write of ``key`` at or before ``at_tx``."""
        for tx_id in range(at_tx, 0, -1):
            for k, value in self.txs[tx_id - 1].ops:
                if k == key:
                    return tx_id, value
        return None


def entry_leaf_data(key: bytes, value: bytes | None) -> bytes:
    """u16 len(key) || key || u8 flags || SHA-256(value), flags bit 0 set for a deletion."""
    flags = 1 if value is None else 0
    return struct.pack(">H", len(key)) + key + bytes([flags]) + naive.HASH(value or b"")


def expected_tx_leaf(tx_id: int, commit_time_us: int, ops: list[Op], meta: bytes) -> bytes:
    """u8 version || u64 tx_id || u64 time || u32 n || MTH(entry leaves) || u16 len(meta) || meta."""
    entries_root = naive.MTH([entry_leaf_data(k, v) for k, v in ops])
    return struct.pack(">BQQI32sH", 1, tx_id, commit_time_us, len(ops), entries_root, len(meta)) + meta


def hexes(hashes: list[bytes]) -> list[str]:
    """Hashes as the hex strings proofs carry."""
    return [h.hex() for h in hashes]


def random_ops(rng: random.Random, i: int) -> list[Op]:
    """1 to 6 distinct keys, some deleted, some with values stored outside the index."""
    ops: list[Op] = []
    for key in rng.sample(KEYS, rng.randint(1, 6)):
        roll = rng.random()
        if roll < 0.2:
            ops.append((key, None))
        elif roll < 0.27:
            ops.append((key, rng.randbytes(rng.randint(513, 3000))))
        elif roll < 0.3:
            ops.append((key, b""))
        else:
            ops.append((key, b"v%d:" % i + rng.randbytes(rng.randrange(0, 40))))
    return ops


FIXED_OPS: dict[int, list[Op]] = {
    0: [(b"acct/00", b"100")],
    1: [(b"acct/00", b"x" * 512), (b"acct/01", b"y" * 513)],
    2: [(b"acct/00", None)],
    3: [(b"acct/02", b"z" * 4000), (b"long/" + b"x" * 600, b"long key"), (b"\x00nul\x00key", b"")],
}


def grow(store: Store, count: int = TX_COUNT, seed: int = 2024) -> Log:
    """Commit ``count`` transactions one by one, recording each as the log holds it."""
    rng = random.Random(seed)
    log = Log(store)
    for i in range(count):
        ops = FIXED_OPS.get(i) or random_ops(rng, i)
        meta = b"user=alice;seq=%d" % i if i % 9 == 4 else b""
        if len(ops) == 1 and not meta and i % 2:
            key, value = ops[0]
            tx_id = store.delete(key) if value is None else store.set(key, value)
        else:
            tx_id = store.commit(ops, meta=meta)
        assert tx_id == i + 1
        header, entries = store.read_tx(tx_id)
        log.txs.append(WrittenTx(ops, meta, header, entries))
        if tx_id in CHECKPOINT_AFTER:
            log.checkpoints.append(store.checkpoint())
    return log


def grow_more(store: Store, count: int) -> None:
    """Append ``count`` small transactions."""
    for i in range(count):
        store.commit([(b"more/%d" % i, b"%d" % i), (b"acct/%02d" % (i % 5), b"bal=%d" % (i * 10))])


@pytest.fixture
def grown(open_store) -> Log:
    """A store of TX_COUNT transactions with checkpoints along the way."""
    return grow(open_store("grown"))


def sizes_to_check(limit: int) -> list[int]:
    """Every size up to 40, then every 7th, and the last."""
    return sorted({*range(1, min(limit, 40) + 1), *range(47, limit + 1, 7), limit})


def old_sizes_to_check(n: int) -> list[int]:
    """Every old size for small trees; for big ones the edges, powers of two and every 7th."""
    if n <= 40:
        return list(range(0, n + 1))
    powers = {1 << i for i in range(n.bit_length()) if 1 << i <= n}
    return sorted({0, 1, 2, 3, n // 2, n - 2, n - 1, n, *powers, *range(5, n, 7)})


# -- transactions and roots ---------------------------------------------------------------


def test_read_tx_returns_what_was_written(grown: Log) -> None:
    """Every record holds the entries, in order, and the meta that were committed."""
    assert len(grown.txs) == grown.store.tx_id == TX_COUNT
    for tx_id, tx in enumerate(grown.txs, 1):
        assert tx.header.tx_id == tx_id
        assert tx.header.n_entries == len(tx.ops)
        assert tx.header.meta == tx.meta
        assert tx.entries == [(k, 0 if v is not None else 1, v if v is not None else b"") for k, v in tx.ops]


def test_growth_covers_what_it_should(grown: Log) -> None:
    """The grown log has deletions, big values, metas and every transaction width."""
    ops = [op for tx in grown.txs for op in tx.ops]
    assert sum(value is None for _, value in ops) >= 50
    assert sum(value is not None and len(value) > 512 for _, value in ops) >= 20
    assert sum(bool(tx.meta) for tx in grown.txs) >= 30
    assert {len(tx.ops) for tx in grown.txs} == {1, 2, 3, 4, 5, 6}


def test_tx_leaf_matches_independent_encoding(grown: Log) -> None:
    """Each tx_leaf is the documented encoding of what was written, with the header's id and time."""
    last_time = 0
    for tx in grown.txs:
        header = tx.header
        assert header.encode() == expected_tx_leaf(header.tx_id, header.commit_time_us, tx.ops, tx.meta)
        assert header.commit_time_us >= last_time
        last_time = header.commit_time_us


def test_root_of_every_size_is_the_naive_mth(grown: Log) -> None:
    """store.root(n) is RFC 9162's MTH of the first n tx leaves, for every n."""
    leafs = grown.tx_leafs
    assert grown.store.root(0) == naive.MTH([])
    for n in range(1, TX_COUNT + 1):
        assert grown.store.root(n) == naive.MTH(leafs[:n]), n
    assert grown.store.root() == naive.MTH(leafs)
    assert [leaf_hash(leaf) for leaf in leafs[:3]] == [naive.HASH(b"\x00" + leaf) for leaf in leafs[:3]]


def test_checkpoints_sign_the_naive_roots(grown: Log) -> None:
    """Every checkpoint taken while growing opens with the vkey and names the MTH of its size."""
    verifier = Verifier(grown.store.verifier_key())
    leafs = grown.tx_leafs
    assert [c.size for c in grown.checkpoints] == list(CHECKPOINT_AFTER)
    for checkpoint in grown.checkpoints:
        opened = verifier.checkpoint(checkpoint.note)
        assert (opened.size, opened.root) == (checkpoint.size, naive.MTH(leafs[: checkpoint.size]))
        assert opened.origin == grown.store.origin


# -- consistency proofs ---------------------------------------------------------------------


def test_consistency_paths_are_the_rfc_proofs(grown: Log) -> None:
    """prove_consistency(m, n) is PROOF(m, D[n]) and verifies between the naive roots."""
    leafs = grown.tx_leafs
    checked = 0
    for n in sizes_to_check(TX_COUNT):
        new_root = naive.MTH(leafs[:n])
        for m in old_sizes_to_check(n):
            proof = grown.store.prove_consistency(m, n)
            assert (proof["old_size"], proof["new_size"]) == (m, n)
            expected = naive.PROOF(m, leafs[:n]) if 0 < m < n else []
            assert proof["path"] == hexes(expected), (m, n)
            old_root = naive.MTH(leafs[:m])
            path = [bytes.fromhex(h) for h in proof["path"]]
            assert verify_consistency(m, n, old_root, new_root, path), (m, n)
            checked += 1
    assert checked > 1500


def test_consistency_between_every_pair_of_checkpoints(grown: Log) -> None:
    """Each later checkpoint extends each earlier one, as the signed notes show."""
    verifier = Verifier(grown.store.verifier_key())
    for old, new in itertools.combinations(grown.checkpoints, 2):
        proof = grown.store.prove_consistency(old.size, new.size)
        got = verifier.verify_consistency(json.dumps(proof), old.note, new.note)
        assert [(c.size, c.root) for c in got] == [(old.size, old.root), (new.size, new.root)]


def test_consistency_rejects_bad_sizes(grown: Log) -> None:
    """Sizes out of order or past the log are refused by the store."""
    with pytest.raises(ValueError):
        grown.store.prove_consistency(10, 9)
    with pytest.raises(ValueError):
        grown.store.prove_consistency(1, TX_COUNT + 1)


def test_consistency_of_two_live_checkpoints(open_store) -> None:
    """c1, more writes, c2: the proof verifies, and fails swapped or altered."""
    store = open_store("live")
    grow(store, 11, seed=5)
    c1 = store.checkpoint()
    assert store.checkpoint() == c1
    grow_more(store, 26)
    c2 = store.checkpoint()
    assert (c1.size, c2.size) == (11, 37)
    verifier = Verifier(store.verifier_key())
    proof = store.prove_consistency(c1.size, c2.size)
    old, new = verifier.verify_consistency(proof, c1.note, c2.note)
    assert (old.root, new.root) == (store.root(11), store.root(37))
    assert verifier.verify_consistency(store.prove_consistency(c2.size, c2.size), c2.note, c2.note)[1].size == 37

    swapped = dict(proof, old_size=c2.size, new_size=c1.size)
    with pytest.raises(ProofError):
        verifier.verify_consistency(swapped, c2.note, c1.note)
    with pytest.raises(ProofError):
        verifier.verify_consistency(proof, c2.note, c1.note)
    assert len(proof["path"]) >= 2
    for i in range(len(proof["path"])):
        for bit in (0, 77, 255):
            altered = copy.deepcopy(proof)
            altered["path"][i] = flip_bit(altered["path"][i], bit)
            with pytest.raises(ProofError):
                verifier.verify_consistency(altered, c1.note, c2.note)
    for path in (proof["path"][:-1], proof["path"][1:], proof["path"] + proof["path"][-1:], []):
        with pytest.raises(ProofError):
            verifier.verify_consistency(dict(proof, path=path), c1.note, c2.note)


# -- entry proofs -----------------------------------------------------------------------------


class PathCache:
    """Naive RFC 9162 inclusion paths of one log's tx leaves, each computed once."""

    def __init__(self, leafs: list[bytes]) -> None:
        self.leafs = leafs
        self.paths: dict[tuple[int, int], list[str]] = {}

    def __call__(self, index: int, size: int) -> list[str]:
        if (index, size) not in self.paths:
            self.paths[index, size] = hexes(naive.PATH(index, self.leafs[:size]))
        return self.paths[index, size]


def check_entry_proof(log: Log, verifier: Verifier, paths: PathCache, key: bytes, at_tx: int | None) -> None:
    """prove_entry(key, at_tx) verifies, matches what was written and carries the naive paths."""
    store = log.store
    expected = log.version(key, store.tx_id if at_tx is None else at_tx)
    assert expected is not None
    tx_id, value = expected
    proof = store.prove_entry(key) if at_tx is None else store.prove_entry(key, at_tx=at_tx)
    verified = verifier.verify_entry(proof)
    assert (verified.key, verified.value, verified.deleted, verified.tx_id) == (key, value or b"", value is None, tx_id)
    tx = log.txs[tx_id - 1]
    assert (verified.meta, verified.commit_time_us) == (tx.meta, tx.header.commit_time_us)
    assert verified.checkpoint.size == proof["tree_size"] == store.tx_id
    assert proof["tx_leaf"] == tx.header.encode().hex()
    assert proof["tx_path"] == paths(tx_id - 1, proof["tree_size"])
    index = [k for k, _ in tx.ops].index(key)
    entry_data = [entry_leaf_data(k, v) for k, v in tx.ops]
    assert proof["entry_index"] == index
    assert proof["entry_leaf"] == entry_data[index].hex()
    assert proof["entry_path"] == hexes(naive.PATH(index, entry_data))
    text = json.dumps(proof)
    assert verifier.verify_entry(text) == verified
    assert Verifier(store.verifier_key()).verify_entry(text) == verified


def test_latest_entry_proofs(grown: Log) -> None:
    """Every key's newest version, live or deleted, is proven under the latest checkpoint."""
    verifier = Verifier(grown.store.verifier_key())
    paths = PathCache(grown.tx_leafs)
    for key in KEYS:
        check_entry_proof(grown, verifier, paths, key, None)


def test_entry_proofs_as_of_older_txs(grown: Log) -> None:
    """prove_entry(key, at_tx=t) proves the version current at t, or raises KeyError before the first write."""
    verifier = Verifier(grown.store.verifier_key())
    paths = PathCache(grown.tx_leafs)
    proven = missing = 0
    for at_tx in [*range(1, 12), *range(12, TX_COUNT + 1, 5)]:
        for key in KEYS:
            if grown.version(key, at_tx) is None:
                with pytest.raises(KeyError):
                    grown.store.prove_entry(key, at_tx=at_tx)
                missing += 1
            else:
                check_entry_proof(grown, verifier, paths, key, at_tx)
                proven += 1
    assert proven > 1000 and missing > 50


def test_proof_of_a_large_external_value(grown: Log) -> None:
    """A value above the inline limit comes back whole in the proof and verifies."""
    proof = grown.store.prove_entry(b"acct/02", at_tx=4)
    verified = Verifier(grown.store.verifier_key()).verify_entry(proof)
    assert (verified.value, verified.tx_id) == (b"z" * 4000, 4)
    assert grown.store.get(b"acct/02", at_tx=4).value == b"z" * 4000


def test_tombstone_proof(open_store) -> None:
    """A deleted key proves as a deletion with an empty value; its older version still proves."""
    store = open_store("tomb")
    assert store.set(b"k", b"alive") == 1
    assert store.delete(b"k") == 2
    verifier = Verifier(store.verifier_key())
    dead = verifier.verify_entry(store.prove_entry(b"k"))
    assert (dead.value, dead.deleted, dead.tx_id) == (b"", True, 2)
    assert store.get(b"k") is None
    alive = verifier.verify_entry(store.prove_entry(b"k", at_tx=1))
    assert (alive.value, alive.deleted, alive.tx_id, alive.checkpoint.size) == (b"alive", False, 1, 2)


def test_never_written_key_has_no_proof(open_store) -> None:
    """prove_entry of a key never written, or before its first write, raises KeyError."""
    store = open_store("empty")
    with pytest.raises(KeyError):
        store.prove_entry(NEVER_WRITTEN)
    store.set(b"other", b"1")
    store.set(b"late", b"2")
    with pytest.raises(KeyError):
        store.prove_entry(NEVER_WRITTEN)
    with pytest.raises(KeyError):
        store.prove_entry(b"late", at_tx=1)
    with pytest.raises(KeyError):
        store.prove_entry(b"other", at_tx=0)
    with pytest.raises(ValueError):
        store.prove_entry(b"other", at_tx=3)


def test_proofs_survive_reopen_and_index_rebuild(open_store) -> None:
    """Across small segments with every value outside the index, a reopened or reindexed store proves the same."""
    options = {"segment_size": 4096, "inline_value_limit": 0}
    store = open_store("reopen", **options)
    log = grow(store, 90, seed=11)
    last = store.checkpoint()
    store.close()
    assert len(os.listdir(store.layout.log)) > 3
    leafs = log.tx_leafs
    for rebuild in (False, True):
        with Store.open(store.path, StoreOptions(**options), rebuild_index=rebuild) as reopened:
            log.store = reopened
            assert reopened.checkpoint() == last
            assert [reopened.read_tx(i)[0] for i in range(1, 91)] == [tx.header for tx in log.txs]
            assert [reopened.root(n) for n in range(1, 91)] == [naive.MTH(leafs[:n]) for n in range(1, 91)]
            verifier = Verifier(reopened.verifier_key())
            paths = PathCache(leafs)
            for key, at_tx in itertools.product(KEYS, (None, 45)):
                if log.version(key, at_tx or 90) is not None:
                    check_entry_proof(log, verifier, paths, key, at_tx)
            old = log.checkpoints[-1]
            verifier.verify_consistency(reopened.prove_consistency(old.size, last.size), old.note, last.note)


# -- tampering ----------------------------------------------------------------------------------


def flip_bit(hex_text: str, bit: int) -> str:
    """``hex_text`` with one bit of its bytes inverted."""
    data = bytearray.fromhex(hex_text)
    data[bit // 8] ^= 1 << (bit % 8)
    return data.hex()


@dataclass
class RealProof:
    """A proof from a real store, with an older checkpoint of the same log and the vkey."""

    proof: dict[str, Any]
    old: Checkpoint
    vkey: str


@pytest.fixture
def real(open_store) -> RealProof:
    """A proof of entry 2 of a 5-entry tx with meta, deep in a 23-transaction log."""
    store = open_store("real")
    grow(store, 12, seed=9)
    store.commit([(b"a", b"1"), (b"b", b"2"), (b"target", b"secret value"), (b"d", None), (b"e", b"5")], meta=b"who=bob")
    old = store.checkpoint()
    grow_more(store, 10)
    proof = store.prove_entry(b"target")
    assert (proof["tx_id"], proof["entry_index"], proof["tree_size"], old.size) == (13, 2, 23, 13)
    assert len(proof["tx_path"]) >= 4 and len(proof["entry_path"]) == 3
    return RealProof(proof, old, store.verifier_key())


def assert_rejected(verifier: Verifier, proof: dict[str, Any], what: str) -> None:
    """Fail the test, naming the tampering, unless verifying ``proof`` raises ProofError."""
    try:
        verifier.verify_entry(proof)
    except ProofError:
        return
    pytest.fail(f"proof with {what} verified")


def test_real_proof_verifies(real: RealProof) -> None:
    """The untampered proof verifies (so the failures below are the tampering's doing)."""
    verified = Verifier(real.vkey).verify_entry(real.proof)
    assert (verified.key, verified.value, verified.meta, verified.tx_id) == (b"target", b"secret value", b"who=bob", 13)


@pytest.mark.parametrize("name", ["tx_leaf", "entry_leaf", "key", "value"])
def test_every_bit_flip_in_a_hex_field_is_caught(real: RealProof, name: str) -> None:
    """Flipping any single bit of tx_leaf, entry_leaf, key or value fails verification."""
    verifier = Verifier(real.vkey)
    for bit in range(4 * len(real.proof[name])):
        assert_rejected(verifier, dict(real.proof, **{name: flip_bit(real.proof[name], bit)}), f"{name} bit {bit} flipped")
    verifier.verify_entry(real.proof)


@pytest.mark.parametrize("name", ["tx_path", "entry_path"])
def test_every_bit_flip_in_a_path_is_caught(real: RealProof, name: str) -> None:
    """Flipping any single bit of any hash of tx_path or entry_path fails verification."""
    verifier = Verifier(real.vkey)
    for i, h in enumerate(real.proof[name]):
        for bit in range(256):
            path = list(real.proof[name])
            path[i] = flip_bit(h, bit)
            assert_rejected(verifier, dict(real.proof, **{name: path}), f"{name}[{i}] bit {bit} flipped")


def test_off_by_one_numbers_are_caught(real: RealProof) -> None:
    """tx_id, entry_index or tree_size moved by one fails verification."""
    verifier = Verifier(real.vkey)
    for name, delta in itertools.product(["tx_id", "entry_index", "tree_size"], [-1, 1]):
        assert_rejected(verifier, dict(real.proof, **{name: real.proof[name] + delta}), f"{name} {delta:+d}")


REPLACEMENTS: list[dict[str, Any]] = [
    {"value": b"secret valuf".hex()},
    {"value": b"1".hex()},
    {"value": ""},
    {"key": b"a".hex()},
    {"key": b"target2".hex()},
    {"key": b"a".hex(), "value": b"1".hex()},
    {"tx_path": []},
    {"entry_path": []},
    {"format": "immusql-proof/v2"},
]


def test_replaced_fields_are_caught(real: RealProof) -> None:
    """Another value, key, empty path or format in place of the real one fails verification."""
    verifier = Verifier(real.vkey)
    for changes in REPLACEMENTS:
        assert_rejected(verifier, dict(real.proof, **changes), f"replaced {changes}")


def test_missing_fields_are_caught(real: RealProof) -> None:
    """A proof without any one of its fields fails verification."""
    verifier = Verifier(real.vkey)
    assert len(real.proof) == 11
    for name in real.proof:
        assert_rejected(verifier, {k: v for k, v in real.proof.items() if k != name}, f"no {name}")


def test_older_checkpoint_is_caught(real: RealProof) -> None:
    """An older signed checkpoint of the same log, with or without its size, does not carry the proof."""
    verifier = Verifier(real.vkey)
    verifier.verify_entry(real.proof)
    assert_rejected(verifier, dict(real.proof, checkpoint=real.old.note), "the older checkpoint")
    older = dict(real.proof, checkpoint=real.old.note, tree_size=real.old.size)
    assert_rejected(verifier, older, "the older checkpoint and its size")


def test_altered_checkpoint_note_is_caught(real: RealProof) -> None:
    """A checkpoint note with its size, root or signature edited fails to open."""
    note = real.proof["checkpoint"]
    origin, size, root, signatures = note.split("\n", 3)
    old_root = real.old.note.split("\n")[2]
    changed = "A" if signatures[-10] != "A" else "B"
    edits = {
        "size": f"{origin}\n{int(size) + 1}\n{root}\n{signatures}",
        "root": f"{origin}\n{size}\n{old_root}\n{signatures}",
        "signature": f"{origin}\n{size}\n{root}\n{signatures[:-10]}{changed}{signatures[-9:]}",
    }
    verifier = Verifier(real.vkey)
    for what, edited in edits.items():
        assert edited != note
        assert_rejected(verifier, dict(real.proof, checkpoint=edited), f"an edited checkpoint {what}")


def test_another_stores_vkey_rejects_the_proof(real: RealProof, open_store) -> None:
    """A proof checked against a different store's verifier key fails, as a string too."""
    other = open_store("other")
    other.set(b"target", b"secret value")
    assert other.verifier_key() != real.vkey
    with pytest.raises(ProofError):
        Verifier(other.verifier_key()).verify_entry(real.proof)
    with pytest.raises(ProofError):
        Verifier(other.verifier_key()).verify_entry(json.dumps(real.proof))


# -- random histories -----------------------------------------------------------------------------

_names = itertools.count()
H_KEYS = [b"a", b"b", b"c", b"\x00", b"k" * 450]
_values = st.one_of(st.none(), st.binary(max_size=24), st.binary(min_size=513, max_size=900))


@settings(deadline=None, max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(txs=st.lists(st.dictionaries(st.sampled_from(H_KEYS), _values, min_size=1, max_size=4), min_size=1, max_size=10))
def test_random_histories_prove_every_latest_version(open_store, txs: list[dict[bytes, bytes | None]]) -> None:
    """After any sequence of transactions, each key's newest version proves and matches the model."""
    store = open_store(f"random-{next(_names)}")
    try:
        model: dict[bytes, tuple[int, bytes | None]] = {}
        for ops in txs:
            tx_id = store.commit(list(ops.items()))
            model.update({key: (tx_id, value) for key, value in ops.items()})
        verifier = Verifier(store.verifier_key())
        for key in H_KEYS:
            if key not in model:
                with pytest.raises(KeyError):
                    store.prove_entry(key)
                continue
            tx_id, value = model[key]
            verified = verifier.verify_entry(json.dumps(store.prove_entry(key)))
            assert (verified.key, verified.value, verified.deleted, verified.tx_id) == (key, value or b"", value is None, tx_id)
            assert verified.checkpoint.size == len(txs)
    finally:
        store.close()


def test_every_entry_of_large_transactions_proves_with_a_bounded_cache(open_store, monkeypatch):
    """Large transactions keep their entry tree for further proofs; the cache stays within its byte bound."""
    from immusql.store import store as store_module

    monkeypatch.setattr(store_module, "_TX_CACHE_BYTES", 60_000)
    store = open_store("big-txs")
    written = {}
    for t in range(3):
        ops = [(b"t%d/%04d" % (t, i), os.urandom(40)) for i in range(300)]
        store.commit(ops)
        written.update(ops)
    verifier = Verifier(store.verifier_key())
    for key, value in written.items():
        assert verifier.verify_entry(store.prove_entry(key)).value == value
    assert 0 < len(store._tx_cache) < 3
    assert store._tx_cache_bytes <= 60_000 or len(store._tx_cache) == 1
