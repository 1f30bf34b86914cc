from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage

from tenderhall.core import clock
from tenderhall.core.canonical import canonical_json
from tenderhall.core.crypto import certs
from tenderhall.core.errors import DomainError
from tenderhall.core.models import LogEvent, SignedTreeHead
from tenderhall.core.notifications import Notification
from tenderhall.notices.models import Notice, NoticeKind, NoticeStatus
from tenderhall.opening import services
from tenderhall.opening.events import OpeningAction
from tenderhall.opening.models import (
    Decryption,
    DecryptionStatus,
    HallEvent,
    HallSignIn,
    OpeningSession,
    OpeningStatus,
    ShareSubmission,
)
from tenderhall.projects.models import EvaluationMethod, Section, SectionStatus
from tests.notices.conftest import DEADLINE
from tests.opening.conftest import Bidder, Hall, later, make_package, sign_in, sign_in_body


def refused(code: str, call: Callable[..., Any], /, **kwargs: Any) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(**kwargs)
    assert caught.value.code == code, caught.value
    return caught.value


def decryption(hall: Hall, i: int) -> Decryption:
    bid = hall.bidders[i].bid
    assert bid is not None
    return Decryption.objects.get(bid=bid)


def unlock(hall: Hall, i: int, key: bytes | None = None) -> Decryption:
    b = hall.bidders[i]
    return services.bid_unlock(acting_user=b.user, section=hall.section, file_key=key or b.file_key)


def seqs(section: Section) -> list[int]:
    return list(HallEvent.objects.filter(section=section).values_list("seq", flat=True))


# ---- start ------------------------------------------------------------------------------------------


def test_opening_refused_before_the_deadline(make_hall: Callable[..., Hall]):
    hall = make_hall(start=False)
    clock.set_now(DEADLINE - dt.timedelta(seconds=1))
    refused("opening_before_deadline", services.opening_start, section=hall.section)
    assert not OpeningSession.objects.exists()


def test_opening_starts_at_the_deadline_with_the_live_bids_idempotently(hall: Hall):
    session = OpeningSession.objects.get(section=hall.section)
    assert hall.section.status == SectionStatus.OPENING
    assert session.status == OpeningStatus.WAITING
    assert session.decryptions.count() == 3
    assert services.opening_start(section=hall.section) == session
    event = HallEvent.objects.get(section=hall.section, seq=1)
    assert event.kind == "opening_started" and event.payload["enough_bids"] is True
    assert {b["uscc"] for b in event.payload["bidders"]} == {b.user.organization.uscc for b in hall.bidders}


def test_tick_starts_every_due_section(make_hall: Callable[..., Hall]):
    hall = make_hall(start=False)
    assert services.opening_tick() == []
    clock.set_now(DEADLINE)
    started = services.opening_tick()
    # section 2 was announced too but has no bids: it opens (and will fail) just the same
    assert hall.section.pk in {s.section_id for s in started}
    assert services.opening_tick() == []


# ---- sign-in ------------------------------------------------------------------------------------------


def test_sign_in_before_the_deadline_is_sealed_and_shows_nothing(make_hall: Callable[..., Hall]):
    hall = make_hall(start=False)
    sign_in(hall.bidders[0], hall.section)
    event = LogEvent.objects.filter(action=OpeningAction.SIGNED_IN).get()
    assert event.actor_username == "" and event.org_uscc == ""
    assert not HallEvent.objects.exists()
    assert sign_in(hall.bidders[0], hall.section)  # idempotent
    assert HallSignIn.objects.count() == 1


def test_sign_in_after_the_deadline_is_shown_and_late_sign_in_refused(decrypting: Hall):
    hall = decrypting
    sign_in(hall.bidders[1], hall.section)
    assert HallEvent.objects.filter(kind="signed_in").count() == 1
    later(31)
    refused("hall_sign_in_late", lambda: sign_in(hall.bidders[2], hall.section))


