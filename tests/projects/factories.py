"""Factories of the projects tests: real X25519 encryption certificates (written as rows, fast),
the seeded checklist, and a project registered through the service."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

from django.apps import apps as django_apps
from django.core.files.base import ContentFile

from tenderhall.accounts.models import (
    Certificate,
    CertificateStatus,
    CertificateUsage,
    TrustedCA,
    User,
)
from tenderhall.core import clock
from tenderhall.core.crypto import certs
from tenderhall.projects import services
from tenderhall.projects.models import Category, ChecklistItem, EvaluationMethod, Project

_CA: dict[str, Any] = {}


def _test_ca() -> tuple[Any, Any, TrustedCA]:
    """One Ed25519 root for the whole run, valid ten years either side of now, trusted as a row."""
    if not _CA:
        key, cert = certs.create_ca(
            name="projects test CA", now=clock.now() - dt.timedelta(days=3650), valid_days=7300
        )
        _CA.update(key=key, cert=cert)
    cert = _CA["cert"]
    record, _ = TrustedCA.objects.get_or_create(
        fingerprint_sha256=certs.fingerprint_sha256(cert),
        defaults={
            "name": "projects-test-ca",
            "certificate_pem": certs.certificate_to_pem(cert).decode(),
            "created_at": clock.now(),
        },
    )
    return _CA["key"], cert, record


def encryption_certificate(
    user: User,
    *,
    holder: bool = True,
    status: str = CertificateStatus.ACTIVE,
    valid_days: int = 730,
) -> Certificate:
    """A real X25519 encryption certificate of the user's organization, registered as a row."""
    ca_key, ca_cert, record = _test_ca()
    org = user.organization
    assert org is not None
    subject = certs.make_subject(common_name=user.username, organization=org.name, uscc=org.uscc)
    public_key = certs.generate_encryption_key().public_key()
    cert = certs.issue_encryption_certificate(
        ca_key=ca_key,
        ca_cert=ca_cert,
        subject=subject,
        public_key=public_key,
        now=clock.now() - dt.timedelta(hours=1),
        valid_days=valid_days,
    )
    assert certs.key_algorithm_name(cert.public_key()) == "x25519"
    return Certificate.objects.create(
        organization=org,
        holder=user if holder else None,
        issuer_ca=record,
        usage=CertificateUsage.ENCRYPTION,
        status=status,
        certificate_pem=certs.certificate_to_pem(cert).decode(),
        fingerprint_sha256=certs.fingerprint_sha256(cert),
        serial_number=certs.serial_hex(cert),
        subject=certs.subject_text(cert.subject)[:500],
        key_algorithm="x25519",
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        registered_at=clock.now(),
    )


def ensure_checklist() -> None:
    """The seeded checklist (migration 0003). A transactional test elsewhere may have flushed it."""
    if ChecklistItem.objects.exists():
        return
    migration = importlib.import_module("tenderhall.projects.migrations.0003_seed_checklist")
    migration.seed(django_apps, None)


def section_spec(**overrides: Any) -> services.SectionSpec:
    values: dict[str, Any] = {
        "name": "第一标段",
        "estimated_price": "1000000.00",
        "bond_amount": "20000.00",
        "evaluation_method": EvaluationMethod.COMPREHENSIVE,
        "evaluation_params": {"weights": {"price": "30", "technical": "60", "business": "10"}},
    }
    values.update(overrides)
    return services.SectionSpec(**values)


def register_project(
    user: User, tenderer_org: Any, *, sections: list[services.SectionSpec] | None = None, **overrides: Any
) -> Project:
    """Registered by ``user`` (an agent by default, for itself as the agent)."""
    values: dict[str, Any] = {
        "title": "示范市第一中学教学楼工程",
        "category": Category.CONSTRUCTION,
        "procedure": "open",
        "tenderer": tenderer_org,
        "agent": user.organization if user.role == "agent" else None,
        "region": "示范市",
        "description": "新建教学楼一栋",
    }
    values.update(overrides)
    return services.project_register(acting_user=user, sections=sections or [section_spec()], **values)


def upload(
    user: User, project: Project, item: ChecklistItem, content: bytes = b"%PDF-1.4 test", name: str = "a.pdf"
) -> Any:
    return services.project_document_upload(
        acting_user=user, project=project, checklist_item=item, file=ContentFile(content, name=name)
    )


def required_items(project: Project) -> list[ChecklistItem]:
    return list(
        ChecklistItem.objects.filter(category=project.category, is_active=True, required=True).order_by(
            "order"
        )
    )
