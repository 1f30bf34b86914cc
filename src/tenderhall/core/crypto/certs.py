"""X.509 certificates for bidders: keys, a test CA, chain checks and login challenges (DESIGN §4).

Each bidder organization holds two certificates, as Chinese CA practice does: a *signing*
certificate (Ed25519 or ECDSA P-256) and an *encryption* certificate carrying an X25519 key. The
platform trusts several CA roots at once (全CA互认), each given as a :class:`TrustAnchor` with its
current CRL.

This module is pure crypto: it imports nothing from Django, so the bidder tool
(``tenderhall-bid``) can use it too. Every refusal is a :class:`CertificateError` with a stable
code and a Chinese and English message naming the certificate and the reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias, TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tenderhall.core.clock import LOCAL_TZ
from tenderhall.core.errors import DomainError

SigningPrivateKey: TypeAlias = Ed25519PrivateKey | ec.EllipticCurvePrivateKey
SigningPublicKey: TypeAlias = Ed25519PublicKey | ec.EllipticCurvePublicKey
PrivateKey: TypeAlias = SigningPrivateKey | X25519PrivateKey
PublicKey: TypeAlias = SigningPublicKey | X25519PublicKey
SigningAlgorithm = Literal["ed25519", "p256"]
Usage = Literal["signing", "encryption"]

CHALLENGE_PREFIX = "tenderhall-login:v1"
# Signing in to one opening hall: "<prefix>:<nonce>:<section id>:<username>" (a different prefix, so
# a login signature is never a hall sign-in and the reverse).
HALL_CHALLENGE_PREFIX = "tenderhall-hall:v1"
# Nonces are server-made (secrets.token_urlsafe). Keeping them to this alphabet means the text
# "<prefix>:<nonce>:<username>" splits one way only, so a signature can never be re-read as a
# challenge for another nonce/username pair.
_NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,128}")

# organizationIdentifier (2.5.4.97) carries the 统一社会信用代码. ETSI EN 319 412-1 CAs write it
# with a semantics prefix ("NTRCN-" = national trade register, China); we accept both forms.
_USCC_PREFIX = "NTRCN-"
_NAME_OVERRIDES = {NameOID.ORGANIZATION_IDENTIFIER: "organizationIdentifier"}

_T = TypeVar("_T", bound=x509.ExtensionType)


class CertificateError(DomainError):
    """A certificate, key, CRL or signature the platform refuses."""

    status = 400


@dataclass(frozen=True)
class TrustAnchor:
    """A CA root the platform trusts, with its current CRL (``None``: the CA publishes none)."""

    certificate: x509.Certificate
    crl: x509.CertificateRevocationList | None = None


# --------------------------------------------------------------------------------------------
# Keys


def generate_signing_key(algorithm: SigningAlgorithm = "ed25519") -> SigningPrivateKey:
    """A new signing key: Ed25519 (default) or ECDSA on P-256."""
    if algorithm == "ed25519":
        return Ed25519PrivateKey.generate()
    if algorithm == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unknown signing algorithm {algorithm!r}")


def generate_encryption_key() -> X25519PrivateKey:
    """A new X25519 key (the age recipient key of the encryption certificate)."""
    return X25519PrivateKey.generate()


def private_key_to_pem(key: PrivateKey, passphrase: bytes | None = None) -> bytes:
    """PKCS#8 PEM, encrypted with ``passphrase`` when one is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def load_private_key(pem: bytes, passphrase: bytes | None = None) -> PrivateKey:
    """Read a PKCS#8 (or traditional) PEM private key of a supported algorithm."""
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase or None)
    except TypeError as exc:
        # cryptography says TypeError when a passphrase is missing or superfluous.
        if passphrase:
            zh, en = "私钥未加密，不需要口令", "the private key is not encrypted; no passphrase is needed"
        else:
            zh, en = "私钥已加密，请提供口令", "the private key is encrypted; give its passphrase"
        raise CertificateError("key_passphrase", zh, en) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CertificateError(
            "key_malformed",
            "无法读取私钥（格式错误或口令不正确）",
            "Cannot read the private key (bad format or wrong passphrase)",
        ) from exc
    if isinstance(key, Ed25519PrivateKey | X25519PrivateKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise _unsupported_key(type(key).__name__)


def load_signing_key(pem: bytes, passphrase: bytes | None = None) -> SigningPrivateKey:
    """Like :func:`load_private_key`, refusing keys that cannot sign (X25519)."""
    key = load_private_key(pem, passphrase)
    if isinstance(key, X25519PrivateKey):
        raise CertificateError(
            "key_wrong_usage",
            "该私钥是加密密钥（X25519），不能签名",
            "This is an encryption key (X25519); it cannot sign",
        )
    return key


def load_encryption_key(pem: bytes, passphrase: bytes | None = None) -> X25519PrivateKey:
    """Like :func:`load_private_key`, refusing keys that are not X25519."""
    key = load_private_key(pem, passphrase)
    if not isinstance(key, X25519PrivateKey):
        raise CertificateError(
            "key_wrong_usage", "该私钥不是 X25519 加密密钥", "This is not an X25519 encryption key"
        )
    return key


def public_key_to_pem(key: PublicKey) -> bytes:
    """SubjectPublicKeyInfo PEM."""
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_key(pem: bytes) -> PublicKey:
    """Read a SubjectPublicKeyInfo PEM public key of a supported algorithm."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CertificateError("key_malformed", "无法读取公钥", "Cannot read the public key") from exc
    key_algorithm_name(key)  # refuses anything else
    assert isinstance(key, Ed25519PublicKey | X25519PublicKey | ec.EllipticCurvePublicKey)
    return key


def key_algorithm_name(public_key: object) -> str:
    """``"ed25519"``, ``"p256"`` or ``"x25519"``; any other key is refused."""
    if isinstance(public_key, Ed25519PublicKey):
        return "ed25519"
    if isinstance(public_key, X25519PublicKey):
        return "x25519"
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(public_key.curve, ec.SECP256R1):
        return "p256"
    raise _unsupported_key(type(public_key).__name__)


def _unsupported_key(what: str) -> CertificateError:
    return CertificateError(
        "key_unsupported",
        f"不支持的密钥算法（{what}）；仅支持 Ed25519、ECDSA P-256 和 X25519",
        f"Unsupported key algorithm ({what}); only Ed25519, ECDSA P-256 and X25519 are accepted",
    )


# --------------------------------------------------------------------------------------------
# Certificates: reading and naming


def load_certificate(pem: bytes | str) -> x509.Certificate:
    """Read one PEM certificate (DER is accepted too); garbage is ``cert_malformed``."""
    data = pem.encode("utf-8", "replace") if isinstance(pem, str) else pem
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise CertificateError(
            "cert_malformed", "证书格式错误，无法解析", "The certificate is malformed and cannot be read"
        ) from exc


def certificate_to_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def fingerprint_sha256(cert: x509.Certificate) -> str:
    """SHA-256 over the DER certificate, lowercase hex."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def serial_hex(cert: x509.Certificate) -> str:
    """The serial number as CAs print it (uppercase hex)."""
    return f"{cert.serial_number:X}"


def subject_text(name: x509.Name) -> str:
    """RFC 4514 text, spelling out organizationIdentifier rather than its OID."""
    return name.rfc4514_string(_NAME_OVERRIDES)


def make_subject(*, common_name: str, organization: str, uscc: str) -> x509.Name:
    """CN, O and organizationIdentifier (2.5.4.97) = the 统一社会信用代码."""
    if not common_name.strip() or not organization.strip() or not uscc.strip():
        raise CertificateError(
            "subject_invalid",
            "证书主体需要名称、单位和统一社会信用代码",
            "A certificate subject needs a common name, an organization and a unified social credit code",
        )
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name.strip()),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization.strip()),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, uscc.strip().upper()),
        ]
    )


