"""Fixtures of the accounts tests: a real test CA (core.crypto.ca_store) and certificates from it."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from django.test import Client

from tenderhall.accounts import services
from tenderhall.accounts.models import Certificate, Organization, TrustedCA, User
from tenderhall.core import clock
from tenderhall.core.crypto import certs
from tenderhall.core.crypto.ca_store import CaStore

CA_NAME = "test-ca"
# A fixed start, 5 s into a TOTP step (16:00:05 in Beijing): steps and certificate times are predictable.
T0 = dt.datetime(2026, 3, 2, 8, 0, 5, tzinfo=dt.UTC)


@pytest.fixture
def t0() -> Iterator[dt.datetime]:
    """Fix the clock at T0 (the autouse fixture of tests/conftest.py releases it)."""
    clock.set_now(T0)
    yield T0


@dataclass
class Issued:
    """A certificate and its private key, as the bidder tool holds them."""

    key: certs.SigningPrivateKey
    certificate: x509.Certificate

    @property
    def pem(self) -> str:
        return certs.certificate_to_pem(self.certificate).decode()

    def sign(self, text: str) -> str:
        return base64.b64encode(certs.sign_challenge(self.key, text)).decode()


class Pki:
    """Test CAs kept in ``tmp_path``, trusted by the platform through the service."""

    def __init__(self, root: Path) -> None:
        self.store = CaStore(root)

    def make_ca(
        self, name: str = CA_NAME, *, trust: bool = True, acting_user: User | None = None
    ) -> TrustedCA | None:
        cert = self.store.init(name, now=clock.now())
        if not trust:
            return None
        return services.trusted_ca_add(
            acting_user=acting_user,
            name=name,
            certificate_pem=certs.certificate_to_pem(cert).decode(),
            crl_pem=certs.crl_to_pem(self.store.crl(name)).decode(),
        )

    def issue(
        self,
        *,
        uscc: str,
        organization_name: str = "测试单位",
        common_name: str = "持证人",
        ca: str = CA_NAME,
        algorithm: certs.SigningAlgorithm = "ed25519",
        valid_days: int = 730,
    ) -> Issued:
        key = certs.generate_signing_key(algorithm)
        subject = certs.make_subject(common_name=common_name, organization=organization_name, uscc=uscc)
        csr = certs.create_csr(signing_key=key, subject=subject)
        cert = self.store.issue_signing(
            ca, csr_pem=certs.csr_to_pem(csr), valid_days=valid_days, now=clock.now()
        )
        return Issued(key=key, certificate=cert)

    def issue_for(self, user: User, **kwargs: object) -> Issued:
        org = user.organization
        assert org is not None
        return self.issue(uscc=org.uscc, organization_name=org.name, common_name=user.username, **kwargs)  # type: ignore[arg-type]

    def register(self, user: User, issued: Issued, *, acting_user: User | None = None) -> Certificate:
        org = user.organization
        assert isinstance(org, Organization)
        return services.certificate_register(
            acting_user=acting_user, organization=org, certificate_pem=issued.pem, holder=user
        )

    def revoke(
        self, issued: Issued, *, ca: str = CA_NAME, acting_user: User | None = None
    ) -> list[Certificate]:
        crl = self.store.revoke(ca, serial=issued.certificate.serial_number, now=clock.now())
        return services.trusted_ca_update_crl(
            acting_user=acting_user,
            ca=TrustedCA.objects.get(name=ca),
            crl_pem=certs.crl_to_pem(crl).decode(),
        )


@pytest.fixture
def pki(ca_root: Path, db: None, t0: dt.datetime) -> Pki:
    """Fixes the clock at T0 first, so every certificate in a test is issued on one timeline."""
    return Pki(ca_root)


@pytest.fixture
def trusted_ca(pki: Pki, staff: User) -> TrustedCA:
    ca = pki.make_ca(acting_user=staff)
    assert ca is not None
    return ca


@pytest.fixture
def bidder_cert(pki: Pki, trusted_ca: TrustedCA, bidder: User) -> Issued:
    """The bidder's signing certificate, issued by the trusted test CA and registered to it."""
    issued = pki.issue_for(bidder)
    pki.register(bidder, issued)
    return issued


@pytest.fixture
def api(db: None) -> Client:
    """A client that turns a server error into a 500 response (so a test can assert it never happens)."""
    return Client(raise_request_exception=False)