def test_sign_in_refused_to_a_bidder_without_the_documents(hall: Hall, other_bidder: Any):
    from tests.factories import UserFactory

    stranger = UserFactory(role="bidder")
    refused("not_found", services.hall_challenge_issue, acting_user=stranger, section=hall.section)
    body = sign_in_body(hall.bidders[0], hall.section)
    refused(
        "not_found",
        services.hall_sign_in,
        acting_user=stranger,
        section=hall.section,
        nonce=body["nonce"],
        signature=base64.b64decode(body["signature"]),
    )


def test_sign_in_needs_a_fresh_challenge_signed_by_a_registered_certificate(decrypting: Hall):
    hall = decrypting
    b0, b1 = hall.bidders[0], hall.bidders[1]
    body = sign_in_body(b0, hall.section)
    # signed by another bidder's key: refused, and the challenge is spent
    forged = certs.sign_challenge(
        b1.signer.key,
        certs.hall_challenge_text(body["nonce"], hall.section.pk, b0.user.username),
    )
    with pytest.raises(DomainError) as info:
        services.hall_sign_in(
            acting_user=b0.user, section=hall.section, nonce=body["nonce"], signature=forged
        )
    assert info.value.code == "signature_invalid"
    refused(
        "hall_challenge_invalid",
        services.hall_sign_in,
        acting_user=b0.user,
        section=hall.section,
        nonce=body["nonce"],
        signature=base64.b64decode(body["signature"]),
    )
    # another bidder's challenge, and an expired one, are refused too
    other = sign_in_body(b1, hall.section)
    refused(
        "hall_challenge_invalid",
        services.hall_sign_in,
        acting_user=b0.user,
        section=hall.section,
        nonce=other["nonce"],
        signature=base64.b64decode(other["signature"]),
    )
    stale = sign_in_body(b0, hall.section)
    later(6)
    refused(
        "hall_challenge_invalid",
        services.hall_sign_in,
        acting_user=b0.user,
        section=hall.section,
        nonce=stale["nonce"],
        signature=base64.b64decode(stale["signature"]),
    )
    # a login signature is not a hall sign-in
    fresh = services.hall_challenge_issue(acting_user=b0.user, section=hall.section)
    login_sig = certs.sign_challenge(b0.signer.key, certs.challenge_text(fresh.nonce, b0.user.username))
    with pytest.raises(DomainError):
        services.hall_sign_in(
            acting_user=b0.user, section=hall.section, nonce=fresh.nonce, signature=login_sig
        )
    assert not HallSignIn.objects.filter(user=b0.user).exists()
    refusals = LogEvent.objects.filter(action=OpeningAction.SIGN_IN_REFUSED)
    assert refusals.count() == 5 and all(e.actor_username == b0.user.username for e in refusals)
    # the right way in records the certificate
    row = sign_in(b0, hall.section)
    assert row.certificate_fingerprint == certs.fingerprint_sha256(b0.signer.certificate)


# ---- failure -------------------------------------------------------------------------------------------


def test_fewer_than_three_bids_fail_with_a_draft_notice(make_hall: Callable[..., Hall]):
    hall = make_hall(2)
    refused(
        "opening_too_few_bids",
        services.decryption_window_open,
        acting_user=hall.host,
        section=hall.section,
        minutes=30,
    )
    session = services.opening_fail(acting_user=hall.host, section=hall.section, reason="投标人不足三家")
    hall.world.refresh()
    assert session.status == OpeningStatus.FAILED
    assert hall.section.status == SectionStatus.FAILED
    notice = Notice.objects.get(pk=session.failed_notice_id)
    assert notice.kind == NoticeKind.FAILED and notice.status == NoticeStatus.DRAFT
    assert list(notice.sections.all()) == [hall.section]
    assert "第二十八条" in notice.body
    assert Notification.objects.filter(recipient=hall.bidders[0].user, subject__contains="流标").exists()