def subject_uscc(cert: x509.Certificate) -> str | None:
    """The 统一社会信用代码 in the subject's organizationIdentifier, if any."""
    for attr in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER):
        value = attr.value.decode("utf-8", "replace") if isinstance(attr.value, bytes) else attr.value
        value = value.strip()
        if value.upper().startswith(_USCC_PREFIX):
            value = value[len(_USCC_PREFIX) :]
        return value.upper() or None
    return None


def _describe(cert: x509.Certificate) -> tuple[str, str]:
    subject = subject_text(cert.subject)
    return (
        f"证书（序列号 {serial_hex(cert)}，主体 {subject}）",
        f"Certificate (serial {serial_hex(cert)}, subject {subject})",
    )


def _times(moment: dt.datetime) -> tuple[str, str]:
    """A moment as shown in each language: Beijing time in Chinese, UTC in English."""
    local = moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")
    utc = moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{local}（北京时间）", utc


def _refuse(
    code: str, cert: x509.Certificate, reason_zh: str, reason_en: str, *, status: int = 403
) -> CertificateError:
    who_zh, who_en = _describe(cert)
    return CertificateError(
        code,
        f"{who_zh}{reason_zh}",
        f"{who_en} {reason_en}",
        status=status,
        extra={
            "certificate_serial": serial_hex(cert),
            "certificate_subject": subject_text(cert.subject),
        },
    )


