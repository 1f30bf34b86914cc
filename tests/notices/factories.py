"""Rows the notices tests stand on, written directly (the projects services are another
engineer's): registered projects and sections, custodians with real X25519 encryption
certificates from an in-memory test CA."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal

import factory
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.x509 import Certificate as X509Certificate

from tenderhall.accounts.models import (
    Certificate,
    CertificateStatus,
    CertificateUsage,
    OrganizationKind,
    TrustedCA,
    User,
)
from tenderhall.core import clock
from tenderhall.core.crypto import age, certs
from tenderhall.projects.models import (
    Category,
    EvaluationMethod,
    Procedure,
    Project,
    ProjectStatus,
    Section,
    SectionCustodian,
    SectionStatus,
)
from tests.factories import OrganizationFactory, UserFactory

CA_START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    code = factory.Sequence(lambda n: f"CY2026-{n:04d}")
    title = factory.Sequence(lambda n: f"朝阳市第{n}号道路改造工程")
    category = Category.CONSTRUCTION
    procedure = Procedure.OPEN
    tenderer = factory.SubFactory(OrganizationFactory, kind=OrganizationKind.TENDERER)
    agent = factory.SubFactory(OrganizationFactory, kind=OrganizationKind.AGENT)
    centre = factory.SubFactory(OrganizationFactory, kind=OrganizationKind.TRADING_CENTRE)
    region = "朝阳市双塔区"
    status = ProjectStatus.REGISTERED
    created_by = factory.LazyAttribute(lambda p: UserFactory(role="tenderer", organization=p.tenderer))
    created_at = factory.LazyFunction(clock.now)
    registered_at = factory.LazyFunction(clock.now)


class SectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Section

    project = factory.SubFactory(ProjectFactory)
    number = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"第{n + 1}标段")
    estimated_price = Decimal("12500000.00")
    bond_amount = Decimal("250000.00")
    evaluation_method = EvaluationMethod.COMPREHENSIVE
    custodian_threshold = 2
    status = SectionStatus.REGISTERED


@functools.cache
def _test_ca() -> tuple[Ed25519PrivateKey, X509Certificate]:
    key, cert = certs.create_ca(name="notices-test-ca", now=CA_START)
    assert isinstance(key, Ed25519PrivateKey)
    return key, cert


def trusted_ca_row() -> TrustedCA:
    _, cert = _test_ca()
    fingerprint = certs.fingerprint_sha256(cert)
    row = TrustedCA.objects.filter(fingerprint_sha256=fingerprint).first()
    if row is None:
        row = TrustedCA.objects.create(
            name="notices-test-ca",
            certificate_pem=certs.certificate_to_pem(cert).decode(),
            fingerprint_sha256=fingerprint,
            created_at=CA_START,
        )
    return row


def encryption_certificate(
    user: User, *, holder: bool = True, status: str = CertificateStatus.ACTIVE
) -> tuple[Certificate, age.X25519Identity]:
    """An X25519 encryption certificate registered to the user (or, with ``holder=False``, to its
    organization with no holder), and the identity that opens what is sealed to it."""
    ca_key, ca_cert = _test_ca()
    org = user.organization
    assert org is not None
    private = X25519PrivateKey.generate()
    subject = certs.make_subject(common_name=user.username, organization=org.name, uscc=org.uscc)
    cert = certs.issue_encryption_certificate(
        ca_key=ca_key, ca_cert=ca_cert, subject=subject, public_key=private.public_key(), now=CA_START
    )
    row = Certificate.objects.create(
        organization=org,
        holder=user if holder else None,
        issuer_ca=trusted_ca_row(),
        usage=CertificateUsage.ENCRYPTION,
        status=status,
        certificate_pem=certs.certificate_to_pem(cert).decode(),
        fingerprint_sha256=certs.fingerprint_sha256(cert),
        serial_number=certs.serial_hex(cert),
        subject=certs.subject_text(cert.subject),
        key_algorithm="x25519",
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        registered_at=CA_START,
    )
    return row, age.identity_from_private_key(private)


@dataclass
class Custodian:
    user: User
    identity: age.X25519Identity


def add_custodians(
    section: Section, users: list[User], identities: dict[int, age.X25519Identity]
) -> list[Custodian]:
    """Make the users the section's custodians; each user gets one encryption certificate (kept
    in ``identities`` across sections, as a person holds one key)."""
    custodians = []
    for order, user in enumerate(users, start=1):
        SectionCustodian.objects.create(section=section, user=user, order=order)
        if user.pk not in identities:
            identities[user.pk] = encryption_certificate(user)[1]
        custodians.append(Custodian(user=user, identity=identities[user.pk]))
    return custodians
