"""The notices services: announcements and their opening keys, corrections, documents,
questions, clarifications and objections — each rule and each refusal with its code and article."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from tenderhall.accounts.models import CertificateStatus, Role
from tenderhall.core import clock
from tenderhall.core.errors import Conflict, DomainError, PermissionDenied, ValidationFailed
from tenderhall.core.models import LogEvent, Notification, NotificationChannel
from tenderhall.core.transparency import sealed_commitment
from tenderhall.disputes.models import Objection, ObjectionStatus
from tenderhall.disputes.selectors import section_waits_for_objection
from tenderhall.disputes.services import objection_answer
from tenderhall.notices import opening_key, services
from tenderhall.notices.events import NoticesAction
from tenderhall.notices.models import (
    Clarification,
    DocumentObtainment,
    KeyShare,
    Notice,
    NoticeKind,
    NoticeStatus,
    OpeningKey,
    QuestionStatus,
    TenderDocument,
)
from tenderhall.projects.models import Procedure, ProjectStatus, SectionCustodian, SectionStatus
from tests.factories import UserFactory
from tests.notices.conftest import (
    DEADLINE,
    SALE_END,
    SALE_START,
    T0,
    World,
    announce,
    at,
    draft_tender,
    upload,
)
from tests.notices.factories import encryption_certificate


def refused(error: pytest.ExceptionInfo[DomainError], code: str, article: str | None = None) -> DomainError:
    assert error.value.code == code, error.value
    if article is not None:
        assert article in error.value.article, error.value.article
    return error.value


def events(action: str) -> list[dict]:
    return [json.loads(e.payload) for e in LogEvent.objects.filter(action=action).order_by("index")]


# ---- drafting and immutability --------------------------------------------------------------------


def test_a_party_drafts_a_notice_and_it_is_logged(world: World):
    notice = draft_tender(world)
    assert notice.status == NoticeStatus.DRAFT
    assert notice.opening_at == DEADLINE  # 法 Art 34: opened at the deadline's time
    assert {s.pk for s in notice.sections.all()} == {s.pk for s in world.sections}
    (event,) = events(NoticesAction.NOTICE_DRAFTED)
    assert event["data"]["kind"] == "tender" and event["actor"] == "agent"


def test_the_tenderer_may_draft_too(world: World):
    assert draft_tender(world, acting_user=world.tenderer).created_by == world.tenderer


@pytest.mark.parametrize("role", [Role.BIDDER, Role.STAFF, Role.SUPERVISOR])
def test_who_is_not_a_tender_party_cannot_draft(world: World, role: str):
    with pytest.raises(PermissionDenied):
        draft_tender(world, acting_user=UserFactory(role=role))


def test_an_agent_of_another_project_cannot_draft_for_this_one(world: World):
    with pytest.raises(PermissionDenied):
        draft_tender(world, acting_user=world.rival_agent)


def test_an_unregistered_project_has_no_notices(world: World):
    world.project.status = ProjectStatus.SUBMITTED
    world.project.save()
    with pytest.raises(Conflict) as error:
        draft_tender(world)
    refused(error, "project_not_registered")


def test_a_section_of_another_project_is_refused(world: World):
    rival_section = world.rival_project.sections.get()
    with pytest.raises(ValidationFailed) as error:
        draft_tender(world, section_ids=[rival_section.pk])
    refused(error, "notice_section_invalid")


@pytest.mark.parametrize("kind", ["nonsense", ""])
def test_an_unknown_kind_is_refused(world: World, kind: str):
    with pytest.raises(ValidationFailed) as error:
        draft_tender(world, kind=kind)
    refused(error, "notice_kind_invalid")


def test_only_opening_notices_and_corrections_carry_a_timeline(world: World):
    with pytest.raises(ValidationFailed) as error:
        draft_tender(world, kind=NoticeKind.CANDIDATE_PUBLICITY)
    refused(error, "notice_timeline_not_applicable")


def test_a_correction_must_name_a_published_notice(world: World):
    draft = draft_tender(world)
    with pytest.raises(ValidationFailed) as error:
        draft_tender(
            world,
            kind=NoticeKind.CORRECTION,
            corrects=None,
            docs_sale_start=None,
            docs_sale_end=None,
            bid_deadline=None,
        )
    refused(error, "correction_target_required")
    with pytest.raises(ValidationFailed) as error:
        draft_tender(world, kind=NoticeKind.CORRECTION, corrects=draft)
    refused(error, "correction_target_invalid")


def test_a_draft_can_be_edited(world: World):
    notice = draft_tender(world)
    later = DEADLINE + dt.timedelta(days=2)
    services.notice_update(acting_user=world.agent, notice=notice, title="新标题", bid_deadline=later)
    notice.refresh_from_db()
    assert notice.title == "新标题"
    assert notice.bid_deadline == later and notice.opening_at == later


def test_a_published_notice_is_immutable(world: World):
    notice = announce(world)
    with pytest.raises(Conflict) as error:
        services.notice_update(acting_user=world.agent, notice=notice, title="改了")
    refused(error, "notice_immutable")
    with pytest.raises(Conflict) as error:
        services.notice_publish(acting_user=world.agent, notice=notice)
    refused(error, "notice_immutable")
    notice.refresh_from_db()
    assert notice.title != "改了"


def test_a_non_opening_notice_is_published_without_a_timeline(world: World):
    notice = draft_tender(
        world,
        kind=NoticeKind.TERMINATION,
        docs_sale_start=None,
        docs_sale_end=None,
        bid_deadline=None,
        section_ids=[],
    )
    services.notice_publish(acting_user=world.agent, notice=notice)
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.PUBLISHED
    assert not OpeningKey.objects.exists()


# ---- publishing an announcement: timeline --------------------------------------------------------


def test_publishing_announces_every_section(world: World):
    notice = announce(world)
    assert notice.status == NoticeStatus.PUBLISHED
    assert notice.published_at == clock.now()
    assert notice.body_sha256 == __import__("hashlib").sha256(notice.body.encode()).hexdigest()
    for section in world.sections:
        assert section.status == SectionStatus.ANNOUNCED
        assert section.docs_sale_start == SALE_START and section.docs_sale_end == SALE_END
        assert section.bid_deadline == DEADLINE and section.opening_at == DEADLINE
        assert section.announced_at == T0
    assert len(events(NoticesAction.SECTION_ANNOUNCED)) == 2
    (published,) = events(NoticesAction.NOTICE_PUBLISHED)
    assert published["data"]["body_sha256"] == notice.body_sha256


def test_the_bid_preparation_period_is_enforced(world: World):
    # 法 Art 24: at least 20 days from 2 March: 22 March is the earliest deadline.
    with pytest.raises(ValidationFailed) as error:
        announce(world, bid_deadline=at(21, 9, 30))
    problem = refused(error, "timeline_violation", "法 Art 24")
    assert problem.extra["rule"] == "bid_preparation_period"
    assert "2026-03-22" in problem.message_zh
    assert not OpeningKey.objects.exists()
    announce(world, bid_deadline=at(22, 9, 30))


def test_the_sale_period_is_enforced(world: World):
    # 条例 Art 16: five days after 2 March end on Saturday the 7th, so the sale runs to Monday the 9th.
    with pytest.raises(ValidationFailed) as error:
        announce(world, docs_sale_end=dt.date(2026, 3, 8))
    problem = refused(error, "timeline_violation", "条例 Art 16")
    assert problem.extra["rule"] == "docs_sale_period"


def test_the_sale_cannot_start_in_the_past(world: World):
    with pytest.raises(ValidationFailed) as error:
        announce(world, docs_sale_start=dt.date(2026, 3, 1))
    refused(error, "docs_sale_start_past")


def test_the_sale_cannot_end_before_it_starts(world: World):
    with pytest.raises(ValidationFailed) as error:
        announce(world, docs_sale_start=dt.date(2026, 3, 5), docs_sale_end=dt.date(2026, 3, 4))
    refused(error, "docs_sale_end_before_start")


def test_an_opening_notice_states_its_dates(world: World):
    with pytest.raises(ValidationFailed) as error:
        announce(world, bid_deadline=None)
    assert refused(error, "notice_timeline_required").fields == {"bid_deadline": ""}


def test_an_opening_notice_covers_a_section(world: World):
    with pytest.raises(ValidationFailed) as error:
        announce(world, section_ids=[])
    refused(error, "notice_sections_required")


def test_the_opening_is_at_the_deadline_for_a_tender(world: World):
    with pytest.raises(ValidationFailed) as error:
        announce(world, opening_at=DEADLINE + dt.timedelta(hours=1))
    refused(error, "opening_not_at_deadline", "法 Art 34")


def test_another_procedure_may_open_later_but_never_earlier(world: World):
    world.project.procedure = Procedure.COMPETITIVE_CONSULTATION
    world.project.save()
    with pytest.raises(ValidationFailed) as error:
        announce(world, opening_at=DEADLINE - dt.timedelta(hours=1))
    refused(error, "opening_not_at_deadline", "法 Art 34")
    announce(world, opening_at=DEADLINE + dt.timedelta(hours=1))
    assert world.section.opening_at == DEADLINE + dt.timedelta(hours=1)


def test_a_section_is_announced_once(world: World):
    announce(world, section_ids=[world.section.pk])
    with pytest.raises(Conflict) as error:
        announce(world)
    refused(error, "section_not_registered")
    assert OpeningKey.objects.count() == 1


# ---- publishing an announcement: the opening key (DESIGN §4) -------------------------------------


def test_publishing_makes_an_opening_key_that_k_custodians_rebuild(world: World):
    announce(world)
    for section in world.sections:
        key = OpeningKey.objects.get(section=section)
        assert (key.threshold, key.share_count) == (2, 3)
        assert key.recipient.startswith("age1")
        shares = list(KeyShare.objects.filter(opening_key=key).order_by("share_index"))
        assert [s.share_index for s in shares] == [1, 2, 3]
        opened = []
        for share, custodian in zip(shares, world.custodians[section.pk], strict=True):
            assert share.custodian == custodian.user
            index, plain = opening_key.open_share(bytes(share.encrypted_share), custodian.identity)
            assert index == share.share_index
            assert opening_key.share_hash(index, plain) == share.share_sha256
            opened.append((index, plain))
        committed = {s.share_index: s.share_sha256 for s in shares}
        for pair in ([opened[0], opened[1]], [opened[1], opened[2]], [opened[0], opened[2]]):
            seed = opening_key.combine_shares(pair, k=2, committed=committed)
            assert opening_key.recipient_for(seed, section_id=section.pk) == key.recipient
            identity = opening_key.derive_identity(seed, section_id=section.pk)
            assert identity.recipient().public_bytes.hex() == key.public_key


def test_a_share_opens_only_with_its_own_custodians_identity(world: World):
    announce(world)
    share = KeyShare.objects.filter(opening_key__section=world.section).order_by("share_index").first()
    other = world.custodians[world.section.pk][1].identity
    with pytest.raises(DomainError):
        opening_key.open_share(bytes(share.encrypted_share), other)


def test_share_hashes_are_committed_in_the_log_at_the_stored_index(world: World):
    announce(world)
    for share in KeyShare.objects.select_related("opening_key", "custodian"):
        event = LogEvent.objects.get(index=share.log_index)
        payload = json.loads(event.payload)
        assert payload["action"] == NoticesAction.KEY_SHARE_COMMITTED
        assert payload["data"]["share_sha256"] == share.share_sha256
        assert payload["data"]["share_index"] == share.share_index
        assert payload["data"]["custodian"] == share.custodian.username
        assert payload["data"]["section"] == share.opening_key.section_id
    (created, _) = events(NoticesAction.OPENING_KEY_CREATED)
    assert created["data"]["recipient"] == OpeningKey.objects.get(section=world.section).recipient


def _all_stored_text() -> str:
    """Every row of every table, as text (log payloads included)."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        chunks.append(bytes(value).hex())
                    else:
                        chunks.append(str(value))
    return "\n".join(chunks)


