"""Sealing and opening bid envelopes (age v1, docs/bid-package.md), streaming in constant memory."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from tenderhall.client.errors import ToolError
from tenderhall.client.files import atomic_output, read_bytes, unreadable
from tenderhall.core.crypto import age, certs


def _not_x25519(path: Path) -> ToolError:
    return ToolError(
        "key_wrong_usage",
        f"{path} 中不是 X25519 加密公钥（加密证书）",
        f"{path} does not hold an X25519 encryption key (encryption certificate)",
    )


def recipient_from_certificate_file(path: Path) -> age.X25519Recipient:
    """The X25519 key of an encryption certificate (PEM or DER), or of a public key PEM."""
    data = read_bytes(path, "加密证书", "encryption certificate")
    if b"-----BEGIN PUBLIC KEY-----" in data:
        key: object = certs.load_public_key(data)
    else:
        key = certs.load_certificate(data).public_key()
    if not isinstance(key, X25519PublicKey):
        raise _not_x25519(path)
    return age.recipient_from_public_key(key)


def identities_from_file(path: Path, passphrase: bytes | None) -> list[age.X25519Identity]:
    """An age identity file (``AGE-SECRET-KEY-1…`` lines, as age-keygen writes) or our PEM
    X25519 private key (``encryption.key``, maybe encrypted with the passphrase)."""
    data = read_bytes(path, "私钥", "identity")
    if data.lstrip().startswith(b"-----BEGIN"):
        key = certs.load_private_key(data, passphrase)
        if not isinstance(key, X25519PrivateKey):
            raise _not_x25519(path)
        return [age.identity_from_private_key(key)]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ToolError(
            "age_key_invalid", f"{path} 不是 age 私钥文件", f"{path} is not an age identity file"
        ) from exc
    return age.load_identities(text)


def recipients_from_args(values: list[str], files: list[Path]) -> list[age.X25519Recipient]:
    """``-r age1…`` values and ``-R FILE`` files (one ``age1…`` a line, ``#`` comments)."""
    recipients = [age.X25519Recipient.from_string(value) for value in values]
    for path in files:
        text = read_bytes(path, "接收方", "recipients").decode("utf-8", "replace")
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                recipients.append(age.X25519Recipient.from_string(line))
            except age.AgeError as exc:
                raise ToolError(
                    "age_key_invalid",
                    f"{path} 第 {number} 行不是 age 公钥（age1…）",
                    f"{path} line {number} is not an age recipient (age1…)",
                ) from exc
    return recipients


def seal(
    src: Path,
    out: Path,
    recipients: list[age.X25519Recipient],
    *,
    opening: age.X25519Recipient | None = None,
) -> None:
    """Encrypt ``src`` to ``out``. With ``opening`` (a section's opening key) the file also gets
    the claim stanza first and the deterministic opening stanza (core.crypto.age)."""
    everyone = list(dict.fromkeys([*recipients, *([opening] if opening else [])]))
    if not everyone:
        raise ToolError("age_no_recipients", "未指定接收方", "no recipients given (-r, -R or --section)")
    extra = [age.opening_claim_stanza(opening)] if opening is not None else []

    def ephemeral_for(file_key: bytes, recipient: age.X25519Recipient) -> X25519PrivateKey | None:
        return age.opening_ephemeral(file_key, recipient) if recipient == opening else None

    try:
        source = src.open("rb")
    except OSError as exc:
        raise unreadable(src, exc) from exc
    with source, atomic_output(out) as dst:
        age.encrypt(everyone, source, dst, extra_stanzas=extra, ephemeral_for=ephemeral_for)


def open_envelope(src: Path, out: Path, identities: list[age.X25519Identity]) -> None:
    """Decrypt ``src`` to ``out``; a failure (wrong key, tampered file) leaves no ``out``."""
    try:
        source = src.open("rb")
    except OSError as exc:
        raise unreadable(src, exc) from exc
    with source, atomic_output(out) as dst:
        age.decrypt(identities, source, dst)