def _aware(moment: dt.datetime, what: str) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{what} must be an aware datetime")
    return moment.astimezone(dt.UTC)


def _extension(cert: x509.Certificate | x509.CertificateSigningRequest, kind: type[_T]) -> _T | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _subject_key_id(cert: x509.Certificate) -> bytes:
    ski = _extension(cert, x509.SubjectKeyIdentifier)
    if ski is not None:
        return ski.digest
    return x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest


def _sign_hash(key: SigningPrivateKey) -> hashes.SHA256 | None:
    # Ed25519 hashes internally and cryptography wants None; ECDSA P-256 pairs with SHA-256.
    return None if isinstance(key, Ed25519PrivateKey) else hashes.SHA256()


def _check_signing_public_key(public_key: object) -> None:
    if key_algorithm_name(public_key) == "x25519":
        raise CertificateError(
            "key_wrong_usage",
            "签名证书需要 Ed25519 或 ECDSA P-256 公钥，而不是 X25519",
            "A signing certificate needs an Ed25519 or ECDSA P-256 key, not X25519",
        )


# --------------------------------------------------------------------------------------------
# A test CA (used by `tenderhall ca`, demos and tests)


def create_ca(
    *, name: str, valid_days: int = 3650, now: dt.datetime
) -> tuple[Ed25519PrivateKey, x509.Certificate]:
    """A self-signed Ed25519 root: CA:TRUE (no intermediates), keyCertSign + cRLSign, SKI."""
    now = _aware(now, "now")
    key = Ed25519PrivateKey.generate()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tenderhall test CA"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, None)
    )
    return key, cert


def _leaf_builder(
    *,
    ca_cert: x509.Certificate,
    subject: x509.Name,
    public_key: PublicKey,
    valid_days: int,
    now: dt.datetime,
    serial: int | None,
) -> x509.CertificateBuilder:
    now = _aware(now, "now")
    if not ca_cert.not_valid_before_utc <= now <= ca_cert.not_valid_after_utc:
        raise _refuse(
            "cert_untrusted", ca_cert, "不在有效期内，不能签发证书", "is not valid now; it cannot issue"
        )
    # A leaf never outlives its issuer: verifiers would refuse the tail anyway.
    not_after = min(now + dt.timedelta(days=valid_days), ca_cert.not_valid_after_utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                x509.SubjectKeyIdentifier(_subject_key_id(ca_cert))
            ),
            critical=False,
        )
    )