def test_three_bids_cannot_fail_for_too_few(hall: Hall):
    refused(
        "opening_enough_bids", services.opening_fail, acting_user=hall.host, section=hall.section, reason="x"
    )
    refused("reason_required", services.opening_fail, acting_user=hall.host, section=hall.section, reason=" ")


def test_only_the_host_runs_the_opening(hall: Hall):
    w = hall.world
    refused("permission_denied", services.decryption_window_open, acting_user=w.bidder, section=hall.section)
    refused("permission_denied", services.decryption_window_open, acting_user=w.staff, section=hall.section)
    assert w.rival_agent is not None
    refused("not_found", services.decryption_window_open, acting_user=w.rival_agent, section=hall.section)


# ---- decryption --------------------------------------------------------------------------------------


def test_unlock_before_the_window_is_refused_and_logged(hall: Hall):
    refused("decryption_window_closed", unlock, hall=hall, i=0)
    assert LogEvent.objects.filter(action=OpeningAction.UNLOCK_REFUSED).count() == 1
    assert decryption(hall, 0).status == DecryptionStatus.PENDING


def test_unlock_decrypts_checks_and_stores_the_package(decrypting: Hall):
    hall = decrypting
    d = unlock(hall, 0)
    assert d.status == DecryptionStatus.DECRYPTED
    assert d.signature_ok and d.manifest_ok and d.opening_stanza_ok
    assert d.file_key_sha256 == hashlib.sha256(hall.bidders[0].file_key).hexdigest()
    assert d.package.name.startswith("bids/opened/")
    with default_storage.open(d.package.name, "rb") as f:
        stored = f.read()
    assert hashlib.sha256(stored).hexdigest() == d.package_sha256
    assert zipfile.ZipFile(io.BytesIO(stored)).read("manifest.json") == canonical_json(
        hall.bidders[0].manifest
    )
    assert d.manifest["opening_summary"]["price"] == "11800000.00"
    assert d.bid.machine_fingerprint["machine_code"] == "m1"
    # the key itself is nowhere: not in the row, not in the log
    key_hex = hall.bidders[0].file_key.hex()
    assert not LogEvent.objects.filter(payload__contains=key_hex).exists()
    events = HallEvent.objects.filter(kind="bid_status").order_by("seq")
    assert [e.payload["bid"]["status"] for e in events] == ["queued", "decrypted"]
    received = LogEvent.objects.get(action=OpeningAction.UNLOCK_RECEIVED)
    assert json.loads(received.payload)["data"]["file_key_sha256"] == d.file_key_sha256


def test_a_replayed_key_is_refused(decrypting: Hall):
    unlock(decrypting, 0)
    refused("bid_already_decrypted", unlock, hall=decrypting, i=0)


def test_a_wrong_key_fails_the_attempt_then_the_right_key_succeeds(decrypting: Hall):
    hall = decrypting
    d = unlock(hall, 0, key=bytes(16))
    assert d.status == DecryptionStatus.FAILED
    assert d.reason_code == "file_key_wrong" and d.classification == "撤销"
    d = unlock(hall, 0)
    assert d.status == DecryptionStatus.DECRYPTED and d.attempts == 2 and d.classification == ""


def test_another_bidders_key_opens_nothing_of_theirs(decrypting: Hall):
    """A bidder can only ever unlock its own bid: another bidder's key is just a wrong key for it."""
    hall = decrypting
    d = services.bid_unlock(
        acting_user=hall.bidders[0].user, section=hall.section, file_key=hall.bidders[1].file_key
    )
    assert d.bid_id == hall.bidders[0].bid.pk and d.reason_code == "file_key_wrong"
    assert decryption(hall, 1).status == DecryptionStatus.PENDING


