"""Signed notes and checkpoints: interop with Go's golang.org/x/mod/sumdb/note, and rejection of bad input."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

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

# The published vectors of golang.org/x/mod/sumdb/note (note_test.go, TestSign/TestOpen).
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_SIG = "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
ENOCH_SIG = "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
GO_NOTE = TEXT + "\n" + PETER_SIG


def peter_key() -> Ed25519PrivateKey:
    raw = base64.b64decode(PETER_SKEY.split("+", 4)[4])
    assert raw[0] == 1  # Ed25519
    return Ed25519PrivateKey.from_private_bytes(raw[1:])


def public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


# -- interop with Go ------------------------------------------------------------------


def test_go_vkey_parses_and_matches_the_private_key():
    name, kid, pub = parse_vkey(PETER_VKEY)
    assert (name, kid.hex()) == ("PeterNeumann", "c74f20a3")
    assert pub == public(peter_key())
    assert key_id(name, pub) == kid
    assert vkey(name, pub) == PETER_VKEY


def test_signing_reproduces_the_go_note_byte_for_byte():
    # Ed25519 is deterministic, so equal output means Go's Open accepts our notes.
    assert sign_note(TEXT, "PeterNeumann", peter_key()) == GO_NOTE


def test_go_note_opens():
    assert open_note(GO_NOTE, PETER_VKEY) == TEXT
    assert open_note(GO_NOTE.encode(), PETER_VKEY) == TEXT


def test_go_two_signatures_each_key_verifies_and_ignores_the_other():
    note = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(note, PETER_VKEY) == TEXT
    assert open_note(note, ENOCH_VKEY) == TEXT
    assert open_note(TEXT + "\n" + ENOCH_SIG + PETER_SIG, PETER_VKEY) == TEXT


def test_go_repeated_signatures_accepted():
    bad_enoch = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    note = TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + bad_enoch
    assert open_note(note, PETER_VKEY) == TEXT


def test_go_invalid_signature_rejected():
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:], PETER_VKEY)


def test_go_too_many_signatures_rejected():
    with pytest.raises(NoteError, match="more than 100"):
        open_note(TEXT + "\n" + PETER_SIG * 101, PETER_VKEY)
    assert open_note(TEXT + "\n" + PETER_SIG * 100, PETER_VKEY) == TEXT


@pytest.mark.parametrize(
    "message",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        b"\xff" + (TEXT + "\n" + PETER_SIG).encode(),
        TEXT + "\n" + "\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
    ],
)
def test_go_malformed_notes_rejected(message):
    with pytest.raises(NoteError, match="malformed"):
        open_note(message, PETER_VKEY)


def test_go_vkey_manglings_rejected():
    # As Go's TestNewVerifier: every proper substring and every single-byte increment fails.
    b = PETER_VKEY
    for i in range(len(b) + 1):
        for j in range(i + 1, len(b) + 1):
            if (i, j) != (0, len(b)):
                with pytest.raises(NoteError):
                    parse_vkey(b[i:j])
    for i in range(len(b)):
        with pytest.raises(NoteError):
            parse_vkey(b[:i] + chr(ord(b[i]) + 1) + b[i + 1 :])
    with pytest.raises(NoteError):  # wrong key length, key id adjusted to match
        parse_vkey("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
    with pytest.raises(NoteError):  # unknown algorithm, key id adjusted to match
        parse_vkey("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


# -- our own keys ------------------------------------------------------------------------


def test_round_trip(key):
    name = "example.com/log"
    verifier = vkey(name, public(key))
    note = sign_note("hello\nworld\n", name, key)
    assert note.startswith("hello\nworld\n\n\u2014 example.com/log ")
    assert open_note(note, verifier) == "hello\nworld\n"


def test_text_may_contain_blank_lines(key):
    verifier = vkey("k", public(key))
    for text in ["a\n\nb\n", "a\n\n", "\n", "a\n\n\n"]:
        assert open_note(sign_note(text, "k", key), verifier) == text


def test_vkey_round_trip_and_format(key):
    pub = public(key)
    text = vkey("example.com/log", pub)
    name, hex_id, encoded = text.split("+", 2)
    assert name == "example.com/log"
    assert hex_id == key_id(name, pub).hex() and len(hex_id) == 8 and hex_id == hex_id.lower()
    assert base64.b64decode(encoded) == b"\x01" + pub
    assert parse_vkey(text) == (name, key_id(name, pub), pub)


def test_vkey_whose_base64_contains_plus():
    # Key material containing '+' must not be split as a field separator.
    for seed in range(200):
        pub = public(Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))
        text = vkey("n", pub)
        if "+" in text.split("+", 2)[2]:
            assert parse_vkey(text)[2] == pub
            return
    pytest.skip("no sampled key had '+' in its base64")


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\tb", "a\u00a0b", "a\nb"])
def test_invalid_key_names_rejected(key, name):
    with pytest.raises(NoteError):
        vkey(name, public(key))
    with pytest.raises(NoteError):
        sign_note("x\n", name, key)


def test_bad_vkeys_rejected(key):
    good = vkey("n", public(key))
    name, hex_id, encoded = good.split("+", 2)
    for bad in [
        "",
        "n",
        f"n+{hex_id}",
        f"n+{hex_id}+",
        f"n+{hex_id[:7]}+{encoded}",
        f"n+{hex_id}0+{encoded}",
        f"n+{hex_id[:7]}g+{encoded}",
        f"n+ {hex_id[:7]}+{encoded}",
        f"m+{hex_id}+{encoded}",
        f"n+{hex_id}+{encoded[:-1]}",
        f"n+{hex_id}+{encoded} ",
        f"n+{hex_id}+{encoded}\n",
        f"n+00000000+{encoded}",
    ]:
        with pytest.raises(NoteError):
            parse_vkey(bad)


def test_tampered_text_rejected(key):
    verifier = vkey("n", public(key))
    note = sign_note("origin\n5\n", "n", key)
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(note.replace("5", "6", 1), verifier)


def test_wrong_key_rejected(key):
    other = Ed25519PrivateKey.generate()
    note = sign_note("hi\n", "n", key)
    with pytest.raises(NoteError, match="no signature"):
        open_note(note, vkey("n", public(other)))
    with pytest.raises(NoteError, match="no signature"):
        open_note(note, vkey("m", public(key)))


def test_signature_under_the_right_name_and_id_but_wrong_key_rejected(key):
    # Same name and key id, forged signature bytes: must be verified, and fail.
    note = sign_note("hi\n", "n", key)
    forged = sign_note("hi\n", "n", Ed25519PrivateKey.generate())
    kid = key_id("n", public(key))
    sig = base64.b64decode(forged.rsplit(" ", 1)[1])
    forged = "hi\n\n\u2014 n " + base64.b64encode(kid + sig[4:]).decode() + "\n"
    with pytest.raises(NoteError, match="invalid signature"):
        open_note(forged, vkey("n", public(key)))
    assert open_note(note, vkey("n", public(key))) == "hi\n"


def test_wrong_key_id_ignored_then_rejected(key):
    note = sign_note("hi\n", "n", key)
    line = note.split("\n")[2]
    raw = bytearray(base64.b64decode(line.split(" ")[2]))
    raw[0] ^= 1
    renamed = "hi\n\n\u2014 n " + base64.b64encode(bytes(raw)).decode() + "\n"
    with pytest.raises(NoteError, match="no signature"):
        open_note(renamed, vkey("n", public(key)))


def test_extra_unknown_signatures_still_verify(key):
    witness = Ed25519PrivateKey.generate()
    ours = sign_note("hi\n", "n", key).split("\n\n", 1)[1]
    theirs = sign_note("hi\n", "witness.example", witness).split("\n\n", 1)[1]
    same_name_other_id = "\u2014 n " + base64.b64encode(b"\0\0\0\0" + b"x" * 64).decode() + "\n"
    for block in [ours + theirs, theirs + ours, same_name_other_id + ours, ours + same_name_other_id]:
        assert open_note("hi\n\n" + block, vkey("n", public(key))) == "hi\n"
    assert open_note("hi\n\n" + ours + theirs, vkey("witness.example", public(witness))) == "hi\n"
    with pytest.raises(NoteError, match="no signature"):
        open_note("hi\n\n" + theirs + same_name_other_id, vkey("n", public(key)))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda n: n.replace("\n\n", "\n"),  # missing blank line
        lambda n: n.replace("\u2014 ", "- "),  # not an em dash
        lambda n: n.replace("\u2014 ", "\u2014"),  # no space after the dash
        lambda n: n.replace("\u2014 n ", "\u2014 n  "),  # double space
        lambda n: n[:-1],  # no final newline
        lambda n: n + "\n",  # empty signature line
        lambda n: n + "\u2014 n\n",  # no signature
        lambda n: n + "\u2014 n !!!!\n",  # not base64
        lambda n: n + "\u2014 n AAAA\n",  # too short
        lambda n: n.replace("hi", "h\ri", 1),  # control character
        lambda n: n.replace("hi", "h\udcffi", 1),  # not encodable as UTF-8
        lambda n: n.split("\n\n")[0] + "\n",  # text only
    ],
)
def test_malformed_notes_rejected(key, mangle):
    note = sign_note("hi\n", "n", key)
    with pytest.raises(NoteError):
        open_note(mangle(note), vkey("n", public(key)))


def test_sign_note_rejects_bad_text(key):
    for text in ["no newline", "a\x00\n", "", "bad\x1b\n"]:
        with pytest.raises(NoteError):
            sign_note(text, "n", key)


# -- checkpoints ---------------------------------------------------------------------


def test_checkpoint_text_is_c2sp_exact():
    root = bytes(range(32))
    assert checkpoint_text("example.com/log", 1042, root) == "example.com/log\n1042\n" + base64.b64encode(root).decode() + "\n"
    assert checkpoint_text("o", 0, root).split("\n")[1] == "0"


def test_checkpoint_round_trip(key):
    root = bytes(range(32))
    note = sign_checkpoint("example.com/log", 7, root, key)
    checkpoint = open_checkpoint(note, vkey("example.com/log", public(key)))
    assert checkpoint == Checkpoint("example.com/log", 7, root, note)
    assert note.startswith(checkpoint_text("example.com/log", 7, root) + "\n\u2014 example.com/log ")


def test_c2sp_example_checkpoint_parses():
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    checkpoint = parse_checkpoint(text)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert base64.b64encode(checkpoint.root).decode() == "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="


def test_checkpoint_extension_lines_kept_in_text_and_ignored(key):
    root = bytes(32)
    text = checkpoint_text("o", 3, root) + "ext one\next two\n"
    assert parse_checkpoint(text) == Checkpoint("o", 3, root)
    note = sign_note(text, "o", key)
    assert open_checkpoint(note, vkey("o", public(key))).size == 3


@pytest.mark.parametrize(
    "text",
    [
        "",
        "o\n1\n",
        "o\n1\nAAAA\n",
        "\n1\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "o\n01\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "o\n-1\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "o\n+1\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "o\n1 \n" + base64.b64encode(bytes(32)).decode() + "\n",
        "o\n\u00b2\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "o\n18446744073709551616\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "o\n1\n" + base64.b64encode(bytes(32)).decode(),
        "o\n1\n" + base64.b64encode(bytes(32)).decode().rstrip("=") + "\n",
        "o\n1\n" + base64.b64encode(bytes(31) + b"\x01").decode()[:-2] + "B=\n",  # non-canonical padding bits
        "o\n1\n" + base64.b64encode(bytes(33)).decode() + "\n",
        "o\n1\n" + base64.b64encode(bytes(32)).decode() + "\n\n",
        "o\n1\n" + base64.b64encode(bytes(32)).decode() + "\next\n\n",
    ],
)
def test_malformed_checkpoints_rejected(text):
    with pytest.raises(NoteError):
        parse_checkpoint(text)


def test_checkpoint_origin_must_be_the_key_name(key):
    note = sign_note(checkpoint_text("other.example/log", 1, bytes(32)), "example.com/log", key)
    with pytest.raises(NoteError, match="origin"):
        open_checkpoint(note, vkey("example.com/log", public(key)))


def test_checkpoint_wrong_key_rejected(key):
    note = sign_checkpoint("o", 1, bytes(32), key)
    with pytest.raises(NoteError):
        open_checkpoint(note, vkey("o", public(Ed25519PrivateKey.generate())))
    with pytest.raises(NoteError):
        open_checkpoint(note.replace("\n1\n", "\n2\n"), vkey("o", public(key)))


def test_checkpoint_text_rejects_bad_fields():
    for args in [("", 1, bytes(32)), ("a\nb", 1, bytes(32)), ("o", -1, bytes(32)), ("o", 2**64, bytes(32)), ("o", 1, bytes(31)), ("o", True, bytes(32))]:
        with pytest.raises(NoteError):
            checkpoint_text(*args)
