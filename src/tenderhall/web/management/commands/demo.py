"""`tenderhall demo`: fill an empty data dir with demo organizations, people and certificates.

Every step goes through the services, so the whole demo is in the transparency log. Bidders' keys
are written under ``<data dir>/demo/keys/<username>/`` for the bidder tool to use."""

from __future__ import annotations

import datetime as dt
import io
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
from tenderhall.core.calendar import stored_calendar
from tenderhall.core.crypto import certs
from tenderhall.core.crypto.ca_store import CaStore
from tenderhall.experts.demo import demo_remote_evaluation
from tenderhall.projects.models import Section

DEMO_PASSWORD = "Tender-demo-2026"
DEMO_CAS = ("demo-ca-1", "demo-ca-2")
CERTIFICATES_ISSUED_DAYS_AGO = 90

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
        self.stdout.write("demo projects:")
        for project in summary["projects"]:
            self.stdout.write(f"  {project['code']}  {project['status']:<10} {project['title']}")
        for line in opening_table_lines(summary["opening"]):
            self.stdout.write(line)
        for line in evaluation_lines(summary["evaluation"]):
            self.stdout.write(line)


def build_demo(data_dir: Path) -> dict[str, Any]:
    orgs_spec = list(ORGANIZATIONS.items())
    centre_name, _, centre_region = ORGANIZATIONS["centre"]
    staff = services.platform_bootstrap(
        centre_name=centre_name,
        region=centre_region,
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
    # Certificates issued a while ago (as real ones are): the scripted opening's bids, received in
    # the past, must be signed by certificates valid then.
    issued = now - dt.timedelta(days=CERTIFICATES_ISSUED_DAYS_AGO)
    for name in DEMO_CAS:
        if not store.exists(name):
            store.init(name, now=issued)
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
            issued=issued,
        )
    tenders = build_tenders(users, orgs)
    opening = build_opening_demo(users, orgs, data_dir)
    # Past the opening: a remote evaluation (远程异地评标) with experts drawn, confirmed, checked in.
    evaluation = demo_remote_evaluation(
        staff=staff,
        section=Section.objects.get(pk=opening["section"]["id"]),
        password=DEMO_PASSWORD,
        opened_at=dt.datetime.fromisoformat(opening["bid_deadline"]),
    )
    return {
        "opening": opening,
        "evaluation": evaluation,
        "password": DEMO_PASSWORD,
        "keys_dir": str(keys_dir),
        "projects": tenders,
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
    store: CaStore,
    ca_name: str,
    user: User,
    directory: Path,
    algorithm: str,
    *,
    issued: dt.datetime | None = None,
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
    now = issued or clock.now()
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


# ---- tenders in different states (issue: projects, announcements and the statutory timeline) -----


def _upload_checklist(agent: User, project: Any, *, skip: int = 0) -> None:
    """Upload every required registration document but the last ``skip`` ones."""
    from tenderhall.projects import selectors as project_selectors
    from tenderhall.projects import services as project_services

    missing = list(project_selectors.missing_items(project))
    for item in missing[: len(missing) - skip]:
        body = f"{project.title}\n{item.name}\n（示范数据 / demo document）\n".encode()
        project_services.project_document_upload(
            acting_user=agent,
            project=project,
            checklist_item=item,
            file=io.BytesIO(body),
            filename=f"{item.name}.txt",
        )


def build_tenders(users: dict[str, User], orgs: dict[str, Organization]) -> list[dict[str, Any]]:
    """Projects in every early state: announced with documents, questions, a clarification and an
    answered objection; registered; submitted; returned with what is missing; a draft. Rooms and
    bookings too. All through the services, so all of it is in the log."""
    from tenderhall.disputes import services as dispute_services
    from tenderhall.notices import services as notice_services
    from tenderhall.notices import timeline
    from tenderhall.projects import services as project_services
    from tenderhall.projects.services import SectionSpec
    from tenderhall.venues import services as venue_services

    staff, agent, tenderer = users["staff"], users["agent"], users["tenderer"]
    common = {"tenderer": orgs["tenderer"], "agent": orgs["agent"], "region": "示范市"}
    weights = {"weights": {"price": "60", "technical": "30", "business": "10"}}

    def register(title: str, category: str, procedure: str, sections: list[SectionSpec], **extra: Any) -> Any:
        return project_services.project_register(
            acting_user=extra.pop("acting_user", agent),
            title=title,
            category=category,
            procedure=procedure,
            sections=sections,
            description=f"{title}（示范项目 / demo project）",
            **{**common, **extra},
        )

    # 1. Announced: bidding is open.
    school = register(
        "示范市第一中学教学楼新建工程",
        "construction",
        "open",
        [
            SectionSpec("施工一标段", "12800000.00", "200000.00", "comprehensive", weights),
            SectionSpec(
                "施工二标段", "6500000.00", "120000.00", "benchmark_price", {"k_min": "0.95", "k_max": "0.98"}
            ),
        ],
    )
    _upload_checklist(agent, school)
    project_services.project_submit(acting_user=agent, project=school)
    project_services.project_confirm(acting_user=staff, project=school)
    school.refresh_from_db()
    today = clock.today_local()
    plan = timeline.compute_timeline(procedure="open", docs_issued=today, calendar=stored_calendar())
    sale_end = plan.rule(timeline.DOCS_SALE_PERIOD).earliest
    deadline_day = plan.earliest_deadline + dt.timedelta(days=2)
    deadline = dt.datetime.combine(deadline_day, dt.time(9, 30), tzinfo=clock.LOCAL_TZ)
    sections = list(school.sections.order_by("number"))
    notice = notice_services.notice_draft(
        acting_user=agent,
        project=school,
        kind="tender",
        title=f"{school.title}招标公告",
        body=(
            "1. 招标条件：本项目已由示范市发展和改革委员会批准建设，资金来源为财政资金。\n"
            "2. 项目概况与招标范围：新建教学楼一栋，建筑面积约 12,000 平方米，分两个标段。\n"
            "3. 投标人资格要求：具备建筑工程施工总承包二级及以上资质。\n"
            "4. 招标文件的获取：请于发售期内登录本平台获取。\n"
            "5. 投标文件的递交：电子投标文件须使用开标公钥加密后于投标截止时间前上传（不见面开标）。"
        ),
        section_ids=[s.pk for s in sections],
        docs_sale_start=today,
        docs_sale_end=sale_end,
        bid_deadline=deadline,
        opening_at=deadline,
    )
    notice_services.notice_publish(acting_user=agent, notice=notice)
    for section in sections:
        notice_services.document_publish(
            acting_user=agent,
            section=section,
            file=io.BytesIO(f"{section}\n招标文件（示范） / tender documents (demo)\n".encode()),
            filename=f"招标文件-{section.number}.txt",
        )
    first = sections[0]
    for name in ("bidder1", "bidder2", "bidder3"):
        notice_services.document_obtain(acting_user=users[name], section=first)
    question = notice_services.question_ask(
        acting_user=users["bidder1"],
        section=first,
        text="招标文件第三章工程量清单中的土方工程量是否包含外运？",
    )
    notice_services.clarification_publish(
        acting_user=agent,
        section=first,
        text="答复：土方工程量包含场外运输，运距按 15 公里计。",
        affects_bid_preparation=False,
        question_ids=[question.pk],
    )
    objection = notice_services.document_objection_raise(
        acting_user=users["bidder2"],
        section=first,
        text="资格要求中“近三年同类业绩不少于五项”过高，排斥潜在投标人。",
    )
    dispute_services.objection_answer(
        acting_user=agent, objection=objection, answer="经复核，业绩要求调整为不少于两项，将发布更正公告。"
    )

    # 2. Registered, not yet announced.
    road = register(
        "城北片区道路维修工程",
        "construction",
        "open",
        [SectionSpec("道路维修标段", "3200000.00", "60000.00", "lowest_evaluated_price")],
    )
    _upload_checklist(agent, road)
    project_services.project_submit(acting_user=agent, project=road)
    project_services.project_confirm(acting_user=staff, project=road)

    # 3. Submitted, waiting for staff.
    procurement = register(
        "示范市政务服务中心办公设备采购",
        "government_procurement",
        "inquiry",
        [SectionSpec("办公设备包", "860000.00", "17000.00", "lowest_evaluated_price")],
    )
    _upload_checklist(agent, procurement)
    project_services.project_submit(acting_user=agent, project=procurement)

    # 4. Returned once, with the complete list of what is missing (一次性告知).
    park = register(
        "滨河公园景观提升工程",
        "construction",
        "open",
        [SectionSpec("景观施工标段", "2400000.00", "48000.00", "comprehensive", weights)],
    )
    _upload_checklist(agent, park, skip=1)
    project_services.project_submit(acting_user=agent, project=park)
    from tenderhall.projects import selectors as project_selectors

    project_services.project_return(
        acting_user=staff,
        project=park,
        item_ids=[item.pk for item in project_selectors.missing_items(park)],
        note="请补充项目备案表后重新提交。",
    )

    # 5. A draft the tenderer is still writing, without an agent.
    draft = register(
        "示范市城投大厦物业服务",
        "state_assets",
        "competitive_consultation",
        [SectionSpec("物业服务包", "1500000.00", "30000.00", "comprehensive", weights)],
        acting_user=tenderer,
        agent=None,
    )

    # Rooms and bookings (场地安排).
    opening_room = venue_services.room_create(
        acting_user=staff, name="第一开标室", kind="opening", location="三楼 301"
    )
    evaluation_room = venue_services.room_create(
        acting_user=staff, name="第二评标室", kind="evaluation", location="四楼 402"
    )
    venue_services.seats_add(acting_user=staff, room=opening_room, count=20)
    venue_services.seats_add(acting_user=staff, room=evaluation_room, count=6)
    venue_services.seats_add(
        acting_user=staff, room=evaluation_room, count=3, prefix="R", remote_evaluation=True
    )
    opening = venue_services.booking_request(
        acting_user=agent,
        room=opening_room,
        purpose="opening",
        starts_at=deadline,
        ends_at=deadline + dt.timedelta(hours=2),
        seats_needed=10,
        section=first,
    )
    venue_services.booking_confirm(acting_user=staff, booking=opening)
    evaluation_start = deadline + dt.timedelta(hours=3)
    venue_services.booking_request(
        acting_user=agent,
        room=evaluation_room,
        purpose="evaluation",
        starts_at=evaluation_start,
        ends_at=evaluation_start + dt.timedelta(hours=6),
        seats_needed=7,
        section=first,
    )
    return [
        {"code": p.code, "title": p.title, "status": p.status, "sections": [s.code for s in p.sections.all()]}
        for p in (school, road, procurement, park, draft)
        for p in [type(p).objects.get(pk=p.pk)]
    ]


# ---- a complete scripted opening (issue 5: registration → announcement → 5 bids → opening → table) ---

OPENING_DEMO_DAYS_AGO = 45  # the tender is announced this long ago, so its deadline has passed
OPENING_DEMO_PRICES = ("6120000.00", "6085000.50", "6203000.00", "6150800.00", "6099000.00")


def _seal_bid(plaintext: bytes, own: Any, opening: Any) -> bytes:
    """What ``tenderhall-bid seal --section`` does: to the bidder's own key and the opening key,
    with the claim stanza and the deterministic opening stanza (docs/bid-package.md)."""
    from tenderhall.core.crypto import age

    def ephemeral(file_key: bytes, recipient: Any) -> Any:
        return age.opening_ephemeral(file_key, recipient) if recipient == opening else None

    out = io.BytesIO()
    age.encrypt(
        [own, opening],
        io.BytesIO(plaintext),
        out,
        extra_stanzas=[age.opening_claim_stanza(opening)],
        ephemeral_for=ephemeral,
    )
    return out.getvalue()


def build_opening_demo(
    users: dict[str, User], orgs: dict[str, Organization], data_dir: Path
) -> dict[str, Any]:
    """Announce a benchmark-price tender at a past moment (core.clock moved back), let bidder1..5
    obtain the documents and submit real sealed packages, move the clock past the deadline, open,
    unlock each bid with its file key and read out. The real clock is restored at the end."""
    from tenderhall.bidding import services as bidding_services
    from tenderhall.client import package as bid_package
    from tenderhall.core.crypto import age
    from tenderhall.notices import services as notice_services
    from tenderhall.notices import timeline
    from tenderhall.notices.models import OpeningKey
    from tenderhall.opening import records as opening_records
    from tenderhall.opening import services as opening_services
    from tenderhall.projects import services as project_services
    from tenderhall.projects.services import SectionSpec

    staff, agent = users["staff"], users["agent"]
    real_now = clock.now()
    start = real_now - dt.timedelta(days=OPENING_DEMO_DAYS_AGO)
    try:
        clock.set_now(start)
        project = project_services.project_register(
            acting_user=agent,
            title="示范市滨江大道排水管网改造工程",
            category="construction",
            procedure="open",
            sections=[
                SectionSpec(
                    "管网施工标段",
                    "6500000.00",
                    "120000.00",
                    "benchmark_price",
                    {"k_min": "0.95", "k_max": "0.98"},
                )
            ],
            description="滨江大道排水管网改造（示范项目：已开标 / demo project: opened）",
            tenderer=orgs["tenderer"],
            agent=orgs["agent"],
            region="示范市",
        )
        _upload_checklist(agent, project)
        project_services.project_submit(acting_user=agent, project=project)
        project_services.project_confirm(acting_user=staff, project=project)
        project.refresh_from_db()
        today = clock.today_local()
        plan = timeline.compute_timeline(procedure="open", docs_issued=today, calendar=stored_calendar())
        deadline = dt.datetime.combine(
            plan.earliest_deadline + dt.timedelta(days=1), dt.time(9, 30), tzinfo=clock.LOCAL_TZ
        )
        if deadline >= real_now:
            raise CommandError("demo opening: the lawful deadline would not be in the past")
        section = project.sections.get()
        notice = notice_services.notice_draft(
            acting_user=agent,
            project=project,
            kind="tender",
            title=f"{project.title}招标公告",
            body="示范招标公告：电子投标文件须使用开标公钥加密后于投标截止时间前上传（不见面开标）。",
            section_ids=[section.pk],
            docs_sale_start=today,
            docs_sale_end=plan.rule(timeline.DOCS_SALE_PERIOD).earliest,
            bid_deadline=deadline,
            opening_at=deadline,
        )
        notice_services.notice_publish(acting_user=agent, notice=notice)
        notice_services.document_publish(
            acting_user=agent,
            section=section,
            file=io.BytesIO(f"{section}\n招标文件（示范） / tender documents (demo)\n".encode()),
            filename="招标文件.txt",
        )
        section.refresh_from_db()
        opening = age.X25519Recipient.from_string(OpeningKey.objects.get(section=section).recipient)

        file_keys: dict[str, bytes] = {}
        for number, name in enumerate(("bidder1", "bidder2", "bidder3", "bidder4", "bidder5")):
            user = users[name]
            org = user.organization
            assert org is not None
            key_dir = data_dir / "demo" / "keys" / name
            signer = bid_package.Signer.load(
                (key_dir / "signing.key").read_bytes(), (key_dir / "signing.pem").read_bytes(), None
            )
            identity = age.identity_from_private_key(
                certs.load_encryption_key((key_dir / "encryption.key").read_bytes())
            )
            notice_services.document_obtain(acting_user=user, section=section)
            docs = data_dir / "demo" / "bids" / name
            docs.mkdir(parents=True, exist_ok=True)
            (docs / "技术标.txt").write_text(f"{org.name} 技术标（示范）\n", encoding="utf-8")
            plain = io.BytesIO()
            bid_package.build_package(
                plain,
                section_id=section.pk,
                section_code=section.code,
                opening_summary={
                    "price": OPENING_DEMO_PRICES[number],
                    "duration_days": 150 + 10 * number,
                    "quality": "合格",
                    "project_manager": {
                        "name": f"项目经理{number + 1}",
                        "certificate_number": f"示建{number + 1:08d}",
                    },
                },
                bond_reference=f"DEMO-BOND-{number + 1:03d}",
                attachments=[("attachments/技术标.txt", docs / "技术标.txt")],
                signer=signer,
                machine={
                    "machine_code": f"demo-{name}",
                    "mac": f"02:00:00:00:00:{number + 1:02x}",
                    "disk_serial": f"DEMO-DISK-{number + 1}",
                    "cpu_id": f"DEMO-CPU-{number + 1}",
                    "tool_version": "demo",
                },
                made_at=clock.now(),
            )
            sealed = _seal_bid(plain.getvalue(), identity.recipient(), opening)
            upload = bidding_services.upload_create(acting_user=user, section=section, size=len(sealed))
            bidding_services.upload_append_chunk(
                acting_user=user, upload=upload, offset=0, stream=io.BytesIO(sealed), length=len(sealed)
            )
            bidding_services.bid_finalize(acting_user=user, upload=upload)
            # What `tenderhall-bid unlock` does at the opening: unwrap the file key locally.
            file_keys[name] = age.unwrap_file_key(age.parse_header(io.BytesIO(sealed)), [identity])
            clock.set_now(clock.now() + dt.timedelta(minutes=7))

        clock.set_now(deadline)
        opening_services.opening_start(section=section)
        opening_services.decryption_window_open(acting_user=agent, section=section, minutes=30)
        for name, file_key in file_keys.items():
            clock.set_now(clock.now() + dt.timedelta(seconds=40))
            opening_services.bid_unlock(
                acting_user=users[name], section=section, file_key=file_key, decrypt_now=True
            )
        opening_services.decryption_window_close(acting_user=agent, section=section)
        session = opening_services.opening_read_out(acting_user=agent, section=section)
        record = opening_records.opening_record_generate(acting_user=agent, section=section)
    finally:
        clock.set_now(None)
    return {
        "project": project.code,
        "section": {"id": section.pk, "code": section.code, "name": section.name},
        "bid_deadline": deadline.isoformat(),
        "table": session.table,
        "coefficient": str(session.coefficient) if session.coefficient is not None else None,
        "coefficient_seed": session.coefficient_seed,
        "coefficient_tree_size": session.coefficient_tree_size,
        "record_sha256": record.record_sha256,
        "record_pdf_sha256": record.pdf_sha256,
    }


def opening_table_lines(opening: dict[str, Any]) -> list[str]:
    lines = [
        f"demo opening {opening['section']['code']} {opening['section']['name']} (deadline {opening['bid_deadline']}):"
    ]
    for row in opening["table"]:
        manager = (row.get("project_manager") or {}).get("name", "")
        lines.append(
            f"  {row['bidder']:<14} {row.get('price', '—'):>12} 元  {row.get('duration_days', '—')} 天  "
            f"{row.get('quality', '')}  {manager}  {row.get('bond_reference', '')}  [{row['status']}]"
        )
    if opening["coefficient"] is not None:
        lines.append(f"  K = {opening['coefficient']} (seed {opening['coefficient_seed']})")
    lines.append(f"  opening record (开标记录) SHA-256 {opening['record_sha256']}")
    return lines


def evaluation_lines(evaluation: dict[str, Any]) -> list[str]:
    lines = [
        f"demo remote evaluation: extraction request #{evaluation['extraction_request']}"
        f" ({evaluation['status']}, {evaluation['evaluation_starts_at']})"
    ]
    for venue in evaluation["venues"]:
        lines.append(f"  {venue['role']:<9} {venue['centre']} {venue['room'] or ''} ({venue['invitation']})")
    lines.append("  committee (评标委员会):")
    for member in evaluation["committee"]:
        leader = "  组长 leader" if member["leader"] else ""
        lines.append(
            f"    {member['name']:<6} {member['kind']:<10} {member['specialty']:<6} {member['venue']}"
            f" seat {member['seat']}{leader}"
        )
    return lines