def test_unlock_for_a_section_without_a_bid_is_refused(decrypting: Hall):
    other = decrypting.world.sections[1]
    refused(
        "opening_not_started",
        services.bid_unlock,
        acting_user=decrypting.bidders[0].user,
        section=other,
        file_key=bytes(16),
    )
    from tests.factories import UserFactory

    stranger = UserFactory(role="bidder")
    refused(
        "not_found", services.bid_unlock, acting_user=stranger, section=decrypting.section, file_key=bytes(16)
    )
    refused(
        "file_key_invalid",
        services.bid_unlock,
        acting_user=decrypting.bidders[0].user,
        section=decrypting.section,
        file_key=b"short",
    )


def test_unlock_after_the_window_is_refused(decrypting: Hall):
    later(30)
    refused("decryption_window_closed", unlock, hall=decrypting, i=0)


def _rezip(src: zipfile.ZipFile, replace: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for info in src.infolist():
            zf.writestr(info, replace.get(info.filename, src.read(info.filename)))
    return out.getvalue()


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("signature", "package_signature_invalid"),
        ("section", "package_wrong_section"),
        ("garbage", "package_invalid"),
    ],
)
def test_a_bad_package_is_the_bidders_fault(make_hall: Callable[..., Hall], case: str, code: str):
    def maker(b: Bidder, section: Section, tmp: Path) -> bytes:
        if case == "garbage":
            return b"not a zip at all" * 100
        if case == "section":
            other = Section.objects.exclude(pk=section.pk).filter(project=section.project).first()
            assert other is not None
            return make_package(b, section, tmp, section_id=other.pk)
        good = zipfile.ZipFile(io.BytesIO(make_package(b, section, tmp)))
        sig = good.read("manifest.sig")
        return _rezip(good, {"manifest.sig": (b"B" if sig[:1] != b"B" else b"C") + sig[1:]})

    hall = make_hall(3, packages={0: maker})
    services.decryption_window_open(acting_user=hall.host, section=hall.section, minutes=30)
    d = unlock(hall, 0)
    assert d.status == DecryptionStatus.FAILED
    assert d.reason_code == code, (d.reason_code, d.reason_en)
    assert d.classification == "撤销"
    assert d.opening_stanza_ok is True  # the envelope itself was fine
    assert not d.package.name


def test_a_damaged_stored_ciphertext_is_the_platforms_fault(decrypting: Hall):
    hall = decrypting
    bid = hall.bidders[0].bid
    assert bid is not None
    path = Path(bid.file.path)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    d = unlock(hall, 0)
    assert d.reason_code == "ciphertext_hash_mismatch" and d.classification == "撤回"


# ---- backup decryption ---------------------------------------------------------------------------


def test_backup_decryption_with_k_shares(decrypting: Hall):
    hall = decrypting
    unlock(hall, 0, key=bytes(16))  # bidder 0 lost its key
    services.backup_request(acting_user=hall.host, section=hall.section, bid=hall.bidders[0].bid)
    (u1, i1, s1), (u2, i2, s2), _ = hall.shares()
    first = services.custodian_share_submit(acting_user=u1, section=hall.section, share_index=i1, share=s1)
    assert first.submission.verified and first.shares_held == 1 and first.opened == []
    assert decryption(hall, 0).status == DecryptionStatus.FAILED  # k-1 shares: nothing happens
    second = services.custodian_share_submit(acting_user=u2, section=hall.section, share_index=i2, share=s2)
    assert [d.bid_id for d in second.opened] == [hall.bidders[0].bid.pk]
    d = decryption(hall, 0)
    assert d.status == DecryptionStatus.BACKUP_DECRYPTED and d.signature_ok and d.classification == ""
    assert services.share_pool.held(d.session_id) == 0  # forgotten
    assert ShareSubmission.objects.filter(verified=True, used=True).count() == 2
    for share in (s1, s2):
        assert not LogEvent.objects.filter(payload__contains=share.hex()).exists()
    assert LogEvent.objects.filter(action=OpeningAction.BACKUP_DECRYPTED).count() == 1


