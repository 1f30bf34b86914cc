"""Objections on the spot (条例 Art 44): the host opens a window, a bidder of the opening objects
inside it (refused outside), the host answers; both are recorded as disputes objections of stage
"opening" (answer due = the window's end) and as hall events everyone sees."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from tenderhall.core import clock
from tenderhall.core.errors import DomainError
from tenderhall.core.models import LogEvent
from tenderhall.disputes.models import ObjectionStage, ObjectionStatus
from tenderhall.opening import selectors, services
from tenderhall.opening.models import HallEvent
from tests.factories import UserFactory
from tests.opening.conftest import Hall, later

pytestmark = pytest.mark.django_db


def refused(code: str, call: Callable[..., Any], /, **kwargs: Any) -> DomainError:
    with pytest.raises(DomainError) as info:
        call(**kwargs)
    assert info.value.code == code, info.value.code
    return info.value


def last_event(hall: Hall) -> HallEvent:
    event = HallEvent.objects.filter(section=hall.section).order_by("-seq").first()
    assert event is not None
    return event


def test_a_bidder_objects_inside_the_window_and_the_host_answers(decrypting: Hall) -> None:
    hall = decrypting
    bidder = hall.bidders[1].user
    services.hall_objection_window_open(acting_user=hall.host, section=hall.section, minutes=10)
    window = services.hall_objection_window(hall.section)
    assert window is not None and window["end"] == clock.now() + dt.timedelta(minutes=10)
    assert last_event(hall).kind == "objections_opened"

    objection = services.hall_objection_raise(
        acting_user=bidder, section=hall.section, text="  唱标价格有误  "
    )
    assert objection.stage == ObjectionStage.OPENING and objection.text == "唱标价格有误"
    assert objection.answer_due == window["end"] and not objection.suspends_section
    event = last_event(hall)
    assert event.kind == "objection_raised"
    assert event.payload["objection"]["text"] == "唱标价格有误"
    assert event.payload["objection"]["uscc"] == bidder.organization.uscc

    answered = services.hall_objection_answer(
        acting_user=hall.host, section=hall.section, objection=objection, answer="已核对，无误"
    )
    assert answered.status == ObjectionStatus.ANSWERED and answered.answer == "已核对，无误"
    event = last_event(hall)
    assert event.kind == "objection_answered" and event.payload["objection"]["answer"] == "已核对，无误"
    assert [o.pk for o in selectors.hall_objections(hall.section)] == [objection.pk]
    assert LogEvent.objects.filter(action="disputes.objection.answered").exists()


def test_objections_outside_the_window_are_refused(decrypting: Hall) -> None:
    hall = decrypting
    bidder = hall.bidders[0].user
    refused(
        "objection_window_closed",
        services.hall_objection_raise,
        acting_user=bidder,
        section=hall.section,
        text="x",
    )
    services.hall_objection_window_open(acting_user=hall.host, section=hall.section, minutes=5)
    later(6)  # the window ended by itself
    refused(
        "objection_window_closed",
        services.hall_objection_raise,
        acting_user=bidder,
        section=hall.section,
        text="x",
    )
    services.hall_objection_window_open(acting_user=hall.host, section=hall.section, minutes=5)
    services.hall_objection_window_close(acting_user=hall.host, section=hall.section)
    assert last_event(hall).kind == "objections_closed"
    refused(
        "objection_window_closed",
        services.hall_objection_raise,
        acting_user=bidder,
        section=hall.section,
        text="x",
    )
    refused(
        "objection_window_closed",
        services.hall_objection_window_close,
        acting_user=hall.host,
        section=hall.section,
    )
    # every refused objection is in the log, naming who and why
    refusals = LogEvent.objects.filter(action=services.HallObjectionAction.RAISE_REFUSED)
    assert refusals.count() == 3


def test_the_window_is_the_hosts_and_only_after_decryption_starts(hall: Hall) -> None:
    refused(
        "opening_wrong_state",
        services.hall_objection_window_open,
        acting_user=hall.host,
        section=hall.section,
    )
    services.decryption_window_open(acting_user=hall.host, section=hall.section, minutes=30)
    refused(
        "permission_denied",
        services.hall_objection_window_open,
        acting_user=hall.bidders[0].user,
        section=hall.section,
    )
    refused(
        "not_found",
        services.hall_objection_window_open,
        acting_user=hall.world.rival_agent,
        section=hall.section,
    )
    refused(
        "objection_minutes_invalid",
        services.hall_objection_window_open,
        acting_user=hall.host,
        section=hall.section,
        minutes=0,
    )
    services.hall_objection_window_open(acting_user=hall.host, section=hall.section)
    refused(
        "objection_window_open",
        services.hall_objection_window_open,
        acting_user=hall.host,
        section=hall.section,
    )


def test_only_bidders_of_the_opening_object_and_only_the_host_answers(decrypting: Hall) -> None:
    hall = decrypting
    services.hall_objection_window_open(acting_user=hall.host, section=hall.section)
    stranger = UserFactory(role=hall.bidders[0].user.role)
    refused("not_found", services.hall_objection_raise, acting_user=stranger, section=hall.section, text="x")
    refused(
        "objection_text_required",
        services.hall_objection_raise,
        acting_user=hall.bidders[0].user,
        section=hall.section,
        text="   ",
    )
    objection = services.hall_objection_raise(
        acting_user=hall.bidders[0].user, section=hall.section, text="异议"
    )
    refused(
        "permission_denied",
        services.hall_objection_answer,
        acting_user=hall.bidders[1].user,
        section=hall.section,
        objection=objection,
        answer="x",
    )
    refused(
        "not_found",
        services.hall_objection_answer,
        acting_user=hall.world.rival_agent,
        section=hall.section,
        objection=objection,
        answer="x",
    )
    services.hall_objection_answer(
        acting_user=hall.host, section=hall.section, objection=objection, answer="答复"
    )
    refused(
        "objection_not_open",
        services.hall_objection_answer,
        acting_user=hall.host,
        section=hall.section,
        objection=objection,
        answer="again",
    )