def test_nothing_of_the_seed_or_plain_shares_is_stored_or_logged(
    world: World, monkeypatch: pytest.MonkeyPatch
):
    seeds: list[bytes] = []
    plain_shares: list[bytes] = []
    real_new_seed, real_split = opening_key.new_seed, opening_key.split_seed

    def spy_seed() -> bytes:
        seeds.append(real_new_seed())
        return seeds[-1]

    def spy_split(seed: bytes, *, k: int, n: int) -> list[tuple[int, bytes]]:
        shares = real_split(seed, k=k, n=n)
        plain_shares.extend(share for _, share in shares)
        return shares

    monkeypatch.setattr(opening_key, "new_seed", spy_seed)
    monkeypatch.setattr(opening_key, "split_seed", spy_split)
    announce(world)
    assert len(seeds) == 2 and len(plain_shares) == 6
    stored = _all_stored_text().lower()
    payloads = "\n".join(LogEvent.objects.values_list("payload", flat=True)).lower()
    for secret in seeds + plain_shares:
        for form in (secret.hex(), __import__("base64").b64encode(secret).decode().lower()):
            assert form not in stored
            assert form not in payloads
    for section in world.sections:
        private = opening_key.derive_private_key(seeds[world.sections.index(section)], section_id=section.pk)
        assert private.private_bytes_raw().hex() not in stored