def test_k_minus_one_shares_open_nothing(decrypting: Hall):
    hall = decrypting
    services.backup_request(acting_user=hall.host, section=hall.section, bid=hall.bidders[2].bid)
    (u1, i1, s1), *_ = hall.shares()
    result = services.custodian_share_submit(acting_user=u1, section=hall.section, share_index=i1, share=s1)
    assert result.opened == [] and result.threshold == 2
    assert decryption(hall, 2).status == DecryptionStatus.PENDING
    assert ShareSubmission.objects.get().verified is True


def test_a_corrupted_share_is_recorded_and_refused(decrypting: Hall):
    hall = decrypting
    services.backup_request(acting_user=hall.host, section=hall.section, bid=hall.bidders[0].bid)
    (u1, i1, s1), *_ = hall.shares()
    bad = bytes([s1[0] ^ 1]) + s1[1:]
    refused(
        "share_corrupt",
        services.custodian_share_submit,
        acting_user=u1,
        section=hall.section,
        share_index=i1,
        share=bad,
    )
    assert ShareSubmission.objects.get().verified is False
    assert services.share_pool.held(OpeningSession.objects.get().pk) == 0


def test_a_share_checks_against_the_log_not_only_the_table(decrypting: Hall):
    """Someone who rewrote KeyShare.share_sha256 cannot make a forged share pass."""
    from tenderhall.notices import opening_key
    from tenderhall.notices.models import KeyShare

    hall = decrypting
    services.backup_request(acting_user=hall.host, section=hall.section, bid=hall.bidders[0].bid)
    (u1, i1, _), *_ = hall.shares()
    forged = bytes(16)
    KeyShare.objects.filter(opening_key__section=hall.section, share_index=i1).update(
        share_sha256=opening_key.share_hash(i1, forged)
    )
    refused(
        "share_corrupt",
        services.custodian_share_submit,
        acting_user=u1,
        section=hall.section,
        share_index=i1,
        share=forged,
    )


def test_a_share_from_a_non_custodian_is_refused(decrypting: Hall):
    hall = decrypting
    services.backup_request(acting_user=hall.host, section=hall.section, bid=hall.bidders[0].bid)
    (_, i1, s1), *_ = hall.shares()
    refused(
        "permission_denied",
        services.custodian_share_submit,
        acting_user=hall.world.tenderer,  # may be a custodian elsewhere, not of this section
        section=hall.section,
        share_index=i1,
        share=s1,
    )
    refused(
        "permission_denied",
        services.custodian_share_submit,
        acting_user=hall.bidders[0].user,
        section=hall.section,
        share_index=i1,
        share=s1,
    )
    (u1, _, _), (_, i2, s2), _ = hall.shares()
    refused(
        "share_not_yours",
        services.custodian_share_submit,
        acting_user=u1,
        section=hall.section,
        share_index=i2,
        share=s2,
    )
    assert LogEvent.objects.filter(action=OpeningAction.SHARE_REFUSED).count() == 3
    assert not ShareSubmission.objects.exists()


def test_shares_without_a_backup_request_are_refused(decrypting: Hall):
    (u1, i1, s1), *_ = decrypting.shares()
    refused(
        "backup_not_requested",
        services.custodian_share_submit,
        acting_user=u1,
        section=decrypting.section,
        share_index=i1,
        share=s1,
    )


# ---- closing, classification, reading out, the coefficient ---------------------------------------------


def test_close_classifies_the_undecrypted(decrypting: Hall):
    hall = decrypting
    unlock(hall, 0)
    unlock(hall, 1, key=bytes(16))
    session = services.decryption_window_close(acting_user=hall.host, section=hall.section)
    assert session.status == OpeningStatus.DECRYPTED
    assert decryption(hall, 1).classification == "撤销"
    d2 = decryption(hall, 2)
    assert (
        d2.status == DecryptionStatus.FAILED
        and d2.classification == "撤销"
        and d2.reason_code == "not_unlocked"
    )
    refused("decryption_window_closed", unlock, hall=hall, i=2)


