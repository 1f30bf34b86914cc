"""Decryption in the background (issue 5 item 3): the unlock request only accepts the key; a
decryption thread of the server opens and checks the bid and the outcome reaches the hall. A key
accepted by a process that then died is never silently lost: the bid goes back to pending (the
bidder resends the key) or, at the close, is classified 撤回 — the platform's fault (电子招标投标办法
Art 31)."""

from __future__ import annotations

from typing import Any

import pytest

from tenderhall.core.errors import DomainError
from tenderhall.core.models import LogEvent
from tenderhall.opening import services
from tenderhall.opening.events import OpeningAction
from tenderhall.opening.models import Classification, Decryption, DecryptionStatus, HallEvent
from tests.opening.conftest import Hall, later


def _settled(bid_id: int) -> Decryption:
    """Wait for the decryption thread without touching the database meanwhile (the in-memory
    SQLite test database locks whole tables between threads); the bound is not a timing test."""
    assert services.decryptions_drain(timeout=120) == 0, "the decryption thread did not settle"
    return Decryption.objects.get(bid_id=bid_id)


@pytest.mark.django_db(transaction=True)
def test_the_request_accepts_the_key_and_a_thread_decrypts(decrypting: Hall, settings: Any) -> None:
    settings.TENDERHALL_DECRYPT_INLINE = False
    b0 = decrypting.bidders[0]
    accepted = services.bid_unlock(acting_user=b0.user, section=decrypting.section, file_key=b0.file_key)
    assert accepted.status == DecryptionStatus.QUEUED and accepted.decrypted_at is None
    assert b0.bid is not None
    done = _settled(b0.bid.pk)
    assert done.status == DecryptionStatus.DECRYPTED and done.signature_ok and done.manifest_ok
    kinds = [e.payload["bid"]["status"] for e in HallEvent.objects.filter(kind="bid_status").order_by("seq")]
    assert kinds == ["queued", "decrypted"]
    # a wrong key takes the same road and fails with the bidder's fault recorded
    b1 = decrypting.bidders[1]
    services.bid_unlock(acting_user=b1.user, section=decrypting.section, file_key=bytes(16))
    assert b1.bid is not None
    failed = _settled(b1.bid.pk)
    assert failed.status == DecryptionStatus.FAILED and failed.reason_code == "file_key_wrong"


def _accept_only(hall: Hall, i: int) -> Decryption:
    """The state a process leaves when it dies after accepting the key, before decrypting."""
    b = hall.bidders[i]
    return services._bid_unlock_accept(acting_user=b.user, section=hall.section, file_key=b.file_key)


def test_a_second_key_while_decrypting_is_refused(decrypting: Hall) -> None:
    _accept_only(decrypting, 0)
    b0 = decrypting.bidders[0]
    with pytest.raises(DomainError) as info:
        services.bid_unlock(acting_user=b0.user, section=decrypting.section, file_key=b0.file_key)
    assert info.value.code == "bid_decrypting"
    assert LogEvent.objects.filter(action=OpeningAction.UNLOCK_REFUSED).count() == 1


def test_the_window_does_not_close_over_a_running_decryption(decrypting: Hall) -> None:
    _accept_only(decrypting, 0)
    with pytest.raises(DomainError) as info:
        services.decryption_window_close(acting_user=decrypting.host, section=decrypting.section)
    assert info.value.code == "decryption_in_progress" and info.value.extra["decrypting"] == 1


def test_a_lost_decryption_goes_back_to_pending_and_the_key_can_be_resent(decrypting: Hall) -> None:
    queued = _accept_only(decrypting, 0)
    later(5)
    assert services.decryptions_stale_reset() == []  # not stale yet
    later(6)
    services.opening_tick()
    row = Decryption.objects.get(pk=queued.pk)
    assert row.status == DecryptionStatus.PENDING and row.reason_code == "decryption_interrupted"
    assert LogEvent.objects.filter(action=OpeningAction.DECRYPTION_INTERRUPTED).count() == 1
    b0 = decrypting.bidders[0]
    again = services.bid_unlock(acting_user=b0.user, section=decrypting.section, file_key=b0.file_key)
    assert again.status == DecryptionStatus.DECRYPTED and again.reason_code == ""


def test_a_lost_decryption_not_resent_is_the_platforms_fault(decrypting: Hall) -> None:
    queued = _accept_only(decrypting, 0)
    later(11)
    services.opening_tick()
    services.decryption_window_close(acting_user=decrypting.host, section=decrypting.section)
    row = Decryption.objects.get(pk=queued.pk)
    assert row.status == DecryptionStatus.FAILED and row.classification == Classification.WITHDRAWN
    untouched = Decryption.objects.get(bid=decrypting.bidders[1].bid)
    assert untouched.classification == Classification.REVOKED  # never unlocked: its own fault


def test_the_workers_ticks_start_the_opening_at_the_deadline(make_hall: Any) -> None:
    """What `tenderhall worker` runs every few seconds: at the deadline the section opens."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    from tenderhall.core import clock
    from tenderhall.core.management.commands.worker import run_ticks
    from tenderhall.opening.models import OpeningSession
    from tests.notices.conftest import DEADLINE

    hall = make_hall(start=False)
    ticks = [import_string(path) for path in settings.TENDERHALL_PERIODIC_TICKS]
    run_ticks(ticks)
    assert not OpeningSession.objects.filter(section=hall.section).exists()
    clock.set_now(DEADLINE)
    run_ticks(ticks)
    assert OpeningSession.objects.get(section=hall.section).status == "waiting"