def test_a_rolled_back_publication_leaves_nothing(world: World, monkeypatch: pytest.MonkeyPatch):
    notice = draft_tender(world)
    log_size = LogEvent.objects.count()
    calls = {"n": 0}
    real_seal = opening_key.seal_share

    def seal_then_fail(index: int, share: bytes, recipient: object) -> bytes:
        calls["n"] += 1
        if calls["n"] == 4:  # the second section's first share: the first key is already made
            raise ValidationFailed("boom", "失败", "injected failure")
        return real_seal(index, share, recipient)  # type: ignore[arg-type]

    monkeypatch.setattr(opening_key, "seal_share", seal_then_fail)
    with pytest.raises(ValidationFailed):
        services.notice_publish(acting_user=world.agent, notice=notice)
    assert not OpeningKey.objects.exists()
    assert not KeyShare.objects.exists()
    assert LogEvent.objects.count() == log_size
    notice.refresh_from_db()
    world.refresh()
    assert notice.status == NoticeStatus.DRAFT and notice.body_sha256 == ""
    assert all(s.status == SectionStatus.REGISTERED and s.bid_deadline is None for s in world.sections)


def test_a_custodian_without_an_encryption_certificate_is_named(world: World):
    lacking = UserFactory(role=Role.STAFF, username="no_cert_staff")
    SectionCustodian.objects.create(section=world.sections[1], user=lacking, order=9)
    notice = draft_tender(world)
    log_size = LogEvent.objects.count()
    with pytest.raises(ValidationFailed) as error:
        services.notice_publish(acting_user=world.agent, notice=notice)
    problem = refused(error, "custodian_certificate_missing")
    assert "no_cert_staff" in problem.message_zh and "no_cert_staff" in problem.message_en
    assert problem.extra["custodians"] == ["no_cert_staff"]
    assert not OpeningKey.objects.exists() and LogEvent.objects.count() == log_size


