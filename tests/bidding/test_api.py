"""The upload API as the bidder tool calls it (bearer token): shapes of the answers and every
refusal code of the contract as problem+json."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest

from tenderhall.bidding import services
from tenderhall.bidding.models import Bid, BidStatus, UploadSession, UploadStatus
from tenderhall.core import clock
from tenderhall.core.errors import PROBLEM_CONTENT_TYPE
from tenderhall.projects.models import SectionStatus
from tests.bidding.conftest import DEADLINE, Api, files_in
from tests.bidding.factories import opening_recipient, seal, sealed_bid
from tests.notices.conftest import T0, World


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["code"] == code, body
    assert body["message_zh"] and body["message_en"]
    return dict(body)


def test_create_answers_where_to_start(ready: World, settings: Any):
    response = Api(ready.bidder).create(ready.section.pk, 12345, sha256="a" * 64)
    assert response.status_code == 201, response.content
    body = response.json()
    upload = UploadSession.objects.get()
    assert body == {
        "upload_id": str(upload.pk),
        "size": 12345,
        "received": 0,
        "status": "open",
        "chunk_size": settings.TENDERHALL_UPLOAD_CHUNK_BYTES,
        "expires_at": "2026-03-03T02:00:00Z",
    }
    assert upload.user_agent == "" or upload.source_ip == "127.0.0.1"


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("unannounced section", 404, "not_found"),
        ("section suspended", 409, "section_not_bidding"),
        ("deadline passed", 409, "bid_deadline_passed"),
        ("documents not obtained", 403, "documents_not_obtained"),
        ("size 0", 422, "bid_empty"),
        ("too large", 413, "bid_too_large"),
        ("bad sha256", 422, "sha256_invalid"),
        ("no size", 422, "request_invalid"),
    ],
)
def test_create_refusals(ready: World, settings: Any, case: str, status: int, code: str):
    api = Api(ready.bidder)
    section_id, size, sha = ready.section.pk, 100, None
    if case == "unannounced section":
        section_id = ready.rival_project.sections.get().pk  # type: ignore[union-attr]
    elif case == "section suspended":
        ready.section.status = SectionStatus.SUSPENDED
        ready.section.save(update_fields=["status"])
    elif case == "deadline passed":
        clock.set_now(DEADLINE)
        api.relogin()
    elif case == "documents not obtained":
        section_id = ready.sections[1].pk
    elif case == "size 0":
        size = 0
    elif case == "too large":
        settings.TENDERHALL_BID_MAX_BYTES = 99
    elif case == "bad sha256":
        sha = "xyz"
    if case == "no size":
        response = api.client.post(
            f"/api/v1/sections/{section_id}/uploads", "{}", content_type="application/json"
        )
    else:
        response = api.create(section_id, size, sha)
    body = problem(response, status, code)
    if code == "bid_deadline_passed":
        assert body["article"] == "法 Art 28"
    if code == "bid_too_large":
        assert body["max_bytes"] == 99


def test_status_says_where_to_resume(ready: World):
    api = Api(ready.bidder)
    upload_id = api.create(ready.section.pk, 100).json()["upload_id"]
    assert api.put(upload_id, 0, b"x" * 40).json() == {"received": 40}
    body = api.status(upload_id).json()
    assert (body["upload_id"], body["size"], body["received"], body["status"]) == (upload_id, 100, 40, "open")


def test_a_chunk_sent_twice_or_skipped_answers_the_expected_offset(ready: World):
    api = Api(ready.bidder)
    data = sealed_bid(ready.section, 200_000)
    upload_id = api.create(ready.section.pk, len(data)).json()["upload_id"]
    assert api.put(upload_id, 0, data[:50_000]).status_code == 200
    body = problem(api.put(upload_id, 0, data[:50_000]), 409, "upload_offset_mismatch")
    assert body["expected_offset"] == 50_000
    body = problem(api.put(upload_id, 100_000, data[100_000:150_000]), 409, "upload_offset_mismatch")
    assert body["expected_offset"] == 50_000
    for offset in range(50_000, len(data), 50_000):
        assert api.put(upload_id, offset, data[offset : offset + 50_000]).status_code == 200
    assert api.finalize(upload_id).status_code == 201


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("past size", 422, "upload_past_size"),
        ("chunk too large", 413, "upload_chunk_too_large"),
        ("aborted", 409, "upload_not_open"),
        ("no offset", 422, "request_invalid"),
        ("deadline", 409, "bid_deadline_passed"),
    ],
)
def test_chunk_refusals(ready: World, settings: Any, case: str, status: int, code: str):
    settings.TENDERHALL_UPLOAD_CHUNK_BYTES = 1000
    api = Api(ready.bidder)
    upload_id = api.create(ready.section.pk, 1500).json()["upload_id"]
    offset, data = 0, b"x" * 600
    if case == "past size":
        api.put(upload_id, 0, b"x" * 1000)
        offset = 1000
    elif case == "chunk too large":
        data = b"x" * 1001
    elif case == "aborted":
        assert api.abort(upload_id).status_code == 204
    elif case == "deadline":
        clock.set_now(DEADLINE)
        api.relogin()
    if case == "no offset":
        response = api.client.put(
            f"/api/v1/uploads/{upload_id}/chunks", data, content_type="application/octet-stream"
        )
    else:
        response = api.put(upload_id, offset, data)
    problem(response, status, code)


def test_a_chunk_bigger_than_the_in_memory_limit_streams(ready: World, settings: Any):
    """request.body is never read: a body above DATA_UPLOAD_MAX_MEMORY_SIZE is fine."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    data = sealed_bid(ready.section, 300_000)
    response = Api(ready.bidder).submit(ready.section.pk, data, chunk=len(data))
    assert response.status_code == 201, response.content


