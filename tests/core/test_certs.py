"""Certificates: keys, the test CA, chain verification, CRLs, challenges, and the on-disk CaStore."""

from __future__ import annotations

import datetime as dt
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from tenderhall.core.crypto import certs
from tenderhall.core.crypto.ca_store import CaStore, CaStoreError
from tenderhall.core.crypto.certs import CertificateError, TrustAnchor

T0 = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)
LATER = T0 + dt.timedelta(days=3)
USCC = "91110000600037341L"
NONCE = "Zq3xV9c2kP0aB7dE-_fGhJ"


def subject(cn: str = "张三", org: str = "示例建设集团有限公司", uscc: str = USCC) -> x509.Name:
    return certs.make_subject(common_name=cn, organization=org, uscc=uscc)


@pytest.fixture(scope="module")
def ca() -> tuple[Ed25519PrivateKey, x509.Certificate]:
    return certs.create_ca(name="tenderhall Test CA 1", now=T0)


@pytest.fixture(scope="module")
def other_ca() -> tuple[Ed25519PrivateKey, x509.Certificate]:
    return certs.create_ca(name="Another Province CA", now=T0)


def anchor(ca_pair: tuple[Ed25519PrivateKey, x509.Certificate], revoked=(), now=T0) -> TrustAnchor:
    key, cert = ca_pair
    return TrustAnchor(cert, certs.make_crl(ca_key=key, ca_cert=cert, revoked=revoked, now=now))


def signing_cert(ca_pair, algorithm="ed25519", *, valid_days=365, now=T0, name=None):
    key = certs.generate_signing_key(algorithm)
    cert = certs.issue_signing_certificate(
        ca_key=ca_pair[0],
        ca_cert=ca_pair[1],
        subject=name or subject(),
        public_key=key.public_key(),
        valid_days=valid_days,
        now=now,
    )
    return key, cert


def encryption_cert(ca_pair, *, now=T0):
    key = certs.generate_encryption_key()
    cert = certs.issue_encryption_certificate(
        ca_key=ca_pair[0],
        ca_cert=ca_pair[1],
        subject=subject(),
        public_key=key.public_key(),
        valid_days=365,
        now=now,
    )
    return key, cert


def refused(code: str, fn, *args, **kwargs) -> CertificateError:
    with pytest.raises(CertificateError) as info:
        fn(*args, **kwargs)
    assert info.value.code == code, info.value.message
    return info.value


# ------------------------------------------------------------------------------------------------
# keys and naming


@pytest.mark.parametrize("algorithm", ["ed25519", "p256"])
def test_signing_key_pem_round_trip_with_and_without_passphrase(algorithm):
    key = certs.generate_signing_key(algorithm)
    assert certs.key_algorithm_name(key.public_key()) == algorithm
    plain = certs.private_key_to_pem(key)
    assert plain.startswith(b"-----BEGIN PRIVATE KEY-----")
    secret = certs.private_key_to_pem(key, b"s3cret")
    assert secret.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    for pem, passphrase in ((plain, None), (secret, b"s3cret")):
        loaded = certs.load_private_key(pem, passphrase)
        assert certs.public_key_to_pem(loaded.public_key()) == certs.public_key_to_pem(key.public_key())
    refused("key_malformed", certs.load_private_key, secret, b"wrong")
    refused("key_passphrase", certs.load_private_key, secret, None)
    refused("key_passphrase", certs.load_private_key, plain, b"unneeded")


def test_encryption_key_is_x25519_and_cannot_sign():
    key = certs.generate_encryption_key()
    assert isinstance(key, X25519PrivateKey)
    assert certs.key_algorithm_name(key.public_key()) == "x25519"
    pem = certs.private_key_to_pem(key)
    assert isinstance(certs.load_encryption_key(pem), X25519PrivateKey)
    refused("key_wrong_usage", certs.load_signing_key, pem)
    assert certs.load_public_key(certs.public_key_to_pem(key.public_key())) == key.public_key()