def test_read_out_publishes_the_table_once(decrypting: Hall):
    hall = decrypting
    for i in range(3):
        unlock(hall, i)
    refused("opening_wrong_state", services.opening_read_out, acting_user=hall.host, section=hall.section)
    services.decryption_window_close(acting_user=hall.host, section=hall.section)
    session = services.opening_read_out(acting_user=hall.host, section=hall.section)
    hall.world.refresh()
    assert hall.section.status == SectionStatus.OPENED
    assert [row["price"] for row in session.table] == ["11800000.00", "11801000.00", "11802000.00"]
    row = session.table[0]
    assert row["bond_reference"] == f"BOND-{hall.bidders[0].user.username}" and row["duration_days"] == 180
    assert row["project_manager"]["name"] == "张三" and row["quality"] == "合格"
    assert session.coefficient is None  # comprehensive evaluation: nothing to draw
    event = HallEvent.objects.get(kind="read_out")
    assert event.payload["table"] == session.table
    assert seqs(hall.section) == list(range(1, len(seqs(hall.section)) + 1))
    refused("opening_wrong_state", services.opening_read_out, acting_user=hall.host, section=hall.section)


def test_the_coefficient_is_drawn_verifiably(make_hall: Callable[..., Hall]):
    hall = make_hall(3, start=False)
    Section.objects.filter(pk=hall.section.pk).update(
        evaluation_method=EvaluationMethod.BENCHMARK_PRICE,
        evaluation_params={"k_min": "0.95", "k_max": "0.98"},
    )
    clock.set_now(DEADLINE)
    services.opening_start(section=hall.section)
    services.decryption_window_open(acting_user=hall.host, section=hall.section, minutes=30)
    for i in range(3):
        unlock(hall, i)
    closed = services.decryption_window_close(acting_user=hall.host, section=hall.section)
    session = services.opening_read_out(acting_user=hall.host, section=hall.section)
    # recompute independently from the signed tree head signed with the close of decryption
    sth = SignedTreeHead.objects.get(tree_size=closed.window_close_log_index + 1)
    close_event = LogEvent.objects.get(index=closed.window_close_log_index)
    assert json.loads(close_event.payload)["action"] == OpeningAction.WINDOW_CLOSED
    timestamp = sth.timestamp.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    assert timestamp == session.coefficient_inputs["timestamp"]
    seed = hashlib.sha256(
        bytes.fromhex(sth.root_hash) + timestamp.encode() + str(hall.section.pk).encode()
    ).digest()
    fraction = Decimal(int(seed.hex(), 16) % 1_000_000) / Decimal(1_000_000)
    expected = (Decimal("0.95") + Decimal("0.03") * fraction).quantize(
        Decimal("0.0001"), rounding=ROUND_HALF_UP
    )
    assert session.coefficient == expected
    assert session.coefficient_seed == seed.hex() and session.coefficient_tree_size == sth.tree_size
    assert Decimal("0.95") <= expected <= Decimal("0.98")
    assert LogEvent.objects.filter(action=OpeningAction.COEFFICIENT_DRAWN).count() == 1


def test_coefficient_formula_rounds_half_up():
    seed = (500_050).to_bytes(32, "big")  # fraction 0.50005
    assert services.coefficient_from_seed(seed, Decimal("0.9"), Decimal("1.0")) == Decimal("0.9500")
    seed = (999_999).to_bytes(32, "big")
    assert services.coefficient_from_seed(seed, Decimal("0.9"), Decimal("1.0")) == Decimal("1.0000")


# ---- exceptions ---------------------------------------------------------------------------------------