def test_a_revoked_certificate_does_not_count(world: World):
    lacking = UserFactory(role=Role.STAFF, username="revoked_staff")
    encryption_certificate(lacking, status=CertificateStatus.REVOKED)
    SectionCustodian.objects.create(section=world.section, user=lacking, order=9)
    with pytest.raises(ValidationFailed) as error:
        announce(world)
    assert refused(error, "custodian_certificate_missing").extra["custodians"] == ["revoked_staff"]


def test_an_organizations_unassigned_certificate_serves_its_people(world: World):
    person = UserFactory(role=Role.STAFF, username="org_cert_staff")
    _, identity = encryption_certificate(person, holder=False)
    SectionCustodian.objects.filter(section=world.section, order=3).update(user=person)
    announce(world)
    share = KeyShare.objects.get(opening_key__section=world.section, custodian=person)
    index, _ = opening_key.open_share(bytes(share.encrypted_share), identity)
    assert index == share.share_index


def test_too_few_custodians_for_the_threshold(world: World):
    world.section.custodian_threshold = 4
    world.section.save()
    with pytest.raises(ValidationFailed) as error:
        announce(world)
    refused(error, "custodians_insufficient")


# ---- corrections ----------------------------------------------------------------------------------


def draft_correction(w: World, original: Notice, **kwargs) -> Notice:
    return services.notice_draft(
        acting_user=w.agent,
        project=w.project,
        kind=NoticeKind.CORRECTION,
        title="更正公告",
        body="投标截止时间变更。",
        corrects=original,
        **kwargs,
    )


def test_a_correction_moves_the_deadline_and_tells_the_obtainers(announced: World):
    w = announced
    services.document_obtain(acting_user=w.bidder, section=w.section)
    original = Notice.objects.get(kind=NoticeKind.TENDER)
    correction = draft_correction(w, original, bid_deadline=at(27, 9, 30))
    assert {s.pk for s in correction.sections.all()} == {s.pk for s in w.sections}
    services.notice_publish(acting_user=w.agent, notice=correction)
    w.refresh()
    assert all(s.bid_deadline == at(27, 9, 30) and s.opening_at == at(27, 9, 30) for s in w.sections)
    changed = events(NoticesAction.SECTION_TIMELINE_CHANGED)
    assert len(changed) == 2 and changed[0]["data"]["by"] == "correction"
    notes = Notification.objects.filter(recipient=w.bidder)
    assert {n.channel for n in notes} == {NotificationChannel.IN_APP, NotificationChannel.EMAIL}
    assert not Notification.objects.filter(recipient=w.other_bidder).exists()
    assert original.corrections.get() == correction