def test_other_curves_are_unsupported():
    key = ec.generate_private_key(ec.SECP384R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    refused("key_unsupported", certs.load_private_key, pem)
    refused("key_unsupported", certs.key_algorithm_name, key.public_key())


def test_subject_carries_uscc_as_organization_identifier(ca):
    _, cert = signing_cert(ca)
    assert cert.subject.get_attributes_for_oid(x509.ObjectIdentifier("2.5.4.97"))[0].value == USCC
    assert certs.subject_uscc(cert) == USCC
    assert "organizationIdentifier=91110000600037341L" in certs.subject_text(cert.subject)
    assert certs.subject_uscc(ca[1]) is None


def test_load_certificate_pem_str_der_and_garbage(ca):
    _, cert = ca
    pem = cert.public_bytes(serialization.Encoding.PEM)
    assert certs.load_certificate(pem) == cert
    assert certs.load_certificate(pem.decode()) == cert
    assert certs.load_certificate(cert.public_bytes(serialization.Encoding.DER)) == cert
    refused(
        "cert_malformed",
        certs.load_certificate,
        b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n",
    )
    refused("cert_malformed", certs.load_certificate, "not a certificate")
    fp = certs.fingerprint_sha256(cert)
    assert len(fp) == 64 and fp == fp.lower()


def test_ca_certificate_shape(ca):
    _, cert = ca
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and not usage.digital_signature
    assert cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    cert.verify_directly_issued_by(cert)


# ------------------------------------------------------------------------------------------------
# verification


@pytest.mark.parametrize("algorithm", ["ed25519", "p256"])
def test_signing_certificate_verifies(ca, algorithm):
    _, cert = signing_cert(ca, algorithm)
    trusted = anchor(ca)
    assert certs.verify_certificate(cert, [trusted], at=LATER, usage="signing") is trusted
    assert certs.verify_certificate(cert, [trusted], at=LATER) is trusted
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH in eku
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca[1].extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest


def test_x25519_encryption_certificate_verifies(ca):
    key, cert = encryption_cert(ca)
    assert cert.public_key() == key.public_key()
    trusted = anchor(ca)
    assert certs.verify_certificate(cert, [trusted], at=LATER, usage="encryption") is trusted
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_agreement and not usage.digital_signature


def test_two_independent_cas_are_trusted_at_once(ca, other_ca):
    anchors = [anchor(ca), anchor(other_ca)]
    _, first = signing_cert(ca)
    _, second = signing_cert(other_ca, "p256")
    assert certs.verify_certificate(first, anchors, at=LATER, usage="signing") is anchors[0]
    assert certs.verify_certificate(second, anchors, at=LATER, usage="signing") is anchors[1]


def test_untrusted_issuer_is_refused(ca, other_ca):
    _, cert = signing_cert(other_ca)
    error = refused("cert_untrusted", certs.verify_certificate, cert, [anchor(ca)], at=LATER)
    assert error.status == 403
    assert certs.serial_hex(cert) in error.message_zh and certs.serial_hex(cert) in error.message_en
    assert "Another Province CA" in error.message_en
    assert error.as_problem()["certificate_serial"] == certs.serial_hex(cert)
    refused("cert_untrusted", certs.verify_certificate, cert, [], at=LATER)


def test_impostor_ca_with_the_same_name_is_refused(ca):
    impostor = certs.create_ca(name="tenderhall Test CA 1", now=T0)
    assert impostor[1].subject == ca[1].subject
    _, cert = signing_cert(impostor)
    refused("cert_untrusted", certs.verify_certificate, cert, [anchor(ca)], at=LATER)

    # Same name and no AKI to tell them apart: only the signature check can catch it.
    key = certs.generate_signing_key("ed25519")
    bare = (
        x509.CertificateBuilder()
        .subject_name(subject())
        .issuer_name(ca[1].subject)
        .public_key(key.public_key())
        .serial_number(4242)
        .not_valid_before(T0)
        .not_valid_after(T0 + dt.timedelta(days=365))
        .sign(impostor[0], None)
    )
    refused("cert_untrusted", certs.verify_certificate, bare, [anchor(ca)], at=LATER)


def test_altered_certificate_is_refused(ca):
    _, cert = signing_cert(ca)
    der = bytearray(cert.public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0x01  # the last byte belongs to the Ed25519 signature
    forged = x509.load_der_x509_certificate(bytes(der))
    refused("cert_untrusted", certs.verify_certificate, forged, [anchor(ca)], at=LATER)


def test_expired_and_not_yet_valid(ca):
    _, cert = signing_cert(ca, valid_days=10, now=T0 + dt.timedelta(days=1))
    trusted = anchor(ca, now=T0 + dt.timedelta(days=20))
    error = refused("cert_expired", certs.verify_certificate, cert, [trusted], at=T0 + dt.timedelta(days=20))
    assert "expired at 2025-03-12 08:00:00 UTC" in error.message_en
    assert "2025-03-12 16:00:00（北京时间）" in error.message_zh and "过期" in error.message_zh
    error = refused("cert_not_yet_valid", certs.verify_certificate, cert, [anchor(ca)], at=T0)
    assert "not valid before 2025-03-02 08:00:00 UTC" in error.message_en
    # boundaries are inclusive
    certs.verify_certificate(cert, [anchor(ca, now=T0 + dt.timedelta(days=1))], at=cert.not_valid_before_utc)
    certs.verify_certificate(cert, [anchor(ca, now=T0 + dt.timedelta(days=5))], at=cert.not_valid_after_utc)


def test_expired_anchor_is_untrusted(ca):
    _, cert = signing_cert(ca, valid_days=20000)
    assert cert.not_valid_after_utc == ca[1].not_valid_after_utc  # capped at the issuer's end
    late = ca[1].not_valid_after_utc + dt.timedelta(days=1)
    refused("cert_untrusted", certs.verify_certificate, cert, [TrustAnchor(ca[1], None)], at=late)


def test_naive_time_is_a_programming_error(ca):
    _, cert = signing_cert(ca)
    with pytest.raises(ValueError):
        certs.verify_certificate(cert, [anchor(ca)], at=dt.datetime(2025, 4, 1))


def test_revoked_certificate_is_refused(ca):
    _, cert = signing_cert(ca)
    _, fine = signing_cert(ca)
    revoked_at = T0 + dt.timedelta(days=2)
    trusted = anchor(ca, revoked=[(cert.serial_number, revoked_at)], now=T0 + dt.timedelta(days=3))
    error = refused("cert_revoked", certs.verify_certificate, cert, [trusted], at=T0 + dt.timedelta(days=4))
    assert "revoked at 2025-03-03 08:00:00 UTC" in error.message_en
    assert certs.verify_certificate(fine, [trusted], at=T0 + dt.timedelta(days=4)) is trusted
    # without any CRL the CA publishes none and nothing is checked
    assert certs.verify_certificate(cert, [TrustAnchor(ca[1], None)], at=LATER)


def test_crl_signed_by_the_wrong_key_fails_closed(ca, other_ca):
    _, cert = signing_cert(ca)
    wrong = certs.make_crl(ca_key=other_ca[0], ca_cert=ca[1], revoked=[], now=T0)
    error = refused("crl_invalid", certs.verify_certificate, cert, [TrustAnchor(ca[1], wrong)], at=T0)
    assert "CRL" in error.message_en
    foreign = certs.make_crl(ca_key=other_ca[0], ca_cert=other_ca[1], revoked=[], now=T0)
    refused("crl_invalid", certs.verify_certificate, cert, [TrustAnchor(ca[1], foreign)], at=T0)


def test_stale_crl_fails_closed(ca):
    _, cert = signing_cert(ca)
    trusted = anchor(ca, now=T0)  # next update T0 + 7 days
    assert certs.verify_certificate(cert, [trusted], at=T0 + dt.timedelta(days=7))
    error = refused(
        "crl_invalid", certs.verify_certificate, cert, [trusted], at=T0 + dt.timedelta(days=7, seconds=1)
    )
    assert "stale" in error.message_en


def test_wrong_usage_is_refused(ca):
    _, sign = signing_cert(ca)
    _, enc = encryption_cert(ca)
    trusted = anchor(ca)
    error = refused(
        "cert_wrong_usage", certs.verify_certificate, sign, [trusted], at=LATER, usage="encryption"
    )
    assert error.status == 400
    refused("cert_wrong_usage", certs.verify_certificate, enc, [trusted], at=LATER, usage="signing")
    # and the issuing helpers refuse the wrong key kind outright
    x_key = certs.generate_encryption_key()
    refused(
        "key_wrong_usage",
        certs.issue_signing_certificate,
        ca_key=ca[0],
        ca_cert=ca[1],
        subject=subject(),
        public_key=x_key.public_key(),
        now=T0,
    )
    refused(
        "key_wrong_usage",
        certs.issue_encryption_certificate,
        ca_key=ca[0],
        ca_cert=ca[1],
        subject=subject(),
        public_key=certs.generate_signing_key().public_key(),
        now=T0,
    )


@pytest.mark.parametrize("algorithm", ["ed25519", "p256"])
def test_csr_round_trip(ca, algorithm):
    key = certs.generate_signing_key(algorithm)
    csr = certs.create_csr(signing_key=key, subject=subject())
    parsed = certs.load_csr(csr.public_bytes(serialization.Encoding.PEM))
    assert parsed.is_signature_valid
    cert = certs.issue_from_csr(ca_key=ca[0], ca_cert=ca[1], csr=parsed, valid_days=365, now=T0, serial=77)
    assert cert.serial_number == 77
    assert cert.subject == subject()
    assert certs.subject_uscc(cert) == USCC
    assert cert.public_key() == key.public_key()
    certs.verify_certificate(cert, [anchor(ca)], at=LATER, usage="signing")


def test_csr_with_a_bad_signature_is_refused(ca):
    key = certs.generate_signing_key("ed25519")
    der = bytearray(
        certs.create_csr(signing_key=key, subject=subject()).public_bytes(serialization.Encoding.DER)
    )
    der[-1] ^= 0x01
    tampered = x509.load_der_x509_csr(bytes(der))
    refused(
        "csr_invalid", certs.issue_from_csr, ca_key=ca[0], ca_cert=ca[1], csr=tampered, valid_days=1, now=T0
    )
    refused("csr_invalid", certs.load_csr, b"garbage")


# ------------------------------------------------------------------------------------------------
# signatures and challenges


@pytest.mark.parametrize("algorithm", ["ed25519", "p256"])
def test_challenge_signature(ca, algorithm):
    key, cert = signing_cert(ca, algorithm)
    text = certs.challenge_text(NONCE, "bidder01")
    assert text == f"tenderhall-login:v1:{NONCE}:bidder01"
    assert certs.parse_challenge(text) == (NONCE, "bidder01")
    signature = certs.sign_challenge(key, text)
    certs.verify_signature(cert, text.encode(), signature)
    certs.verify_signature(cert.public_key(), text.encode(), signature)
    error = refused("signature_invalid", certs.verify_signature, cert, (text + "x").encode(), signature)
    assert error.status == 400
    other_key, _ = signing_cert(ca, algorithm)
    refused(
        "signature_invalid",
        certs.verify_signature,
        cert,
        text.encode(),
        certs.sign_challenge(other_key, text),
    )
    refused("signature_invalid", certs.verify_signature, cert, text.encode(), b"\x00" * 64)


def test_encryption_certificate_cannot_verify_signatures(ca):
    _, enc = encryption_cert(ca)
    refused("cert_wrong_usage", certs.verify_signature, enc, b"data", b"\x00" * 64)


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "tenderhall-login:v1:",
        f"tenderhall-login:v2:{NONCE}:bidder01",
        f"tenderhall-login:v1:{NONCE}",
        "tenderhall-login:v1:short:bidder01",
        f"tenderhall-login:v1:{NONCE}:bidder 01",
        f"tenderhall-login:v1:{NONCE}:bidder01\n{{}}",
    ],
)
def test_parse_challenge_refuses_other_texts(text):
    refused("challenge_invalid", certs.parse_challenge, text)