def test_suspend_resume_gives_the_window_its_time_back(decrypting: Hall):
    hall = decrypting
    end = OpeningSession.objects.get().window_end
    sign_in(hall.bidders[0], hall.section)
    services.opening_suspend(acting_user=hall.host, section=hall.section, reason="网络故障")
    hall.world.refresh()
    assert hall.section.status == SectionStatus.SUSPENDED
    refused("decryption_window_closed", unlock, hall=hall, i=0)
    later(10)
    session = services.opening_resume(acting_user=hall.host, section=hall.section, reason="网络恢复")
    hall.world.refresh()
    assert hall.section.status == SectionStatus.OPENING and session.status == OpeningStatus.DECRYPTING
    assert session.window_end == end + dt.timedelta(minutes=10)
    assert unlock(hall, 0).status == DecryptionStatus.DECRYPTED
    notified = Notification.objects.filter(subject__contains="暂停")
    assert {n.recipient_id for n in notified} >= {b.user.pk for b in hall.bidders}
    refused(
        "reason_required", services.opening_suspend, acting_user=hall.host, section=hall.section, reason=""
    )


def test_postpone_moves_the_opening_time(hall: Hall):
    new = DEADLINE + dt.timedelta(hours=2)
    services.opening_postpone(acting_user=hall.host, section=hall.section, reason="专家未到", new_time=new)
    hall.world.refresh()
    assert hall.section.opening_at == new
    refused(
        "opening_time_not_reached",
        services.decryption_window_open,
        acting_user=hall.host,
        section=hall.section,
    )
    clock.set_now(new)
    assert (
        services.decryption_window_open(acting_user=hall.host, section=hall.section).status
        == OpeningStatus.DECRYPTING
    )
    refused(
        "opening_wrong_state",
        services.opening_postpone,
        acting_user=hall.host,
        section=hall.section,
        reason="x",
        new_time=new + dt.timedelta(hours=1),
    )
    assert Notification.objects.filter(subject__contains="推迟", recipient=hall.bidders[0].user).exists()


def test_the_tick_command(make_hall: Callable[..., Hall]):
    from django.core.management import call_command

    hall = make_hall(start=False)
    out = io.StringIO()
    call_command("opening", "tick", stdout=out)
    assert "0 opening(s) started" in out.getvalue()
    clock.set_now(DEADLINE)
    out = io.StringIO()
    call_command("opening", "tick", stdout=out)
    assert f"opening started: section {hall.section.pk}" in out.getvalue()


def test_too_few_decrypted_bids_fail_after_the_window(decrypting: Hall, bid_dirs: dict[str, Path]):
    hall = decrypting
    unlock(hall, 0)
    unlock(hall, 1)
    services.decryption_window_close(acting_user=hall.host, section=hall.section)
    session = services.opening_fail(acting_user=hall.host, section=hall.section, reason="有效投标不足三家")
    assert session.status == OpeningStatus.FAILED
    # the temporary plaintexts are gone; only the stored packages remain
    assert not list((bid_dirs["uploads"] / "opening").iterdir())
    assert len(list((bid_dirs["files"] / "bids" / "opened").rglob("*.zip"))) == 2


def test_a_backup_request_for_an_open_bid_is_refused(decrypting: Hall):
    unlock(decrypting, 0)
    refused(
        "bid_already_decrypted",
        services.backup_request,
        acting_user=decrypting.host,
        section=decrypting.section,
        bid=decrypting.bidders[0].bid,
    )


def test_a_benchmark_section_without_a_k_range_is_refused_not_crashed(decrypting: Hall):
    hall = decrypting
    for i in range(3):
        unlock(hall, i)
    services.decryption_window_close(acting_user=hall.host, section=hall.section)
    Section.objects.filter(pk=hall.section.pk).update(
        evaluation_method=EvaluationMethod.BENCHMARK_PRICE, evaluation_params={}
    )
    refused(
        "coefficient_range_invalid", services.opening_read_out, acting_user=hall.host, section=hall.section
    )
    assert OpeningSession.objects.get().status == OpeningStatus.DECRYPTED
