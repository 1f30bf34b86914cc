"""`tenderhall demo`: fill an empty data dir with demo organizations, people and certificates.

Every step goes through the services, so the whole demo is in the transparency log. Bidders' keys
are written under ``<data dir>/demo/keys/<username>/`` for the bidder tool to use."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tenderhall.accounts import services
from tenderhall.accounts.models import Organization, OrganizationKind, Role, User
from tenderhall.core import calendar, clock, ids
from tenderhall.core.crypto import certs
from tenderhall.core.crypto.ca_store import CaStore

DEMO_PASSWORD = "Tender-demo-2026"
DEMO_CAS = ("demo-ca-1", "demo-ca-2")

# (username, role, display name, organization key)
ORGANIZATIONS: dict[str, tuple[str, str, str]] = {
    # key: (name, kind, region)
    "centre": ("示范市公共资源交易中心", OrganizationKind.TRADING_CENTRE, "示范市"),
    "supervisor": ("示范市发展和改革委员会", OrganizationKind.SUPERVISOR, "示范市"),
    "tenderer": ("示范市城市建设投资有限公司", OrganizationKind.TENDERER, "示范市"),
    "agent": ("华信招标代理有限公司", OrganizationKind.AGENT, "示范市"),
    "bidder1": ("东方建设集团有限公司", OrganizationKind.BIDDER, "示范市"),
    "bidder2": ("长江路桥工程有限公司", OrganizationKind.BIDDER, "江城市"),
    "bidder3": ("北辰市政工程有限公司", OrganizationKind.BIDDER, "北辰市"),
    "bidder4": ("南海水利建设有限公司", OrganizationKind.BIDDER, "南海市"),
    "bidder5": ("西岭建筑安装有限公司", OrganizationKind.BIDDER, "西岭市"),
    "guarantor": ("安信工程担保有限公司", OrganizationKind.GUARANTOR, "示范市"),
    "bank": ("示范银行股份有限公司示范市分行", OrganizationKind.BANK, "示范市"),
}
USERS: list[tuple[str, str, str, str | None]] = [
    ("staff", Role.STAFF, "交易中心 张敏", "centre"),
    ("operator", Role.OPERATOR, "运维 李强", "centre"),
    ("auditor", Role.AUDITOR, "审计 王芳", "supervisor"),
    ("supervisor", Role.SUPERVISOR, "监管 赵刚", "supervisor"),
    ("tenderer", Role.TENDERER, "招标人 孙丽", "tenderer"),
    ("agent", Role.AGENT, "代理 周杰", "agent"),
    ("bidder1", Role.BIDDER, "投标人 吴昊", "bidder1"),
    ("bidder2", Role.BIDDER, "投标人 郑爽", "bidder2"),
    ("bidder3", Role.BIDDER, "投标人 冯磊", "bidder3"),
    ("bidder4", Role.BIDDER, "投标人 陈晨", "bidder4"),
    ("bidder5", Role.BIDDER, "投标人 褚亮", "bidder5"),
    ("expert1", Role.EXPERT, "专家 卫东", None),
]


def demo_uscc(number: int) -> str:
    """A valid made-up code: 91 (enterprise) + 110000 + MA + running number (+ both check characters)."""
    return ids.make_uscc(f"91110000MA{number:06d}")


class Command(BaseCommand):
    help = "Fill an empty data dir with demo organizations, users and certificates (all via services)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help="print the logins as JSON")
        parser.add_argument("--if-empty", action="store_true", help="do nothing (exit 0) when data exists")

    def handle(self, *args: Any, **options: Any) -> None:
        if User.objects.exists():
            if options["if_empty"]:
                demo_users = list(User.objects.filter(username__in=[u[0] for u in USERS]).order_by("pk"))
                self.stdout.write("demo: data exists, nothing to do.")
                if demo_users:
                    self.stdout.write(f"demo logins (password {DEMO_PASSWORD}):")
                    for user in demo_users:
                        self.stdout.write(f"  {user.username:<11} {user.role}")
                return
            raise CommandError(
                "the platform already has users; `tenderhall demo` fills an empty data dir only"
            )
        with transaction.atomic():  # all or nothing: a failed or killed demo leaves an empty platform
            summary = build_demo(Path(settings.DATA_DIR))
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False, indent=2))
            return
        self.stdout.write("tenderhall demo data is ready. Sign in at http://127.0.0.1:8000/accounts/login/")
        self.stdout.write(f"password for every demo user: {DEMO_PASSWORD}")
        for row in summary["users"]:
            self.stdout.write(f"  {row['username']:<11} {row['role']:<11} {row['organization']}")
        self.stdout.write(f"bidders' keys and certificates: {summary['keys_dir']}")


def build_demo(data_dir: Path) -> dict[str, Any]:
    orgs_spec = list(ORGANIZATIONS.items())
    centre_name, _, _ = ORGANIZATIONS["centre"]
    staff = services.platform_bootstrap(
        centre_name=centre_name,
        centre_uscc=demo_uscc(1),
        username="staff",
        password=DEMO_PASSWORD,
        email="staff@centre.example",
    )
    User.objects.filter(pk=staff.pk).update(display_name=USERS[0][2])
    orgs: dict[str, Organization] = {"centre": staff.organization}  # type: ignore[dict-item]
    for number, (key, (name, kind, region)) in enumerate(orgs_spec[1:], start=2):
        orgs[key] = services.organization_register(
            acting_user=staff, name=name, uscc=demo_uscc(number), kind=kind, region=region
        )
    users: dict[str, User] = {"staff": staff}
    for username, role, display, org_key in USERS[1:]:
        users[username] = services.user_register(
            acting_user=staff,
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            organization=orgs[org_key] if org_key else None,
            display_name=display,
            email=f"{username}@demo.example",
            phone=f"1380000{len(users):04d}",
        )
    for year in calendar.bundled_years():
        calendar.calendar_year_load(acting_user=staff, year=year, data=calendar.bundled_year_data(year))

    store = CaStore(data_dir / "ca")
    now = clock.now()
    for name in DEMO_CAS:
        if not store.exists(name):
            store.init(name, now=now)
        services.trusted_ca_add(
            acting_user=staff,
            name=name,
            certificate_pem=certs.certificate_to_pem(store.certificate(name)).decode(),
            crl_pem=certs.crl_to_pem(store.refresh_crl(name, now=now)).decode(),
        )
    keys_dir = data_dir / "demo" / "keys"
    holders = [
        u
        for u in users.values()
        if u.role in (Role.BIDDER, Role.AGENT, Role.TENDERER, Role.STAFF, Role.SUPERVISOR)
    ]
    for number, user in enumerate(holders):
        # Two CAs at once (全CA互认), and both signing algorithms.
        issue_demo_certificates(
            store,
            DEMO_CAS[number % 2],
            user,
            keys_dir / user.username,
            "p256" if number % 3 == 2 else "ed25519",
        )
    return {
        "password": DEMO_PASSWORD,
        "keys_dir": str(keys_dir),
        "users": [
            {
                "username": u.username,
                "role": u.role,
                "organization": u.organization.name if u.organization else "",
            }
            for u in users.values()
        ],
        "organizations": [{"name": o.name, "uscc": o.uscc, "kind": o.kind} for o in orgs.values()],
    }


def issue_demo_certificates(
    store: CaStore, ca_name: str, user: User, directory: Path, algorithm: str
) -> None:
    org = user.organization
    assert org is not None
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    signing_key = certs.generate_signing_key(algorithm)  # type: ignore[arg-type]
    encryption_key = certs.generate_encryption_key()
    subject = certs.make_subject(
        common_name=user.display_name or user.username, organization=org.name, uscc=org.uscc
    )
    csr = certs.create_csr(signing_key=signing_key, subject=subject)
    now = clock.now()
    signing_cert = store.issue_signing(ca_name, csr_pem=certs.csr_to_pem(csr), now=now)
    encryption_cert = store.issue_encryption(
        ca_name, public_key_pem=certs.public_key_to_pem(encryption_key.public_key()), subject=subject, now=now
    )
    files = {
        "signing.key": certs.private_key_to_pem(signing_key),
        "encryption.key": certs.private_key_to_pem(encryption_key),
        "signing.pem": certs.certificate_to_pem(signing_cert),
        "encryption.pem": certs.certificate_to_pem(encryption_cert),
    }
    for name, data in files.items():
        path = directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    for cert in (signing_cert, encryption_cert):
        services.certificate_register(
            acting_user=None,
            organization=org,
            certificate_pem=certs.certificate_to_pem(cert).decode(),
            holder=user,
        )