# ------------------------------------------------------------------------------------------------
# CaStore


def test_ca_store_init_issue_revoke(tmp_path):
    store = CaStore(tmp_path / "ca")
    root = store.init("demo-ca", now=T0)
    directory = tmp_path / "ca" / "demo-ca"
    assert stat.S_IMODE((directory / "ca.key").stat().st_mode) == 0o600
    for name in ("ca.pem", "serial", "revoked.json", "crl.pem"):
        assert (directory / name).is_file()
    assert store.names() == ["demo-ca"]
    assert store.load("demo-ca").certificate == root
    assert store.crl("demo-ca").next_update_utc == T0 + dt.timedelta(days=7)
    with pytest.raises(CaStoreError) as info:
        store.init("demo-ca", now=T0)
    assert info.value.code == "ca_exists" and info.value.status == 409

    key = certs.generate_signing_key("p256")
    csr = certs.create_csr(signing_key=key, subject=subject()).public_bytes(serialization.Encoding.PEM)
    signing = store.issue_signing("demo-ca", csr_pem=csr, valid_days=365, now=T0)
    enc_key = certs.generate_encryption_key()
    encryption = store.issue_encryption(
        "demo-ca",
        public_key_pem=certs.public_key_to_pem(enc_key.public_key()),
        subject=subject(),
        valid_days=365,
        now=T0,
    )
    assert (signing.serial_number, encryption.serial_number) == (1, 2)
    assert (directory / "serial").read_text().strip() == "3"
    anchors = [store.trust_anchor("demo-ca")]
    certs.verify_certificate(signing, anchors, at=T0 + dt.timedelta(days=1), usage="signing")
    certs.verify_certificate(encryption, anchors, at=T0 + dt.timedelta(days=1), usage="encryption")

    crl = store.revoke("demo-ca", serial=1, now=T0 + dt.timedelta(days=2))
    assert crl.get_revoked_certificate_by_serial_number(1) is not None
    assert store.crl("demo-ca").public_bytes(serialization.Encoding.DER) == crl.public_bytes(
        serialization.Encoding.DER
    )
    assert [r.serial for r in store.revocations("demo-ca")] == [1]
    anchors = [store.trust_anchor("demo-ca")]
    refused("cert_revoked", certs.verify_certificate, signing, anchors, at=T0 + dt.timedelta(days=3))
    certs.verify_certificate(encryption, anchors, at=T0 + dt.timedelta(days=3))

    # revoking again keeps the first date; CRL numbers increase
    again = store.revoke("demo-ca", serial=1, now=T0 + dt.timedelta(days=4))
    entry = again.get_revoked_certificate_by_serial_number(1)
    assert entry is not None and entry.revocation_date_utc == T0 + dt.timedelta(days=2)
    numbers = [c.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number for c in (crl, again)]
    assert numbers[1] == numbers[0] + 1

    with pytest.raises(CaStoreError) as info:
        store.revoke("demo-ca", serial=99, now=T0)
    assert info.value.code == "serial_unknown"
    # no temp files are left behind
    assert sorted(p.name for p in directory.iterdir() if p.name.startswith(".") and p.name != ".lock") == []


def test_ca_store_refresh_crl_and_names(tmp_path):
    store = CaStore(tmp_path)
    store.init("b-ca", now=T0)
    store.init("a-ca", now=T0)
    assert store.names() == ["a-ca", "b-ca"]
    crl = store.refresh_crl("a-ca", now=T0 + dt.timedelta(days=6))
    assert crl.next_update_utc == T0 + dt.timedelta(days=13)
    with pytest.raises(CaStoreError) as info:
        store.load("missing")
    assert info.value.code == "ca_not_found"
    with pytest.raises(CaStoreError) as info:
        store.init("../escape", now=T0)
    assert info.value.code == "ca_name_invalid"
    with pytest.raises(CertificateError):
        store.issue_signing("a-ca", csr_pem=b"garbage", valid_days=1, now=T0)
    with pytest.raises(CertificateError) as cert_info:
        store.issue_encryption(
            "a-ca",
            public_key_pem=certs.public_key_to_pem(certs.generate_signing_key().public_key()),
            subject=subject(),
            valid_days=1,
            now=T0,
        )
    assert cert_info.value.code == "key_wrong_usage"