def issue_signing_certificate(
    *,
    ca_key: SigningPrivateKey,
    ca_cert: x509.Certificate,
    subject: x509.Name,
    public_key: SigningPublicKey,
    valid_days: int = 730,
    now: dt.datetime,
    serial: int | None = None,
) -> x509.Certificate:
    """A signing certificate: digitalSignature + nonRepudiation, extendedKeyUsage clientAuth."""
    _check_signing_public_key(public_key)
    builder = _leaf_builder(
        ca_cert=ca_cert, subject=subject, public_key=public_key, valid_days=valid_days, now=now, serial=serial
    )
    builder = builder.add_extension(
        x509.KeyUsage(
            digital_signature=True,
            content_commitment=True,  # nonRepudiation: bids are signed declarations
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        ),
        critical=True,
    ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return builder.sign(ca_key, _sign_hash(ca_key))


def issue_encryption_certificate(
    *,
    ca_key: SigningPrivateKey,
    ca_cert: x509.Certificate,
    subject: x509.Name,
    public_key: X25519PublicKey,
    valid_days: int = 730,
    now: dt.datetime,
    serial: int | None = None,
) -> x509.Certificate:
    """An encryption certificate for an X25519 key: keyAgreement only.

    X25519 keys cannot sign, so there is no CSR proof of possession: the caller must get the
    public key over an authenticated channel (the bidder's signed request, or the bidder tool).
    """
    if not isinstance(public_key, X25519PublicKey):
        raise CertificateError(
            "key_wrong_usage",
            "加密证书需要 X25519 公钥",
            "An encryption certificate needs an X25519 public key",
        )
    builder = _leaf_builder(
        ca_cert=ca_cert, subject=subject, public_key=public_key, valid_days=valid_days, now=now, serial=serial
    )
    builder = builder.add_extension(
        x509.KeyUsage(
            digital_signature=False,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=True,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        ),
        critical=True,
    )
    return builder.sign(ca_key, _sign_hash(ca_key))


def create_csr(*, signing_key: SigningPrivateKey, subject: x509.Name) -> x509.CertificateSigningRequest:
    """A PKCS#10 request signed by the signing key (its proof of possession)."""
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject)
        .sign(signing_key, _sign_hash(signing_key))
    )


def load_csr(pem: bytes | str) -> x509.CertificateSigningRequest:
    data = pem.encode("utf-8", "replace") if isinstance(pem, str) else pem
    try:
        return x509.load_pem_x509_csr(data)
    except ValueError as exc:
        raise CertificateError(
            "csr_invalid", "证书请求（CSR）格式错误", "The certificate signing request (CSR) is malformed"
        ) from exc


def issue_from_csr(
    *,
    ca_key: SigningPrivateKey,
    ca_cert: x509.Certificate,
    csr: x509.CertificateSigningRequest,
    valid_days: int = 730,
    now: dt.datetime,
    serial: int | None = None,
) -> x509.Certificate:
    """A signing certificate for a CSR whose signature verifies. Only the subject is taken from
    the request: extensions are the CA's decision, never the requester's."""
    try:
        public_key = csr.public_key()
        valid = csr.is_signature_valid
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CertificateError("csr_invalid", "证书请求（CSR）无法解析", "The CSR cannot be read") from exc
    if not valid:
        raise CertificateError(
            "csr_invalid",
            "证书请求（CSR）的签名验证失败",
            "The CSR's signature does not verify against its own public key",
        )
    _check_signing_public_key(public_key)
    assert isinstance(public_key, Ed25519PublicKey | ec.EllipticCurvePublicKey)
    return issue_signing_certificate(
        ca_key=ca_key,
        ca_cert=ca_cert,
        subject=csr.subject,
        public_key=public_key,
        valid_days=valid_days,
        now=now,
        serial=serial,
    )