def test_a_correction_is_held_to_the_timeline(announced: World):
    original = Notice.objects.get(kind=NoticeKind.TENDER)
    correction = draft_correction(announced, original, bid_deadline=at(20, 9, 30))
    with pytest.raises(ValidationFailed) as error:
        services.notice_publish(acting_user=announced.agent, notice=correction)
    refused(error, "timeline_violation", "法 Art 24")


def test_a_late_correction_must_postpone_to_the_earliest_lawful_date(announced: World):
    w = announced
    clock.set_now(at(12))  # 12 days before the deadline of the 24th: fewer than 15 remain
    original = Notice.objects.get(kind=NoticeKind.TENDER)
    correction = draft_correction(w, original, bid_deadline=at(26, 9, 30))
    with pytest.raises(ValidationFailed) as error:
        services.notice_publish(acting_user=w.agent, notice=correction)
    problem = refused(error, "correction_needs_postponement", "法 Art 23")
    assert problem.extra["earliest_deadline"] == "2026-03-27"
    assert "2026-03-27" in problem.message_zh and "2026-03-27" in problem.message_en
    # text only, no new deadline: still refused
    text_only = draft_correction(w, original)
    with pytest.raises(ValidationFailed) as error:
        services.notice_publish(acting_user=w.agent, notice=text_only)
    refused(error, "correction_needs_postponement", "法 Art 23")
    # declared as not affecting bid preparation: allowed
    services.notice_publish(acting_user=w.agent, notice=text_only, affects_bid_preparation=False)
    services.notice_update(acting_user=w.agent, notice=correction, bid_deadline=at(27, 9, 30))
    services.notice_publish(acting_user=w.agent, notice=correction)
    w.refresh()
    assert w.section.bid_deadline == at(27, 9, 30)


def test_a_correction_does_not_wait_for_a_pending_objection(obtained: World):
    w = obtained
    services.document_objection_raise(acting_user=w.bidder, section=w.section, text="评分标准有倾向性")
    assert section_waits_for_objection(w.section.pk)
    original = Notice.objects.get(kind=NoticeKind.TENDER)
    services.notice_publish(
        acting_user=w.agent, notice=draft_correction(w, original, bid_deadline=at(30, 9, 30))
    )


def test_a_correction_covers_only_the_corrected_sections(world: World):
    original = announce(world, section_ids=[world.sections[0].pk])
    correction = draft_correction(world, original, section_ids=[world.sections[1].pk])
    with pytest.raises(ValidationFailed) as error:
        services.notice_publish(acting_user=world.agent, notice=correction)
    refused(error, "notice_section_invalid")


# ---- tender documents -----------------------------------------------------------------------------


def test_documents_are_versioned_and_hashed(world: World):
    announce(world)
    first = upload(world, content=b"v1")
    second = upload(world, content=b"version two")
    assert (first.version, second.version) == (1, 2)
    assert second.sha256 == __import__("hashlib").sha256(b"version two").hexdigest()
    assert second.size == len(b"version two")
    with second.file.open("rb") as stored:
        assert stored.read() == b"version two"
    assert len(events(NoticesAction.DOCUMENT_PUBLISHED)) == 2


def test_documents_may_be_prepared_before_the_announcement(world: World):
    assert upload(world).version == 1


def test_a_bidder_cannot_publish_documents(announced: World):
    with pytest.raises(PermissionDenied):
        services.document_publish(
            acting_user=announced.bidder,
            section=announced.section,
            file=SimpleUploadedFile("x.pdf", b"x"),
            filename="x.pdf",
        )


def test_an_oversized_file_is_refused_and_leaves_no_file(
    announced: World, monkeypatch: pytest.MonkeyPatch, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path)
    monkeypatch.setattr(services, "MAX_DOCUMENT_BYTES", 10)
    with pytest.raises(DomainError) as error:
        upload(announced, content=b"01234567890")
    assert refused(error, "document_too_large").status == 413
    # the size is only known while streaming: still refused, and no partial file is left
    with pytest.raises(DomainError) as error:
        services.document_publish(
            acting_user=announced.agent,
            section=announced.section,
            file=SimpleUploadedFile("x.pdf", b"0" * 64),
            filename="x.pdf",
            size=None,
        )
    refused(error, "document_too_large")
    assert TenderDocument.objects.filter(section=announced.section).count() == 1
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_an_empty_file_is_refused(announced: World):
    with pytest.raises(ValidationFailed) as error:
        upload(announced, content=b"")
    refused(error, "document_empty")


