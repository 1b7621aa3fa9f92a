"""Verifiable-log proofs: RFC 9162 Merkle trees, C2SP signed checkpoints, immusql entry proofs.

This package depends only on the Python standard library and `cryptography`
(for Ed25519), and on nothing else in immusql, so an auditor can copy or
install it alone to check proofs without trusting the database that made them.
"""

from immusql.proofs.hashing import (
    DELETED,
    EMPTY_HASH,
    TX_HEADER_SIZE,
    TX_LEAF_VERSION,
    TxHeader,
    decode_entry_leaf,
    entry_leaf,
    leaf_hash,
    node_hash,
    value_hash,
)
from immusql.proofs.merkle import (
    consistency_path,
    inclusion_path,
    root,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)
from immusql.proofs.note import (
    Checkpoint,
    NoteError,
    checkpoint_text,
    key_id,
    open_checkpoint,
    open_note,
    parse_checkpoint,
    parse_vkey,
    sign_checkpoint,
    sign_note,
    vkey,
)
from immusql.proofs.verify import (
    PROOF_FORMAT,
    TX_PROOF_FORMAT,
    ProofError,
    VerifiedEntry,
    VerifiedTx,
    Verifier,
    verify_consistency_proof,
    verify_entry_proof,
)

__all__ = [
    "DELETED",
    "EMPTY_HASH",
    "PROOF_FORMAT",
    "TX_HEADER_SIZE",
    "TX_LEAF_VERSION",
    "TX_PROOF_FORMAT",
    "Checkpoint",
    "NoteError",
    "ProofError",
    "TxHeader",
    "VerifiedEntry",
    "VerifiedTx",
    "Verifier",
    "checkpoint_text",
    "consistency_path",
    "decode_entry_leaf",
    "entry_leaf",
    "inclusion_path",
    "key_id",
    "leaf_hash",
    "node_hash",
    "open_checkpoint",
    "open_note",
    "parse_checkpoint",
    "parse_vkey",
    "root",
    "root_from_inclusion",
    "sign_checkpoint",
    "sign_note",
    "value_hash",
    "verify_consistency",
    "verify_consistency_proof",
    "verify_entry_proof",
    "verify_inclusion",
    "vkey",
]
