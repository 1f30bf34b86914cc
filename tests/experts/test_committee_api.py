"""The remote-evaluation and committee API: the flow over HTTP, and bad input answered with
problem+json (never a 500), nothing half-written."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from tenderhall.accounts.models import User
from tenderhall.accounts.services import api_token_issue
from tenderhall.core import clock
from tenderhall.experts.models import ExtractionRequest, ExtractionStatus, VenueRole
from tests.experts.factories_committee import EVAL_END, EVAL_START, RemoteWorld, build_world

pytestmark = pytest.mark.django_db
API = "/api/v1"


@pytest.fixture
def w(db: None) -> RemoteWorld:
    return build_world()


def api(user: User, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    raw, _token = api_token_issue(user=user)
    client = Client(raise_request_exception=False)
    return getattr(client, method)(
        API + path,
        data=json.dumps(body) if body is not None else None,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )


def remote_body(w: RemoteWorld, **changes: Any) -> dict[str, Any]:
    body = {
        "section_id": w.section.pk,
        "evaluation_starts_at": EVAL_START.isoformat(),
        "evaluation_ends_at": EVAL_END.isoformat(),
        "secondary_venues": 2,
        "exclude_own_region": True,
        "demands": [
            [{"specialty_code": "A0101", "count": 2, "reserves": 1}, {"specialty_code": "C0101", "count": 1}],
            [{"specialty_code": "A0101", "count": 1, "reserves": 1}],
            [{"specialty_code": "A0101", "count": 1, "reserves": 1}],
        ],
    }
    return {**body, **changes}


def test_the_remote_flow_over_the_api(w: RemoteWorld) -> None:
    response = api(w.staff, "post", "/experts/remote/requests", remote_body(w))
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "inviting" and data["section"]["code"] == w.section.code
    assert [v["role"] for v in data["venues"]] == ["main", "secondary", "secondary"]
    request = ExtractionRequest.objects.get(pk=data["id"])
    for venue in request.venues.filter(role=VenueRole.SECONDARY):
        staff = w.staff_of(venue.centre_id)
        listed = api(staff, "get", "/experts/remote/invitations").json()
        assert [i["id"] for i in listed] == [venue.pk] and listed[0]["alias"] == venue.project_alias
        assert w.section.code not in json.dumps(listed, ensure_ascii=False)
        answered = api(staff, "post", f"/experts/remote/invitations/{venue.pk}/answer", {"accept": True})
        assert answered.status_code == 200 and answered.json()["invitation"] == "accepted"
    request.refresh_from_db()
    assert request.status == ExtractionStatus.CONFIRMING
    w.accept_all_experts(request)
    clock.set_now(EVAL_START - dt.timedelta(minutes=10))
    to_check_in = api(w.staff, "get", f"/extractions/{request.pk}/committee").json()["to_check_in"]
    assert len(to_check_in) == 3  # the main venue's own experts
    for row in to_check_in:
        response = api(
            w.staff,
            "post",
            f"/extractions/{request.pk}/check-in",
            {"assignment_id": row["assignment_id"], "identity_confirmed": True, "devices_stored": True},
        )
        assert response.status_code == 200, response.content
    for venue in request.venues.filter(role=VenueRole.SECONDARY):
        staff = w.staff_of(venue.centre_id)
        [row] = api(staff, "get", f"/extractions/{request.pk}/committee").json()["to_check_in"]
        body = {"assignment_id": row["assignment_id"], "identity_confirmed": True, "devices_stored": True}
        assert api(staff, "post", f"/extractions/{request.pk}/check-in", body).status_code == 200
    members = list(request.members.select_related("assignment__expert__user").order_by("pk"))
    for m in members:
        user = m.assignment.expert.user  # type: ignore[union-attr]
        view = api(user, "get", f"/extractions/{request.pk}/committee").json()
        assert view["bidders"] == [w.bidder.organization.name] and view["own_member"] == m.pk
        assert api(user, "post", f"/extractions/{request.pk}/members/{m.pk}/declare").status_code == 200
    for m in members[:3]:
        user = m.assignment.expert.user  # type: ignore[union-attr]
        body = {"candidate_id": members[1].pk}
        assert api(user, "post", f"/extractions/{request.pk}/members/{m.pk}/vote", body).status_code == 200
    final = api(w.supervisor, "get", f"/extractions/{request.pk}/committee").json()
    assert final["status"] == "evaluating" and final["leader"]["id"] == members[1].pk
    assert final["places"]["complete"] and len(final["members"]) == 5


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"evaluation_starts_at": "2026-03-04T09:00:00"}, 422, "time_naive"),
        ({"evaluation_ends_at": "2026-03-04T08:00:00+08:00"}, 422, "evaluation_times_order"),
        ({"evaluation_ends_at": "2026-03-05T01:00:00+08:00"}, 422, "evaluation_spans_midnight"),
        ({"secondary_venues": 0}, 422, "secondary_venues_invalid"),
        ({"secondary_venues": 1}, 422, "venue_demands_mismatch"),
        ({"demands": [[{"specialty_code": "A0101", "count": 2}], [], []]}, 422, "venue_demands_empty"),
        ({"demands": [[{"specialty_code": "A0101", "count": 2}]] * 3}, 422, "committee_rules"),
        ({"demands": [[{"specialty_code": "NOPE", "count": 3}]] * 3}, 422, "specialty_unknown"),
        ({"reply_minutes": 0}, 422, "reply_minutes_invalid"),
        ({"section_id": 999999}, 404, "not_found"),
        ({"evaluation_starts_at": "not a time"}, 422, "request_invalid"),
    ],
)
def test_bad_requests_are_refused_with_problem_json(
    w: RemoteWorld, changes: dict[str, Any], status: int, code: str
) -> None:
    response = api(w.staff, "post", "/experts/remote/requests", remote_body(w, **changes))
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"].startswith(code)
    assert not ExtractionRequest.objects.exists()


def test_bad_answers_and_check_ins_are_refused(w: RemoteWorld) -> None:
    request = w.create(secondary=1)
    venue = request.venues.get(role=VenueRole.SECONDARY)
    staff = w.staff_of(venue.centre_id)
    response = api(staff, "post", f"/experts/remote/invitations/{venue.pk}/answer", {"accept": False})
    assert response.status_code == 422 and response.json()["code"] == "reason_required"
    response = api(staff, "post", f"/experts/remote/invitations/{venue.pk}/answer", {"accept": "maybe"})
    assert response.status_code == 422
    response = api(
        w.staff,
        "post",
        f"/extractions/{request.pk}/check-in",
        {"assignment_id": 123456, "identity_confirmed": True, "devices_stored": True},
    )
    assert response.status_code == 404
    response = api(w.staff, "post", f"/extractions/{request.pk}/start")
    assert response.status_code == 409 and response.json()["code"] == "evaluation_not_startable"
    response = api(w.staff, "get", "/experts/remote/centres?day=2026-13-01")
    assert response.status_code == 422