def test_a_new_version_notifies_those_who_obtained_an_older_one(obtained: World):
    w = obtained
    Notification.objects.all().delete()
    upload(w, content=b"v2")
    assert Notification.objects.filter(recipient=w.bidder, channel=NotificationChannel.IN_APP).count() == 1
    assert Notification.objects.filter(recipient=w.bidder, channel=NotificationChannel.EMAIL).count() == 1
    assert not Notification.objects.filter(recipient=w.other_bidder).exists()


def test_a_new_version_does_not_wait_for_a_pending_objection(obtained: World):
    services.document_objection_raise(acting_user=obtained.bidder, section=obtained.section, text="异议")
    assert upload(obtained, content=b"fixed").version == 2


def test_obtaining_records_the_latest_version(announced: World):
    w = announced
    upload(w, content=b"v2")
    obtainment = services.document_obtain(acting_user=w.bidder, section=w.section)
    assert obtainment.document.version == 2
    assert obtainment.organization == w.bidder.organization and obtainment.obtained_at == T0
    assert services.document_obtain(acting_user=w.bidder, section=w.section) == obtainment  # idempotent


def test_obtaining_is_refused_outside_the_sale_period(announced: World):
    clock.set_now(at(11))  # the sale ended on the 10th
    with pytest.raises(Conflict) as error:
        services.document_obtain(acting_user=announced.bidder, section=announced.section)
    problem = refused(error, "documents_sale_closed", "条例 Art 16")
    assert "2026-03-02" in problem.message_zh and "2026-03-10" in problem.message_zh


def test_obtaining_is_refused_before_the_sale_starts(world: World):
    announce(world, docs_sale_start=dt.date(2026, 3, 3), docs_sale_end=dt.date(2026, 3, 10))
    upload(world)
    with pytest.raises(Conflict) as error:
        services.document_obtain(acting_user=world.bidder, section=world.section)
    refused(error, "documents_sale_closed", "条例 Art 16")


def test_an_obtainer_may_take_a_new_version_after_the_sale(obtained: World):
    w = obtained
    clock.set_now(at(12))
    upload(w, content=b"v2")
    assert services.document_obtain(acting_user=w.bidder, section=w.section).document.version == 2
    with pytest.raises(Conflict):
        services.document_obtain(acting_user=w.other_bidder, section=w.section)


def test_nothing_to_obtain_before_documents_are_published(world: World):
    announce(world)
    with pytest.raises(Conflict) as error:
        services.document_obtain(acting_user=world.bidder, section=world.section)
    refused(error, "documents_not_published")


def test_a_section_not_announced_cannot_be_obtained(world: World):
    upload(world)
    with pytest.raises(Conflict) as error:
        services.document_obtain(acting_user=world.bidder, section=world.section)
    refused(error, "section_not_bidding")


def test_nothing_is_obtained_after_the_deadline(obtained: World):
    clock.set_now(DEADLINE)
    with pytest.raises(Conflict) as error:
        services.document_obtain(acting_user=obtained.other_bidder, section=obtained.section)
    refused(error, "deadline_passed")


@pytest.mark.parametrize("role", [Role.AGENT, Role.STAFF, Role.SUPERVISOR])
def test_only_bidders_obtain(announced: World, role: str):
    with pytest.raises(PermissionDenied):
        services.document_obtain(acting_user=UserFactory(role=role), section=announced.section)


def test_obtaining_does_not_wait_for_a_pending_objection(obtained: World):
    services.document_objection_raise(acting_user=obtained.bidder, section=obtained.section, text="异议")
    assert services.document_obtain(acting_user=obtained.other_bidder, section=obtained.section)


