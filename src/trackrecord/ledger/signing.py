"""Ed25519 keys and checkpoint signatures over ``(seq, hash)`` of the chain head.

The private key is a PKCS#8 PEM file (mode 0600), in the workspace's ``keys/`` or, with
``init --key-file PATH``, outside it; the public key stays in ``keys/ledger.ed25519.pub``
(mode 0644), the trust anchor ``verify`` checks signatures against.

Signing is on every writer's path (the kill switch's fast path too), so it loads only the
Ed25519 primitive: the PEM is unwrapped here rather than by ``cryptography``'s
serialization module, which costs more to import than the whole signature.
"""

from __future__ import annotations

import base64
from pathlib import Path

from trackrecord.secure_files import FILE_MODE, PUBLIC_FILE_MODE, write_new_file

PRIVATE_KEY_FILE = "ledger.ed25519"
PUBLIC_KEY_FILE = "ledger.ed25519.pub"

# DER of PKCS#8 ``PrivateKeyInfo`` for Ed25519 (RFC 8410) up to the 32 raw key bytes.
_PKCS8_ED25519_PREFIX = bytes.fromhex("302e020100300506032b657004220420")
_PEM_BEGIN, _PEM_END = "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----"


class SigningKeyError(ValueError):
    """The private key file is missing or is not an Ed25519 PKCS#8 PEM key."""


def checkpoint_message(seq: int, head_hash: str) -> bytes:
    return f"trackrecord-checkpoint:{seq}:{head_hash}".encode("ascii")


def generate_keypair(private_path: Path, public_path: Path) -> str:
    """Write a new key pair (private 0600, public 0644); return the public key, base64."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    der = _PKCS8_ED25519_PREFIX + private.private_bytes_raw()
    body = base64.encodebytes(der).decode("ascii").replace("\n", "")
    write_new_file(private_path, f"{_PEM_BEGIN}\n{body}\n{_PEM_END}\n".encode("ascii"), FILE_MODE)
    public = base64.b64encode(private.public_key().public_bytes_raw()).decode("ascii")
    write_new_file(public_path, (public + "\n").encode("ascii"), PUBLIC_FILE_MODE)
    return public


def _raw_private_key(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise SigningKeyError(f"cannot read the signing key {path}: {getattr(exc, 'strerror', None) or exc}") from None
    body = text.strip()
    if not (body.startswith(_PEM_BEGIN) and body.endswith(_PEM_END)):
        raise SigningKeyError(f"{path}: not a PEM private key")
    try:
        der = base64.b64decode("".join(body[len(_PEM_BEGIN):-len(_PEM_END)].split()), validate=True)
    except ValueError:
        raise SigningKeyError(f"{path}: the PEM body is not base64") from None
    if len(der) != len(_PKCS8_ED25519_PREFIX) + 32 or not der.startswith(_PKCS8_ED25519_PREFIX):
        raise SigningKeyError(f"{path}: not an Ed25519 private key")
    return der[len(_PKCS8_ED25519_PREFIX):]


def sign_checkpoint(private_path: Path, seq: int, head_hash: str) -> tuple[str, str]:
    """Return (public key, signature), both base64."""
    return sign_message(private_path, checkpoint_message(seq, head_hash))


def sign_message(private_path: Path, message: bytes) -> tuple[str, str]:
    """Sign ``message`` with the private key; return (public key, signature), both base64."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.from_private_bytes(_raw_private_key(private_path))
    signature = private.sign(message)
    public = base64.b64encode(private.public_key().public_bytes_raw()).decode("ascii")
    return public, base64.b64encode(signature).decode("ascii")


def key_fingerprint(public_key_b64: str) -> str:
    """``SHA256:`` and the hex SHA-256 of the raw 32-byte public key, in groups of four:
    what a trader reads out or sends separately, to compare with the one ``verify`` prints."""
    import hashlib

    digest = hashlib.sha256(base64.b64decode(public_key_b64)).hexdigest()
    return "SHA256:" + ":".join(digest[i:i + 4] for i in range(0, 64, 4))


def signed_checkpoint(private_path: Path, seq: int, head_hash: str,
                      own_key: str | None = None) -> dict[str, object]:
    """The payload of a ``checkpoint.signed`` event over the head (seq, hash). ``own_key``:
    the ledger's public key (its ``workspace.created``'s); a private key whose public half is
    another is a ``SigningKeyError`` (``signing.key_file`` pointed at another workspace's key:
    its checkpoint would make ``verify`` report the ledger BROKEN, for ever)."""
    public_key, signature = sign_checkpoint(private_path, seq, head_hash)
    refuse_a_foreign_key(private_path, public_key, own_key)
    return {"head_seq": seq, "head_hash": head_hash, "public_key": public_key, "signature": signature}


def refuse_a_foreign_key(private_path: Path, public_key: str, own_key: str | None) -> None:
    """``SigningKeyError`` when ``private_path`` (whose public half is ``public_key``) is not
    the key of the ledger whose public key is ``own_key`` (None: nothing to compare with)."""
    if own_key is not None and public_key != own_key:
        raise SigningKeyError(f"{private_path} is not this ledger's signing key (it signs as "
                              f"{key_fingerprint(public_key)}, the ledger's key is {key_fingerprint(own_key)}): point "
                              "signing.key_file in trackrecord.yaml at this workspace's private key")


def verify_signature(public_key_b64: str, signature_b64: str, seq: int, head_hash: str) -> bool:
    return verify_message(public_key_b64, signature_b64, checkpoint_message(seq, head_hash))


def verify_message(public_key_b64: str, signature_b64: str, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
        key.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True