def make_crl(
    *,
    ca_key: SigningPrivateKey,
    ca_cert: x509.Certificate,
    revoked: Iterable[tuple[int, dt.datetime]],
    now: dt.datetime,
    next_update_days: int = 7,
    number: int | None = None,
) -> x509.CertificateRevocationList:
    """A CRL listing ``(serial, revoked_at)`` pairs, valid until ``now + next_update_days``.

    ``number`` is the CRLNumber (RFC 5280 §5.2.3, must increase); by default the issue time in
    seconds, which increases as long as CRLs are not made twice in one second.
    """
    now = _aware(now, "now")
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now)
        .next_update(now + dt.timedelta(days=next_update_days))
        .add_extension(x509.CRLNumber(number if number is not None else int(now.timestamp())), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                x509.SubjectKeyIdentifier(_subject_key_id(ca_cert))
            ),
            critical=False,
        )
    )
    for serial, revoked_at in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(_aware(revoked_at, "revoked_at"))
            .build()
        )
    return builder.sign(ca_key, _sign_hash(ca_key))


def load_crl(pem: bytes | str) -> x509.CertificateRevocationList:
    data = pem.encode("utf-8", "replace") if isinstance(pem, str) else pem
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise CertificateError(
            "crl_invalid", "证书吊销列表（CRL）格式错误", "The CRL is malformed", status=403
        ) from exc


# --------------------------------------------------------------------------------------------
# Verification


def verify_certificate(
    cert: x509.Certificate,
    anchors: Sequence[TrustAnchor],
    *,
    at: dt.datetime,
    usage: Usage | None = None,
) -> TrustAnchor:
    """Check ``cert`` against the trusted roots at time ``at``; return the anchor that issued it.

    Checks, in order: a trusted issuer whose signature verifies (by name, narrowed by AKI), the
    issuer's own validity, the leaf's validity, revocation through the issuer's CRL (a CRL that
    does not verify or is stale fails closed), and the key usage when ``usage`` is given.
    Only direct issuance by a root is supported: the test CA and our trust list have no
    intermediates.
    """
    at = _aware(at, "at")
    try:
        aki = _extension(cert, x509.AuthorityKeyIdentifier)
        extensions = list(cert.extensions)
    except ValueError as exc:
        raise _refuse(
            "cert_malformed", cert, "的扩展项无法解析", "has extensions that cannot be read", status=400
        ) from exc
    if any(ext.critical and isinstance(ext.value, x509.UnrecognizedExtension) for ext in extensions):
        raise _refuse(
            "cert_untrusted", cert, "含有无法识别的关键扩展", "carries an unrecognized critical extension"
        )

    candidates = [a for a in anchors if a.certificate.subject == cert.issuer]
    if aki is not None and aki.key_identifier is not None:
        candidates = [a for a in candidates if _subject_key_id(a.certificate) == aki.key_identifier]
    anchor = next((a for a in candidates if _directly_issued(cert, a.certificate)), None)
    if anchor is None:
        issuer = subject_text(cert.issuer)
        raise _refuse(
            "cert_untrusted",
            cert,
            f"不是由平台信任的 CA 签发的（签发者 {issuer}，或签名验证失败）",
            f"was not issued by a CA the platform trusts (issuer {issuer}, or its signature does not verify)",
        )
    _check_anchor(anchor.certificate, at)

    if at < cert.not_valid_before_utc:
        zh, en = _times(cert.not_valid_before_utc)
        raise _refuse("cert_not_yet_valid", cert, f"尚未生效，生效时间为 {zh}", f"is not valid before {en}")
    if at > cert.not_valid_after_utc:
        zh, en = _times(cert.not_valid_after_utc)
        raise _refuse("cert_expired", cert, f"已于 {zh} 过期", f"expired at {en}")

    if anchor.crl is not None:
        _check_crl(anchor, at)
        entry = anchor.crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        # Fail closed: a listed serial is refused whatever the revocation date, because a
        # compromise usually predates the moment it is reported.
        if entry is not None:
            zh, en = _times(entry.revocation_date_utc)
            raise _refuse("cert_revoked", cert, f"已于 {zh} 被吊销", f"was revoked at {en}")

    if usage is not None:
        _check_usage(cert, usage)
    return anchor