def test_the_obtainment_event_names_nobody(obtained: World):
    (event,) = events(NoticesAction.DOCUMENT_OBTAINED)
    assert event["actor"] == event["org"] == event["actor_role"] == event["source_ip"] == ""
    assert event["object"] == {"type": "", "id": ""} and set(event["data"]) == {"sealed"}
    text = json.dumps(event, ensure_ascii=False)
    assert obtained.bidder.username not in text and obtained.bidder.organization.uscc not in text
    obtainment = DocumentObtainment.objects.get()

    def commitment_for(user) -> str:
        return sealed_commitment(
            {
                "index": event["index"],
                "actor": user.username,
                "actor_role": "bidder",
                "org": user.organization.uscc,
                "source_ip": "",
                "user_agent": "",
                "object": {"type": "notices.documentobtainment", "id": str(obtainment.pk)},
                "data": {"section": obtainment.section_id, "document": obtainment.document_id},
            }
        )

    # The platform can prove afterwards who it was; a reader cannot test another bidder against it.
    assert event["data"]["sealed"] == commitment_for(obtained.bidder)
    assert event["data"]["sealed"] != commitment_for(obtained.other_bidder)


# ---- questions ------------------------------------------------------------------------------------


def test_an_obtainer_asks_and_the_parties_are_told_without_names(obtained: World):
    w = obtained
    question = services.question_ask(acting_user=w.bidder, section=w.section, text="工期能否延长？")
    assert question.status == QuestionStatus.OPEN and question.organization == w.bidder.organization
    told = Notification.objects.filter(recipient=w.agent).get()
    assert "工期能否延长" in told.body
    assert w.bidder.username not in told.body + told.subject
    assert w.bidder.organization.name not in told.body + told.subject


def test_who_did_not_obtain_cannot_ask(announced: World):
    with pytest.raises(DomainError) as error:
        services.question_ask(acting_user=announced.bidder, section=announced.section, text="?")
    assert refused(error, "documents_not_obtained").status == 403


def test_questions_close_at_the_clarification_cutoff(obtained: World):
    clock.set_now(at(9, 23, 59))  # the cutoff day (24 March minus 15 days) is still open
    services.question_ask(acting_user=obtained.bidder, section=obtained.section, text="最后一问")
    clock.set_now(at(10, 0, 0))
    with pytest.raises(Conflict) as error:
        services.question_ask(acting_user=obtained.bidder, section=obtained.section, text="太晚了")
    problem = refused(error, "question_after_cutoff", "法 Art 23")
    assert problem.extra["cutoff"] == "2026-03-09"


def test_an_empty_question_is_refused(obtained: World):
    with pytest.raises(ValidationFailed) as error:
        services.question_ask(acting_user=obtained.bidder, section=obtained.section, text="   ")
    refused(error, "text_required")


# ---- clarifications -------------------------------------------------------------------------------


def test_an_on_time_clarification_answers_questions_and_reaches_the_obtainers(obtained: World):
    w = obtained
    question = services.question_ask(acting_user=w.bidder, section=w.section, text="工期？")
    Notification.objects.all().delete()
    clarification = services.clarification_publish(
        acting_user=w.agent, section=w.section, text="工期为180日历天。", question_ids=[question.pk]
    )
    question.refresh_from_db()
    assert question.status == QuestionStatus.ANSWERED and question.answer == clarification
    assert clarification.deadline_after is None
    assert Notification.objects.filter(recipient=w.bidder).count() == 2  # in-app and e-mail
    assert not Notification.objects.filter(recipient=w.other_bidder).exists()
    (event,) = events(NoticesAction.CLARIFICATION_PUBLISHED)
    assert event["data"]["questions"] == [question.pk]


def test_a_late_clarification_forces_a_postponement(obtained: World):
    w = obtained
    clock.set_now(at(12))  # after the cutoff of the 9th: earliest lawful deadline 12 + 15 = 27 March
    with pytest.raises(ValidationFailed) as error:
        services.clarification_publish(acting_user=w.agent, section=w.section, text="修改评分办法")
    problem = refused(error, "clarification_needs_postponement", "法 Art 23")
    assert problem.extra["earliest_deadline"] == "2026-03-27"
    with pytest.raises(ValidationFailed) as error:
        services.clarification_publish(
            acting_user=w.agent, section=w.section, text="修改评分办法", new_deadline=at(26, 9, 30)
        )
    refused(error, "clarification_needs_postponement", "法 Art 23")
    assert not Clarification.objects.exists()
    clarification = services.clarification_publish(
        acting_user=w.agent, section=w.section, text="修改评分办法", new_deadline=at(27, 9, 30)
    )
    w.refresh()
    assert w.section.bid_deadline == at(27, 9, 30) and w.section.opening_at == at(27, 9, 30)
    assert clarification.deadline_before == DEADLINE and clarification.deadline_after == at(27, 9, 30)
    (changed,) = events(NoticesAction.SECTION_TIMELINE_CHANGED)
    assert changed["data"]["by"] == "clarification"
    assert "2026-03-27" in Notification.objects.filter(recipient=w.bidder).first().body
    assert w.sections[1].bid_deadline == DEADLINE  # the other section keeps its deadline