def test_malformed_and_unknown_upload_ids_are_not_found(ready: World):
    api = Api(ready.bidder)
    problem(api.status("not-a-uuid"), 404, "not_found")
    problem(api.put("00000000-0000-0000-0000-000000000000", 0, b"x"), 404, "not_found")


def test_finalize_answers_the_receipt(ready: World):
    data = sealed_bid(ready.section)
    api = Api(ready.bidder)
    response = api.submit(ready.section.pk, data)
    assert response.status_code == 201
    receipt = response.json()
    bid = Bid.objects.get()
    assert receipt == bid.receipt
    assert receipt["ciphertext_sha256"] == hashlib.sha256(data).hexdigest()
    assert receipt["received_at"] == "2026-03-02T02:00:00Z"


def _incomplete(api: Api, w: World) -> str:
    upload_id = api.create(w.section.pk, 1000).json()["upload_id"]
    api.put(upload_id, 0, b"x" * 10)
    return str(upload_id)


FINALIZE_REFUSALS: dict[str, tuple[int, Any]] = {
    "bid_deadline_passed": (409, None),
    "upload_incomplete": (409, _incomplete),
    "upload_hash_mismatch": (422, lambda w: (sealed_bid(w.section), "0" * 64)),
    "bid_not_age_file": (422, lambda w: (b"PK\x03\x04" + b"\0" * 5000, None)),
    "bid_wrong_opening_key": (
        422,
        lambda w: (seal(b"x" * 5000, opening=opening_recipient(w.sections[1])), None),
    ),
    "bid_missing_opening_key": (
        422,
        lambda w: (seal(b"x" * 5000, opening=opening_recipient(w.section), claim=False), None),
    ),
    "bid_too_few_recipients": (
        422,
        lambda w: (
            seal(
                b"x" * 5000, opening=opening_recipient(w.section), recipients=[opening_recipient(w.section)]
            ),
            None,
        ),
    ),
    "upload_not_open": (409, None),
}