def _directly_issued(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        # ValueError: name mismatch or unsupported signature algorithm; TypeError: key type.
        return False
    return True


def _check_anchor(ca: x509.Certificate, at: dt.datetime) -> None:
    if not ca.not_valid_before_utc <= at <= ca.not_valid_after_utc:
        zh, en = _times(ca.not_valid_after_utc if at > ca.not_valid_after_utc else ca.not_valid_before_utc)
        raise _refuse(
            "cert_untrusted",
            ca,
            f"（受信任的 CA 根证书）不在有效期内（{zh}）",
            f"(a trusted CA root) is not valid at this time ({en})",
        )
    constraints = _extension(ca, x509.BasicConstraints)
    usage = _extension(ca, x509.KeyUsage)
    if constraints is None or not constraints.ca or (usage is not None and not usage.key_cert_sign):
        raise _refuse("cert_untrusted", ca, "不是 CA 证书，不能签发证书", "is not a CA certificate")


def _check_crl(anchor: TrustAnchor, at: dt.datetime) -> None:
    crl = anchor.crl
    assert crl is not None
    ca = anchor.certificate

    def invalid(zh: str, en: str) -> CertificateError:
        return _refuse(
            "crl_invalid",
            ca,
            f"的证书吊销列表（CRL）{zh}，无法确认吊销状态",
            f"has a CRL that {en}; revocation cannot be checked",
        )

    usage = _extension(ca, x509.KeyUsage)
    if usage is not None and not usage.crl_sign:
        raise invalid("由无权签发 CRL 的证书签发", "comes from a certificate without cRLSign")
    try:
        valid = crl.issuer == ca.subject and crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    except (TypeError, ValueError, UnsupportedAlgorithm):
        valid = False
    if not valid:
        raise invalid("签名验证失败", "does not verify against the CA")
    next_update = crl.next_update_utc
    if next_update is None or at > next_update:
        zh, en = _times(next_update) if next_update is not None else ("（未设置）", "(unset)")
        raise invalid(f"已过期（下次更新时间 {zh}）", f"is stale (next update was due {en})")


def _check_usage(cert: x509.Certificate, usage: Usage) -> None:
    try:
        algorithm = key_algorithm_name(cert.public_key())
    except (CertificateError, ValueError, UnsupportedAlgorithm):
        algorithm = "unsupported"
    key_usage = _extension(cert, x509.KeyUsage)
    if usage == "signing":
        ok = algorithm in ("ed25519", "p256") and key_usage is not None and key_usage.digital_signature
        zh, en = (
            "不是签名证书（需要 Ed25519/P-256 密钥和 digitalSignature 用途）",
            "is not a signing certificate (needs an Ed25519/P-256 key with digitalSignature)",
        )
    else:
        ok = algorithm == "x25519" and key_usage is not None and key_usage.key_agreement
        zh, en = (
            "不是加密证书（需要 X25519 密钥和 keyAgreement 用途）",
            "is not an encryption certificate (needs an X25519 key with keyAgreement)",
        )
    if not ok:
        raise _refuse("cert_wrong_usage", cert, zh, en, status=400)


# --------------------------------------------------------------------------------------------
# Signatures and login challenges


def challenge_text(nonce: str, username: str) -> str:
    """The exact text a bidder signs to log in with a certificate."""
    if not _NONCE_RE.fullmatch(nonce):
        raise CertificateError(
            "challenge_invalid",
            "登录挑战的随机数格式不正确",
            "The login challenge's nonce is malformed",
        )
    if not username or any(ch.isspace() or not ch.isprintable() for ch in username):
        raise CertificateError(
            "challenge_invalid", "登录挑战的用户名不正确", "The login challenge's username is malformed"
        )
    return f"{CHALLENGE_PREFIX}:{nonce}:{username}"


def parse_challenge(text: str) -> tuple[str, str]:
    """``(nonce, username)`` of a challenge text; anything else is ``challenge_invalid``.

    The bidder tool signs only texts that parse, so a page or server can never obtain its
    signature over arbitrary data (e.g. a bid manifest).
    """
    prefix = CHALLENGE_PREFIX + ":"
    nonce, sep, username = text.removeprefix(prefix).partition(":")
    if not text.startswith(prefix) or not sep:
        raise CertificateError(
            "challenge_invalid",
            f"不是登录挑战文本（应以 {prefix} 开头）",
            f"This is not a login challenge (it must start with {prefix})",
        )
    if challenge_text(nonce, username) != text:
        raise CertificateError(
            "challenge_invalid", "登录挑战文本格式不正确", "The login challenge is malformed"
        )
    return nonce, username


def sign_data(signing_key: SigningPrivateKey, data: bytes) -> bytes:
    """Ed25519 signature, or ECDSA P-256 with SHA-256 (DER)."""
    if isinstance(signing_key, Ed25519PrivateKey):
        return signing_key.sign(data)
    if isinstance(signing_key, ec.EllipticCurvePrivateKey) and isinstance(signing_key.curve, ec.SECP256R1):
        return signing_key.sign(data, ec.ECDSA(hashes.SHA256()))
    raise _unsupported_key(type(signing_key).__name__)


def hall_challenge_text(nonce: str, section_id: int, username: str) -> str:
    """The exact text a bidder signs to sign in to the opening hall of one section."""
    challenge_text(nonce, username)  # the same nonce and username rules
    if not isinstance(section_id, int) or section_id <= 0:
        raise CertificateError(
            "challenge_invalid", "签到挑战的标段编号不正确", "The hall challenge's section is malformed"
        )
    return f"{HALL_CHALLENGE_PREFIX}:{nonce}:{section_id}:{username}"


def parse_hall_challenge(text: str) -> tuple[str, int, str]:
    """``(nonce, section id, username)`` of a hall sign-in challenge; anything else is refused."""
    prefix = HALL_CHALLENGE_PREFIX + ":"
    parts = text.removeprefix(prefix).split(":", 2)
    if not text.startswith(prefix) or len(parts) != 3 or not parts[1].isdigit():
        raise CertificateError(
            "challenge_invalid",
            f"不是开标大厅签到挑战文本（应以 {prefix} 开头）",
            f"This is not a hall sign-in challenge (it must start with {prefix})",
        )
    nonce, section, username = parts[0], int(parts[1]), parts[2]
    if hall_challenge_text(nonce, section, username) != text:
        raise CertificateError(
            "challenge_invalid", "签到挑战文本格式不正确", "The hall challenge is malformed"
        )
    return nonce, section, username


def sign_challenge(signing_key: SigningPrivateKey, text: str) -> bytes:
    """Sign a login challenge text (UTF-8)."""
    return sign_data(signing_key, text.encode("utf-8"))


def verify_signature(cert_or_public_key: x509.Certificate | PublicKey, data: bytes, signature: bytes) -> None:
    """Raise ``signature_invalid`` unless ``signature`` is the key's signature over ``data``."""
    if isinstance(cert_or_public_key, x509.Certificate):
        try:
            key: object = cert_or_public_key.public_key()
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise CertificateError(
                "cert_malformed", "证书公钥无法解析", "The certificate's public key cannot be read"
            ) from exc
    else:
        key = cert_or_public_key
    try:
        if isinstance(key, Ed25519PublicKey):
            key.verify(signature, data)
            return
        if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
            return
    except (InvalidSignature, ValueError) as exc:
        raise CertificateError(
            "signature_invalid", "签名验证失败", "The signature does not verify", status=400
        ) from exc
    if isinstance(key, X25519PublicKey):
        raise CertificateError(
            "cert_wrong_usage",
            "加密证书（X25519）不能用于验证签名",
            "An encryption (X25519) key cannot verify signatures",
        )
    raise _unsupported_key(type(key).__name__)


def crl_to_pem(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.PEM)


def csr_to_pem(csr: x509.CertificateSigningRequest) -> bytes:
    return csr.public_bytes(serialization.Encoding.PEM)
