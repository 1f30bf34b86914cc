"""The platform's Ed25519 identity key: signs tree heads and (later) receipts.

Kept as a PKCS8 PEM file (mode 0600) in ``TENDERHALL_KEY_DIR``, made on first use. Its public
half is published at ``/api/v1/log/key`` so anyone can check signatures offline.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

_lock = threading.Lock()
_cached: dict[Path, Ed25519PrivateKey] = {}

KEY_FILE = "platform-ed25519.pem"


def platform_key() -> Ed25519PrivateKey:
    path = Path(settings.TENDERHALL_KEY_DIR) / KEY_FILE
    with _lock:
        if path in _cached:
            return _cached[path]
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            try:
                # O_EXCL: two processes starting at once must not make two different keys.
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(pem)
            except FileExistsError:
                pass
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise TypeError(f"{path} is not an Ed25519 key")
        _cached[path] = key
        return key


def public_key_raw(key: Ed25519PublicKey | None = None) -> bytes:
    key = key or platform_key().public_key()
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_pem() -> str:
    return (
        platform_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def key_id(key: Ed25519PublicKey | None = None) -> str:
    """SHA-256 of the raw public key, hex: names the key in every signed tree head."""
    return hashlib.sha256(public_key_raw(key)).hexdigest()