def test_a_late_clarification_that_does_not_affect_preparation_needs_no_postponement(obtained: World):
    clock.set_now(at(12))
    clarification = services.clarification_publish(
        acting_user=obtained.agent,
        section=obtained.section,
        text="联系人电话更正",
        affects_bid_preparation=False,
    )
    assert clarification.deadline_after is None


def test_a_clarification_never_moves_the_deadline_earlier(obtained: World):
    with pytest.raises(ValidationFailed) as error:
        services.clarification_publish(
            acting_user=obtained.agent, section=obtained.section, text="提前", new_deadline=at(23, 9, 30)
        )
    refused(error, "deadline_not_later")


def test_a_clarification_answers_only_its_sections_questions(obtained: World):
    w = obtained
    with pytest.raises(ValidationFailed) as error:
        services.clarification_publish(
            acting_user=w.agent, section=w.section, text="答复", question_ids=[999999]
        )
    refused(error, "question_invalid")


@pytest.mark.parametrize("who", ["bidder", "staff", "rival_agent"])
def test_only_the_parties_clarify(obtained: World, who: str):
    with pytest.raises(PermissionDenied):
        services.clarification_publish(acting_user=getattr(obtained, who), section=obtained.section, text="x")


# ---- objections to the documents (条例 Art 22) -----------------------------------------------------


def test_an_objection_suspends_the_section_until_answered(obtained: World):
    w = obtained
    objection = services.document_objection_raise(
        acting_user=w.bidder, section=w.section, text="资格条件排斥潜在投标人"
    )
    assert objection.stage == "tender_documents" and objection.status == ObjectionStatus.RAISED
    # received Monday 2 March: three days, ending Thursday 5 March at the end of the day
    assert objection.answer_due == dt.datetime(2026, 3, 5, 23, 59, 59, tzinfo=clock.LOCAL_TZ)
    assert section_waits_for_objection(w.section.pk)
    assert not section_waits_for_objection(w.sections[1].pk)
    objection_answer(acting_user=w.agent, objection=objection, answer="已修改资格条件")
    assert not section_waits_for_objection(w.section.pk)


def test_objections_close_ten_days_before_the_deadline(obtained: World):
    clock.set_now(at(14, 23, 0))  # 24 March minus 10 days: the last day
    services.document_objection_raise(acting_user=obtained.bidder, section=obtained.section, text="异议一")
    clock.set_now(at(15, 0, 1))
    with pytest.raises(Conflict) as error:
        services.document_objection_raise(
            acting_user=obtained.bidder, section=obtained.section, text="异议二"
        )
    assert refused(error, "objection_after_cutoff", "条例 Art 22").extra["cutoff"] == "2026-03-14"
    assert Objection.objects.count() == 1


def test_who_did_not_obtain_cannot_object(announced: World):
    with pytest.raises(DomainError) as error:
        services.document_objection_raise(acting_user=announced.bidder, section=announced.section, text="x")
    refused(error, "documents_not_obtained")


def test_the_parties_cannot_object_to_their_own_documents(obtained: World):
    with pytest.raises(PermissionDenied):
        services.document_objection_raise(acting_user=obtained.agent, section=obtained.section, text="x")


def test_a_deadline_in_the_past_is_refused(world: World):
    with pytest.raises(ValidationFailed) as error:
        announce(world, bid_deadline=at(1, 9, 30))
    refused(error, "bid_deadline_past")


@pytest.mark.parametrize("name", ["", "  ", "../", "."])
def test_a_document_needs_a_file_name(announced: World, name: str):
    with pytest.raises(ValidationFailed) as error:
        services.document_publish(
            acting_user=announced.agent,
            section=announced.section,
            file=SimpleUploadedFile("x", b"x"),
            filename=name,
        )
    refused(error, "filename_required")


def test_the_stored_name_is_ours_and_the_users_name_is_kept(announced: World):
    long_name = "很长的文件名" * 40 + ".PDF"
    document = upload(announced, name=long_name, content=b"v2")
    assert document.filename == long_name[-200:]
    assert len(document.file.name) <= 100 and document.file.name.endswith(".pdf")
    assert "/" not in document.filename
