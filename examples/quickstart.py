"""immusql quickstart: keep account balances in a verifiable log, then check them as an outside auditor.

    python examples/quickstart.py [STORE_DIR]

Without STORE_DIR the store lives in a temporary directory that is removed at the end.
Exits with status 1 if any check fails.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass

from immusql.proofs import ProofError, Verifier
from immusql.store import Store


class CheckFailed(Exception):
    """Something the quickstart expected did not hold."""


def check(ok: bool, what: str) -> None:
    """Raise CheckFailed with ``what`` unless ``ok``."""
    if not ok:
        raise CheckFailed(what)


@dataclass
class Published:
    """What the store hands to the outside world: its verifier key, two checkpoints and two proofs."""

    vkey: str
    old_note: str
    new_note: str
    entry_proof: str
    consistency_proof: str
    bob_tx: int


def use_the_store(path: str) -> Published:
    """Write, update, delete and read balances; return the proofs an auditor needs."""
    with Store.open(path) as store:
        opened = store.commit([(b"acct/alice", b"100"), (b"acct/bob", b"50"), (b"acct/carol", b"75")], meta=b"user=setup")
        print(f"tx {opened}: opened accounts alice=100, bob=50, carol=75")
        moved = store.commit([(b"acct/alice", b"70"), (b"acct/bob", b"80")], meta=b"user=alice")
        print(f"tx {moved}: alice sent 30 to bob")
        first = store.checkpoint()
        print(f"signed checkpoint of {first.size} transactions, root {first.root.hex()[:16]}...")

        closed = store.delete(b"acct/carol")
        print(f"tx {closed}: closed carol's account")
        print(f"tx {store.set(b'acct/dave', b'10')}: opened dave's account with 10")

        then = store.get(b"acct/alice", at_tx=opened)
        now = store.get(b"acct/alice")
        check(then is not None and then.value == b"100", f"alice as of tx {opened} should be 100")
        check(now is not None and now.value == b"70", "alice now should be 70")
        check(store.get(b"acct/carol") is None, "carol should be gone")
        print(f"alice as of tx {opened}: {then.value.decode()}; now: {now.value.decode()}")

        history = store.history(b"acct/carol")
        check(history[-1].deleted and history[-2].value == b"75", "carol's history should end 75, deleted")
        for version in history:
            shown = "deleted" if version.deleted else version.value.decode()
            print(f"  carol revision {version.revision} at tx {version.tx_id}: {shown}")

        second = store.checkpoint()
        print(f"signed checkpoint of {second.size} transactions")
        published = Published(
            vkey=store.verifier_key(),
            old_note=first.note,
            new_note=second.note,
            entry_proof=json.dumps(store.prove_entry(b"acct/bob")),
            consistency_proof=json.dumps(store.prove_consistency(first.size, second.size)),
            bob_tx=moved,
        )
    print("store closed")
    return published


def audit(published: Published) -> None:
    """Check the proofs with nothing but the verifier key, as an independent client would."""
    verifier = Verifier(published.vkey)
    entry = verifier.verify_entry(published.entry_proof)
    check(entry.key == b"acct/bob" and entry.value == b"80", "the proof should show bob=80")
    check(entry.tx_id == published.bob_tx and entry.meta == b"user=alice", "bob's balance should come from alice's transfer")
    print(f"auditor: bob=80 is in the log (tx {entry.tx_id}, checkpoint of {entry.checkpoint.size})")

    old, new = verifier.verify_consistency(published.consistency_proof, published.old_note, published.new_note)
    print(f"auditor: the log of {new.size} transactions extends the one of {old.size}, nothing rewritten")

    forged = published.entry_proof.replace(f'"value": "{b"80".hex()}"', f'"value": "{b"99".hex()}"')
    check(forged != published.entry_proof, "the forgery should change the proof")
    try:
        verifier.verify_entry(forged)
    except ProofError as exc:
        print(f"auditor: a proof claiming bob=99 is rejected ({exc})")
    else:
        raise CheckFailed("a forged balance was accepted")


def main(argv: list[str]) -> int:
    try:
        if len(argv) > 1:
            audit(use_the_store(argv[1]))
        else:
            with tempfile.TemporaryDirectory(prefix="immusql-quickstart-") as tmp:
                audit(use_the_store(tmp))
    except (CheckFailed, ProofError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
