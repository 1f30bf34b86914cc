"""The on-disk test CA behind ``tenderhall ca`` (DESIGN §4): real certificates for demos and tests.

Each CA lives in ``<root>/<name>/``::

    ca.key        Ed25519 private key, PKCS#8 PEM, mode 0600 (unencrypted: a *test* CA)
    ca.pem        the self-signed root certificate
    serial        the next serial number to issue (decimal)
    revoked.json  [{"serial": int, "revoked_at": ISO 8601}]
    crl.pem       the current CRL, re-signed on every revocation

Every write goes to a temporary file in the same directory and is moved into place with
``os.replace``, so a reader never sees half a file; mutations of one CA take an exclusive
``flock`` so two commands cannot hand out the same serial. No Django, no database: the
management command registers what this returns.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding

from tenderhall.core.crypto import certs
from tenderhall.core.errors import DomainError

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
KEY_FILE = "ca.key"
CERT_FILE = "ca.pem"
SERIAL_FILE = "serial"
REVOKED_FILE = "revoked.json"
CRL_FILE = "crl.pem"
LOCK_FILE = ".lock"


class CaStoreError(DomainError):
    status = 400


@dataclass(frozen=True)
class StoredCa:
    """A CA read from disk."""

    name: str
    directory: Path
    key: certs.SigningPrivateKey
    certificate: x509.Certificate


@dataclass(frozen=True)
class Revocation:
    serial: int
    revoked_at: dt.datetime


class CaStore:
    """Test CAs kept under ``root``; ``crl_days`` is how long each CRL stays fresh."""

    def __init__(self, root: Path, *, crl_days: int = 7) -> None:
        self.root = Path(root)
        self.crl_days = crl_days

    # ---------------------------------------------------------------------------------------
    # reading

    def names(self) -> list[str]:
        """The CAs in the store, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if _NAME_RE.fullmatch(p.name) and (p / CERT_FILE).is_file()
        )

    def exists(self, name: str) -> bool:
        return (self._dir(name) / CERT_FILE).is_file()

    def load(self, name: str) -> StoredCa:
        """The CA's key and certificate."""
        directory = self._existing(name)
        key = certs.load_signing_key((directory / KEY_FILE).read_bytes())
        cert = certs.load_certificate((directory / CERT_FILE).read_bytes())
        return StoredCa(name=name, directory=directory, key=key, certificate=cert)

    def certificate(self, name: str) -> x509.Certificate:
        return certs.load_certificate((self._existing(name) / CERT_FILE).read_bytes())

    def crl(self, name: str) -> x509.CertificateRevocationList:
        """The CRL as last written (see :meth:`refresh_crl` once it goes stale)."""
        return certs.load_crl((self._existing(name) / CRL_FILE).read_bytes())

    def revocations(self, name: str) -> list[Revocation]:
        return self._read_revoked(self._existing(name))

    def trust_anchor(self, name: str) -> certs.TrustAnchor:
        """The CA as the platform trusts it: root certificate plus current CRL."""
        return certs.TrustAnchor(certificate=self.certificate(name), crl=self.crl(name))

    # ---------------------------------------------------------------------------------------
    # writing

    def init(self, name: str, *, now: dt.datetime, valid_days: int = 3650) -> x509.Certificate:
        """Create a new CA; refuses a name already in use."""
        directory = self._dir(name)
        if directory.exists():
            raise CaStoreError(
                "ca_exists", f"测试 CA「{name}」已存在", f"Test CA {name!r} already exists", status=409
            )
        self.root.mkdir(parents=True, exist_ok=True)
        key, cert = certs.create_ca(name=name, valid_days=valid_days, now=now)
        # Build the whole directory aside, then rename it into place: a CA is there complete or
        # not at all, and a concurrent init of the same name loses the rename.
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=self.root))
        try:
            staging.chmod(0o700)
            _atomic_write(staging / KEY_FILE, certs.private_key_to_pem(key), 0o600)
            _atomic_write(staging / CERT_FILE, certs.certificate_to_pem(cert), 0o644)
            _atomic_write(staging / SERIAL_FILE, b"1\n", 0o644)
            _atomic_write(staging / REVOKED_FILE, b"[]\n", 0o644)
            crl = certs.make_crl(
                ca_key=key, ca_cert=cert, revoked=(), now=now, next_update_days=self.crl_days, number=1
            )
            _atomic_write(staging / CRL_FILE, _crl_pem(crl), 0o644)
            try:
                os.mkdir(directory)  # atomic claim of the name; fails if someone else got it
            except FileExistsError:
                raise CaStoreError(
                    "ca_exists", f"测试 CA「{name}」已存在", f"Test CA {name!r} already exists", status=409
                ) from None
            os.replace(staging, directory)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return cert

    def issue_signing(
        self, name: str, *, csr_pem: bytes, valid_days: int = 730, now: dt.datetime
    ) -> x509.Certificate:
        """Issue a signing certificate for a CSR (its signature is checked first)."""
        csr = certs.load_csr(csr_pem)
        with self._locked(name) as directory:
            ca = self.load(name)
            serial = self._take_serial(directory)
            return certs.issue_from_csr(
                ca_key=ca.key, ca_cert=ca.certificate, csr=csr, valid_days=valid_days, now=now, serial=serial
            )

    def issue_encryption(
        self,
        name: str,
        *,
        public_key_pem: bytes,
        subject: x509.Name,
        valid_days: int = 730,
        now: dt.datetime,
    ) -> x509.Certificate:
        """Issue an encryption certificate for an X25519 public key (PEM SubjectPublicKeyInfo)."""
        public_key = certs.load_public_key(public_key_pem)
        if not isinstance(public_key, X25519PublicKey):
            raise certs.CertificateError(
                "key_wrong_usage",
                "加密证书需要 X25519 公钥",
                "An encryption certificate needs an X25519 public key",
            )
        with self._locked(name) as directory:
            ca = self.load(name)
            serial = self._take_serial(directory)
            return certs.issue_encryption_certificate(
                ca_key=ca.key,
                ca_cert=ca.certificate,
                subject=subject,
                public_key=public_key,
                valid_days=valid_days,
                now=now,
                serial=serial,
            )

    def revoke(self, name: str, *, serial: int, now: dt.datetime) -> x509.CertificateRevocationList:
        """Add ``serial`` to the CA's CRL and re-sign it. Revoking twice keeps the first date."""
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime")
        with self._locked(name) as directory:
            next_serial = self._read_serial(directory)
            if not 1 <= serial < next_serial:
                raise CaStoreError(
                    "serial_unknown",
                    f"测试 CA「{name}」未签发过序列号为 {serial:X} 的证书",
                    f"Test CA {name!r} never issued a certificate with serial {serial:X}",
                    status=404,
                )
            revoked = self._read_revoked(directory)
            if all(r.serial != serial for r in revoked):
                revoked.append(Revocation(serial=serial, revoked_at=now.astimezone(dt.UTC)))
                entries = [{"serial": r.serial, "revoked_at": r.revoked_at.isoformat()} for r in revoked]
                _atomic_write(directory / REVOKED_FILE, json.dumps(entries, indent=2).encode() + b"\n", 0o644)
            return self._write_crl(name, directory, revoked, now)

    def refresh_crl(self, name: str, *, now: dt.datetime) -> x509.CertificateRevocationList:
        """Re-sign the CRL with a new next-update time (verifiers refuse a stale CRL)."""
        with self._locked(name) as directory:
            return self._write_crl(name, directory, self._read_revoked(directory), now)

    # ---------------------------------------------------------------------------------------
    # internals

    def _dir(self, name: str) -> Path:
        if not _NAME_RE.fullmatch(name):
            raise CaStoreError(
                "ca_name_invalid",
                "测试 CA 名称只能包含字母、数字、点、下划线和连字符（最多 64 个字符）",
                "A test CA name may hold only letters, digits, '.', '_' and '-' (at most 64 characters)",
                fields={"name": ""},
            )
        return self.root / name

    def _existing(self, name: str) -> Path:
        directory = self._dir(name)
        if not (directory / CERT_FILE).is_file():
            raise CaStoreError(
                "ca_not_found", f"测试 CA「{name}」不存在", f"Test CA {name!r} does not exist", status=404
            )
        return directory

    @contextmanager
    def _locked(self, name: str) -> Iterator[Path]:
        directory = self._existing(name)
        fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield directory
        finally:
            os.close(fd)  # closing releases the lock

    @staticmethod
    def _read_serial(directory: Path) -> int:
        return int((directory / SERIAL_FILE).read_text().strip())

    def _take_serial(self, directory: Path) -> int:
        serial = self._read_serial(directory)
        # Persist the increment before the certificate leaves: a crash may skip a serial but
        # never reuses one.
        _atomic_write(directory / SERIAL_FILE, f"{serial + 1}\n".encode(), 0o644)
        return serial

    @staticmethod
    def _read_revoked(directory: Path) -> list[Revocation]:
        raw = json.loads((directory / REVOKED_FILE).read_text())
        return [
            Revocation(serial=int(r["serial"]), revoked_at=dt.datetime.fromisoformat(r["revoked_at"]))
            for r in raw
        ]

    def _write_crl(
        self, name: str, directory: Path, revoked: list[Revocation], now: dt.datetime
    ) -> x509.CertificateRevocationList:
        ca = self.load(name)
        previous = self.crl(name).extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
        crl = certs.make_crl(
            ca_key=ca.key,
            ca_cert=ca.certificate,
            revoked=[(r.serial, r.revoked_at) for r in revoked],
            now=now,
            next_update_days=self.crl_days,
            number=previous + 1,
        )
        _atomic_write(directory / CRL_FILE, _crl_pem(crl), 0o644)
        return crl


def _crl_pem(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(Encoding.PEM)


def _atomic_write(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory and ``os.replace``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)  # before any byte is written: a key is never readable by others
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