@pytest.mark.parametrize("code", sorted(FINALIZE_REFUSALS))
def test_finalize_refusals(
    ready: World, code: str, bid_dirs: dict[str, Path], django_capture_on_commit_callbacks: Any
):
    status, make = FINALIZE_REFUSALS[code]
    api = Api(ready.bidder)
    if code == "upload_incomplete":
        upload_id = make(api, ready)
    elif code == "bid_deadline_passed":
        clock.set_now(DEADLINE - dt.timedelta(minutes=5))
        upload_id = api.relogin().upload_all(ready.section.pk, sealed_bid(ready.section))
        clock.set_now(DEADLINE)
    elif code == "upload_not_open":
        upload_id = api.upload_all(ready.section.pk, sealed_bid(ready.section))
        assert api.finalize(upload_id).status_code == 201
    else:
        data, declared = make(ready)
        created = api.create(ready.section.pk, len(data), sha256=declared)
        upload_id = created.json()["upload_id"]
        assert api.put(upload_id, 0, data).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        problem(api.finalize(upload_id), status, code)
    assert Bid.objects.filter(status=BidStatus.SUBMITTED).count() == (1 if code == "upload_not_open" else 0)
    # Nothing left behind: only an incomplete upload keeps its part file, to be continued.
    assert files_in(bid_dirs["uploads"]) == ([f"{upload_id}.part"] if code == "upload_incomplete" else [])
    stored = [n for n in files_in(bid_dirs["files"]) if n.startswith("bids/")]
    assert len(stored) == (1 if code == "upload_not_open" else 0)


def test_an_idle_upload_reads_expired(ready: World):
    api = Api(ready.bidder)
    upload_id = api.create(ready.section.pk, 100).json()["upload_id"]
    clock.set_now(T0 + dt.timedelta(hours=25))
    body = api.relogin().status(upload_id).json()
    assert body["status"] == "expired"
    problem(api.put(upload_id, 0, b"x"), 409, "upload_not_open")


def test_past_the_deadline_the_answer_is_too_late_whatever_the_section_state(ready: World):
    api = Api(ready.bidder)
    clock.set_now(DEADLINE - dt.timedelta(minutes=1))
    upload_id = api.relogin().upload_all(ready.section.pk, sealed_bid(ready.section))
    clock.set_now(DEADLINE + dt.timedelta(minutes=1))
    ready.section.status = SectionStatus.OPENING
    ready.section.save(update_fields=["status"])
    problem(api.finalize(upload_id), 409, "bid_deadline_passed")
    problem(api.create(ready.section.pk, 100), 409, "bid_deadline_passed")


def test_abort_removes_the_part_file(ready: World, bid_dirs: dict[str, Path]):
    api = Api(ready.bidder)
    upload_id = api.create(ready.section.pk, 100).json()["upload_id"]
    api.put(upload_id, 0, b"x" * 50)
    assert files_in(bid_dirs["uploads"]) == [f"{upload_id}.part"]
    response = api.abort(upload_id)
    assert response.status_code == 204 and response.content == b""
    assert api.status(upload_id).json()["status"] == "aborted"
    assert UploadSession.objects.get().status == UploadStatus.ABORTED
    problem(api.abort(upload_id), 409, "upload_not_open")


def test_my_bid_and_its_withdrawal(ready: World):
    api = Api(ready.bidder)
    problem(api.bid(ready.section.pk), 404, "no_bid")
    data = sealed_bid(ready.section)
    receipt = api.submit(ready.section.pk, data).json()
    body = api.bid(ready.section.pk).json()
    assert body == {
        "status": "submitted",
        "ciphertext_sha256": hashlib.sha256(data).hexdigest(),
        "ciphertext_size": len(data),
        "received_at": "2026-03-02T02:00:00Z",
        "receipt": receipt,
    }
    clock.set_now(T0 + dt.timedelta(days=1))
    api.relogin()
    assert api.withdraw(ready.section.pk).json() == {
        "status": "withdrawn",
        "withdrawn_at": "2026-03-03T02:00:00Z",
    }
    problem(api.bid(ready.section.pk), 404, "no_bid")
    problem(api.withdraw(ready.section.pk), 404, "no_bid")


def test_withdraw_at_the_deadline_is_refused(ready: World):
    api = Api(ready.bidder)
    api.submit(ready.section.pk, sealed_bid(ready.section))
    clock.set_now(DEADLINE)
    body = problem(api.relogin().withdraw(ready.section.pk), 409, "bid_deadline_passed")
    assert body["article"] == "法 Art 29"


def test_the_running_hash_is_forgotten_after_finalize(ready: World):
    api = Api(ready.bidder)
    upload_id = api.upload_all(ready.section.pk, sealed_bid(ready.section))
    api.finalize(upload_id)
    assert (
        services.running_hashes.hexdigest(UploadSession.objects.get().pk, UploadSession.objects.get().size)
        is None
    )
