"""Ed25519 keys and checkpoint signatures over ``(seq, hash)`` of the chain head."""

from __future__ import annotations

import base64
import os
from pathlib import Path

PRIVATE_KEY_FILE = "ledger.ed25519"
PUBLIC_KEY_FILE = "ledger.ed25519.pub"


def checkpoint_message(seq: int, head_hash: str) -> bytes:
    return f"trackrecord-checkpoint:{seq}:{head_hash}".encode("ascii")


def generate_keypair(key_dir: Path) -> str:
    """Write a new key pair (private key mode 0600); return the public key, base64."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key_dir.mkdir(parents=True, exist_ok=True)
    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path = key_dir / PRIVATE_KEY_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(raw)
    public = public_key_text(private.public_key())
    (key_dir / PUBLIC_KEY_FILE).write_text(public + "\n", encoding="ascii")
    return public


def public_key_text(public_key: object) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)  # type: ignore[attr-defined]
    return base64.b64encode(raw).decode("ascii")


def sign_checkpoint(key_dir: Path, seq: int, head_hash: str) -> tuple[str, str]:
    """Return (public key, signature), both base64."""
    from cryptography.hazmat.primitives import serialization

    private = serialization.load_pem_private_key((key_dir / PRIVATE_KEY_FILE).read_bytes(), password=None)
    signature = private.sign(checkpoint_message(seq, head_hash))  # type: ignore[union-attr, call-arg]
    return public_key_text(private.public_key()), base64.b64encode(signature).decode("ascii")


def verify_signature(public_key_b64: str, signature_b64: str, seq: int, head_hash: str) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        key.verify(base64.b64decode(signature_b64), checkpoint_message(seq, head_hash))
    except (InvalidSignature, ValueError):
        return False
    return True
