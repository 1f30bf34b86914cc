"""Registry services: edit, status, bad behaviour, leave and relationships, accounts, availability."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest

from tenderhall.accounts.models import Role, User
from tenderhall.core import clock
from tenderhall.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tenderhall.core.models import LogEvent
from tenderhall.experts.models import Expert, ExpertStatus
from tenderhall.experts.selectors import registry as selectors
from tenderhall.experts.services import registry as services
from tests.experts.factories import (
    BadBehaviourRecordFactory,
    ExpertFactory,
    ExpertLeaveFactory,
    expert_employer_uscc,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _today() -> Iterator[None]:
    clock.set_now(dt.datetime(2026, 3, 2, 9, 0, tzinfo=clock.LOCAL_TZ))
    yield


def day(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


@pytest.fixture
def expert() -> Expert:
    return ExpertFactory(with_account=True)


# ---- staff edits ---------------------------------------------------------------------------------


def test_staff_edit_validates_and_logs_field_names_only(staff: User, expert: Expert) -> None:
    services.expert_update(acting_user=staff, expert=expert, region="邻市", specialties=["A0201", "C0101"])
    expert.refresh_from_db()
    assert expert.region == "邻市" and sorted(s.code for s in expert.specialties.all()) == ["A0201", "C0101"]
    event = LogEvent.objects.get(action="experts.expert.updated")
    assert json.loads(event.payload)["data"]["fields"] == ["region", "specialties"]
    assert expert.name not in event.payload


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"phone": "123"}, "expert_phone_invalid"),
        ({"employer_uscc": "91320000MA0000000X"}, "expert_employer_uscc_invalid"),
        ({"specialties": ["ZZ"]}, "expert_specialties_invalid"),
        ({"kind": "boss"}, "expert_kind_invalid"),
        ({"name": ""}, "expert_name_invalid"),
        ({"id_number": "11010519491231002X"}, "expert_field_not_editable"),
    ],
)
def test_staff_edit_refuses_bad_values(
    staff: User, expert: Expert, change: dict[str, object], code: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.expert_update(acting_user=staff, expert=expert, **change)
    assert caught.value.code == code and caught.value.fields


def test_a_phone_of_another_expert_is_refused(staff: User, expert: Expert) -> None:
    other = ExpertFactory()
    with pytest.raises(Conflict):
        services.expert_update(acting_user=staff, expert=expert, phone=other.phone)


def test_an_unchanged_edit_writes_no_event(staff: User, expert: Expert) -> None:
    services.expert_update(acting_user=staff, expert=expert, region=expert.region)
    assert not LogEvent.objects.filter(action="experts.expert.updated").exists()


def test_the_expert_edits_only_contact_details_and_the_log_is_sealed(expert: Expert) -> None:
    assert expert.user is not None
    services.expert_update(acting_user=expert.user, expert=expert, phone="13912345678", title="教授级高工")
    with pytest.raises(ValidationFailed) as caught:
        services.expert_update(acting_user=expert.user, expert=expert, region="邻市")
    assert caught.value.code == "expert_field_not_editable"
    event = LogEvent.objects.get(action="experts.expert.updated")
    assert event.actor_username == "" and event.object_id == ""  # sealed: nobody named
    assert expert.user.username not in event.payload


def test_another_expert_cannot_edit(expert: Expert) -> None:
    stranger = UserFactory(role=Role.EXPERT)
    with pytest.raises(PermissionDenied):
        services.expert_update(acting_user=stranger, expert=expert, phone="13912345678")


# ---- status and bad behaviour --------------------------------------------------------------------


def test_status_transitions(staff: User, expert: Expert) -> None:
    services.expert_status_change(acting_user=staff, expert=expert, status="suspended", reason="体检")
    services.expert_status_change(acting_user=staff, expert=expert, status="active", reason="恢复")
    services.expert_status_change(acting_user=staff, expert=expert, status="retired", reason="退休")
    expert.refresh_from_db()
    assert expert.status == ExpertStatus.RETIRED
    with pytest.raises(Conflict) as caught:
        services.expert_status_change(acting_user=staff, expert=expert, status="active", reason="再来")
    assert caught.value.code == "expert_status_transition"
    events = LogEvent.objects.filter(action="experts.expert.status_changed")
    assert events.count() == 3 and "体检" not in events.first().payload  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("status", "reason", "code"),
    [
        ("active", "", "reason_required"),
        ("gone", "x", "expert_status_invalid"),
        ("active", "x", "expert_status_transition"),
    ],
)
def test_status_change_refusals(staff: User, expert: Expert, status: str, reason: str, code: str) -> None:
    with pytest.raises((ValidationFailed, Conflict)) as caught:
        services.expert_status_change(acting_user=staff, expert=expert, status=status, reason=reason)
    assert caught.value.code == code


def test_bad_behaviour_suspends_while_the_date_lies_ahead(staff: User, expert: Expert) -> None:
    services.bad_behaviour_record(
        acting_user=staff, expert=expert, description="迟到", occurred_on=day(-1), suspended_until=day(10)
    )
    assert not selectors.expert_available_on(expert, day(10))
    assert selectors.expert_available_on(expert, day(11))
    assert expert not in selectors.experts_available_on(day(10))
    assert expert in selectors.experts_available_on(day(11))
    record_only = ExpertFactory()
    services.bad_behaviour_record(
        acting_user=staff, expert=record_only, description="记录", occurred_on=TODAY
    )
    assert selectors.expert_available_on(record_only, TODAY)


@pytest.mark.parametrize(
    ("occurred", "until", "code"),
    [(day(1), None, "occurred_in_future"), (day(0), day(-1), "suspension_before_occurrence")],
)
def test_bad_behaviour_date_rules(
    staff: User, expert: Expert, occurred: dt.date, until: dt.date | None, code: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.bad_behaviour_record(
            acting_user=staff, expert=expert, description="x", occurred_on=occurred, suspended_until=until
        )
    assert caught.value.code == code


def test_supervisors_record_nothing(supervisor: User, expert: Expert) -> None:
    with pytest.raises(PermissionDenied):
        services.bad_behaviour_record(
            acting_user=supervisor, expert=expert, description="x", occurred_on=TODAY
        )
    with pytest.raises(PermissionDenied):
        services.expert_status_change(acting_user=supervisor, expert=expert, status="suspended", reason="x")


# ---- leave and relationships ---------------------------------------------------------------------


def test_leave_is_inclusive_of_both_dates(expert: Expert) -> None:
    assert expert.user is not None
    services.leave_add(
        acting_user=expert.user, expert=expert, starts_on=day(3), ends_on=day(5), reason="出差"
    )
    assert [selectors.expert_available_on(expert, day(n)) for n in range(2, 7)] == [
        True,
        False,
        False,
        False,
        True,
    ]
    assert expert not in selectors.experts_available_on(day(3))
    assert expert not in selectors.experts_available_on(day(5))


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        (day(5), day(3), "leave_dates_order"),
        (day(-5), day(-1), "leave_in_past"),
        (day(0), day(400), "leave_too_long"),
        (day(4), day(8), "leave_overlaps"),
    ],
)
def test_leave_rules(expert: Expert, start: dt.date, end: dt.date, code: str) -> None:
    assert expert.user is not None
    ExpertLeaveFactory(expert=expert, starts_on=day(2), ends_on=day(4))
    with pytest.raises((ValidationFailed, Conflict)) as caught:
        services.leave_add(acting_user=expert.user, expert=expert, starts_on=start, ends_on=end)
    assert caught.value.code == code


def test_leave_remove_only_current_or_future(expert: Expert) -> None:
    assert expert.user is not None
    past = ExpertLeaveFactory(expert=expert, starts_on=day(-9), ends_on=day(-8))
    current = ExpertLeaveFactory(expert=expert, starts_on=day(-1), ends_on=day(1))
    with pytest.raises(Conflict):
        services.leave_remove(acting_user=expert.user, leave=past)
    services.leave_remove(acting_user=expert.user, leave=current)
    assert list(expert.leaves.all()) == [past]
    assert LogEvent.objects.filter(action="experts.profile.leave_removed").get().actor_username == ""


def test_another_expert_cannot_touch_my_leave(expert: Expert) -> None:
    stranger = ExpertFactory(with_account=True)
    with pytest.raises(NotFound):
        services.leave_add(acting_user=stranger.user, expert=expert, starts_on=day(1), ends_on=day(1))
    with pytest.raises(NotFound):
        selectors.own_leave(stranger.user, ExpertLeaveFactory(expert=expert).pk)


def test_staff_may_register_leave_for_an_expert(staff: User, expert: Expert) -> None:
    services.leave_add(acting_user=staff, expert=expert, starts_on=day(1), ends_on=day(1))
    assert LogEvent.objects.get(action="experts.profile.leave_added").actor_username == "staff"


def test_relationship_declare_and_remove(expert: Expert) -> None:
    assert expert.user is not None
    uscc = expert_employer_uscc(777)
    rel = services.relationship_declare(
        acting_user=expert.user,
        expert=expert,
        organization_uscc=uscc.lower(),
        organization_name="某公司",
        relation="配偶任职",
    )
    assert rel.organization_uscc == uscc
    with pytest.raises(Conflict):
        services.relationship_declare(
            acting_user=expert.user, expert=expert, organization_uscc=uscc, relation="x"
        )
    with pytest.raises(ValidationFailed) as caught:
        services.relationship_declare(
            acting_user=expert.user, expert=expert, organization_uscc="bad", relation=""
        )
    assert set(caught.value.fields) == {"organization_uscc", "relation"}
    services.relationship_remove(acting_user=expert.user, relationship=rel)
    assert not expert.relationships.exists()


# ---- account -------------------------------------------------------------------------------------


def test_account_creation_links_an_expert_user(staff: User) -> None:
    expert = ExpertFactory()
    user = services.expert_account_create(
        acting_user=staff, expert=expert, username="zhang", password="Correct-horse-9"
    )
    expert.refresh_from_db()
    assert expert.user == user and user.role == Role.EXPERT and user.organization is None
    assert selectors.own_expert(user) == expert
    with pytest.raises(Conflict):
        services.expert_account_create(
            acting_user=staff, expert=expert, username="zhang2", password="Correct-horse-9"
        )
    event = LogEvent.objects.get(action="experts.expert.account_created")
    assert expert.name not in event.payload


def test_account_creation_refusals(staff: User, supervisor: User) -> None:
    expert = ExpertFactory()
    with pytest.raises(PermissionDenied):
        services.expert_account_create(
            acting_user=supervisor, expert=expert, username="z", password="Correct-horse-9"
        )
    with pytest.raises(ValidationFailed):
        services.expert_account_create(acting_user=staff, expert=expert, username="z", password="123")
    assert Expert.objects.get(pk=expert.pk).user is None
    retired = ExpertFactory(status="retired")
    with pytest.raises(Conflict):
        services.expert_account_create(
            acting_user=staff, expert=retired, username="r", password="Correct-horse-9"
        )


def test_status_affects_availability() -> None:
    suspended = ExpertFactory(status="suspended")
    assert not selectors.expert_available_on(suspended, TODAY)
    assert suspended not in selectors.experts_available_on(TODAY)
    BadBehaviourRecordFactory()  # another expert's record does not touch this one
    assert ExpertFactory() in selectors.experts_available_on(TODAY)


def test_specialty_tree_counts_active_experts_below_each_node(bidder: User) -> None:
    ExpertFactory(specialties=["A0101"])
    ExpertFactory(specialties=["A0102"])
    ExpertFactory(specialties=["A0101"], status="retired")
    tree = {node.code: node for node in selectors.specialty_tree(bidder)}
    assert {"A01", "A02", "A03", "A04", "B01", "C01"} <= set(tree)
    assert tree["A01"].active_experts == 2
    assert {c.code: c.active_experts for c in tree["A01"].children}["A0101"] == 1
    assert selectors.specialty_codes_under("A02") == ["A02", "A0201", "A0202", "A0203", "A0204", "A0205"]
