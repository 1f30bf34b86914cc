"""The bidding services: uploads, finalize (every check of the contract), replacement, withdrawal,
cleanup — and after each scenario, exactly the files that should exist."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tenderhall.bidding import services
from tenderhall.bidding.models import Bid, BidStatus, UploadSession, UploadStatus
from tenderhall.core import clock
from tenderhall.core.context import RequestContext, bind_request_context
from tenderhall.core.crypto import age
from tenderhall.core.errors import DomainError
from tenderhall.projects.models import SectionStatus
from tests.bidding.conftest import DEADLINE, files_in
from tests.bidding.factories import opening_recipient, seal, sealed_bid
from tests.notices.conftest import T0, World

CHUNK = 64 * 1024


@pytest.fixture
def commit(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Run a service as if its transaction were the outermost: on-commit work (file removals) runs."""

    def run(fn: Callable[..., Any], /, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return run


def append(
    user: Any, upload: UploadSession, offset: int, data: bytes, length: int | None = None
) -> UploadSession:
    return services.upload_append_chunk(
        acting_user=user,
        upload=upload,
        offset=offset,
        stream=io.BytesIO(data),
        length=len(data) if length is None else length,
    )


def send(user: Any, section: Any, data: bytes, *, sha256: str = "", chunk: int = CHUNK) -> UploadSession:
    upload = services.upload_create(acting_user=user, section=section, size=len(data), sha256=sha256)
    for offset in range(0, len(data), chunk):
        upload = append(user, upload, offset, data[offset : offset + chunk])
    return upload


def refused(code: str, call: Callable[..., Any], /, *args: Any, **kwargs: Any) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value
    return caught.value


def bids_stored(dirs: dict[str, Path]) -> list[str]:
    return [name for name in files_in(dirs["files"]) if name.startswith("bids/")]


# ---- upload_create ---------------------------------------------------------------------------------


def test_create_opens_an_upload_with_its_evidence(ready: World):
    context = RequestContext(source_ip="203.0.113.7", user_agent="tenderhall-bid/1.0")
    with bind_request_context(context):
        upload = services.upload_create(
            acting_user=ready.bidder, section=ready.section, size=1000, sha256="AB" * 32
        )
    assert upload.status == UploadStatus.OPEN
    assert (upload.size, upload.received, upload.declared_sha256) == (1000, 0, "ab" * 32)
    assert upload.organization == ready.bidder.organization
    assert upload.expires_at == T0 + services.UPLOAD_TTL
    assert (upload.source_ip, upload.user_agent) == ("203.0.113.7", "tenderhall-bid/1.0")


def test_an_upload_never_outlives_the_deadline(ready: World):
    clock.set_now(DEADLINE - dt.timedelta(hours=2))
    upload = services.upload_create(acting_user=ready.bidder, section=ready.section, size=10)
    assert upload.expires_at == DEADLINE


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("not a bidder", "permission_denied"),
        ("section not bidding", "section_not_bidding"),
        ("deadline passed", "bid_deadline_passed"),
        ("documents not obtained", "documents_not_obtained"),
        ("empty", "bid_empty"),
        ("too large", "bid_too_large"),
        ("bad sha256", "sha256_invalid"),
    ],
)
def test_create_refusals(ready: World, settings: Any, case: str, code: str):
    kwargs: dict[str, Any] = {"acting_user": ready.bidder, "section": ready.section, "size": 100}
    if case == "not a bidder":
        kwargs["acting_user"] = ready.staff
    elif case == "section not bidding":
        ready.section.status = SectionStatus.SUSPENDED
        ready.section.save(update_fields=["status"])
    elif case == "deadline passed":
        clock.set_now(DEADLINE)  # the deadline second itself is late
    elif case == "documents not obtained":
        kwargs["section"] = ready.sections[1]
    elif case == "empty":
        kwargs["size"] = 0
    elif case == "too large":
        settings.TENDERHALL_BID_MAX_BYTES = 99
    elif case == "bad sha256":
        kwargs["sha256"] = "not-a-hash"
    error = refused(code, services.upload_create, **kwargs)
    assert not UploadSession.objects.exists()
    if code == "bid_deadline_passed":
        assert error.article == "法 Art 28"


def test_open_uploads_are_bounded(ready: World):
    for _ in range(services.MAX_OPEN_UPLOADS):
        services.upload_create(acting_user=ready.bidder, section=ready.section, size=10)
    refused(
        "upload_limit_reached",
        services.upload_create,
        acting_user=ready.bidder,
        section=ready.section,
        size=10,
    )
    # another organization is not affected
    services.upload_create(acting_user=ready.other_bidder, section=ready.section, size=10)


# ---- chunks ----------------------------------------------------------------------------------------


def test_chunks_stream_to_the_part_file(ready: World, bid_dirs: dict[str, Path]):
    data = bytes(range(256)) * 1000
    upload = send(ready.bidder, ready.section, data, chunk=100_000)
    assert upload.received == len(data)
    assert services.part_path(upload.pk).read_bytes() == data
    assert files_in(bid_dirs["uploads"]) == [f"{upload.pk}.part"]


def test_a_chunk_sent_twice_or_skipped_is_refused_then_the_upload_continues(ready: World):
    data = sealed_bid(ready.section, 5 * CHUNK)
    upload = services.upload_create(acting_user=ready.bidder, section=ready.section, size=len(data))
    upload = append(ready.bidder, upload, 0, data[:CHUNK])
    # the same chunk again (the answer to the first was lost): an overlap
    error = refused(
        "upload_offset_mismatch",
        append,
        user=ready.bidder,
        upload=upload,
        offset=0,
        data=data[:CHUNK],
    )
    assert error.status == 409 and error.extra == {"expected_offset": CHUNK}
    # a chunk skipped: a gap
    error = refused(
        "upload_offset_mismatch",
        append,
        user=ready.bidder,
        upload=upload,
        offset=2 * CHUNK,
        data=data[2 * CHUNK : 3 * CHUNK],
    )
    assert error.extra == {"expected_offset": CHUNK}
    for offset in range(CHUNK, len(data), CHUNK):
        upload = append(ready.bidder, upload, offset, data[offset : offset + CHUNK])
    assert services.part_path(upload.pk).read_bytes() == data
    bid = services.bid_finalize(acting_user=ready.bidder, upload=upload)
    assert bid.ciphertext_sha256 == hashlib.sha256(data).hexdigest()


def test_a_cut_short_chunk_is_refused_and_cut_off(ready: World):
    upload = services.upload_create(acting_user=ready.bidder, section=ready.section, size=300)
    upload = append(ready.bidder, upload, 0, b"a" * 100)
    error = refused(
        "upload_chunk_truncated",
        append,
        user=ready.bidder,
        upload=upload,
        offset=100,
        data=b"b" * 60,
        length=100,
    )
    assert error.extra == {"expected_offset": 100}
    upload.refresh_from_db()
    assert upload.received == 100
    assert services.part_path(upload.pk).read_bytes() == b"a" * 100
    upload = append(ready.bidder, upload, 100, b"c" * 200)
    assert services.part_path(upload.pk).read_bytes() == b"a" * 100 + b"c" * 200


def test_bytes_past_received_from_an_interrupted_write_are_overwritten(ready: World):
    upload = services.upload_create(acting_user=ready.bidder, section=ready.section, size=20)
    upload = append(ready.bidder, upload, 0, b"0123456789")
    with services.part_path(upload.pk).open("ab") as part:  # a crash after writing, before the commit
        part.write(b"garbage-garbage")
    upload = append(ready.bidder, upload, 10, b"abcdefghij")
    assert services.part_path(upload.pk).read_bytes() == b"0123456789abcdefghij"


@pytest.mark.parametrize(
    ("case", "code", "status"),
    [
        ("past size", "upload_past_size", 422),
        ("chunk too large", "upload_chunk_too_large", 413),
        ("no length", "upload_length_required", 411),
        ("empty", "upload_chunk_empty", 422),
        ("deadline", "bid_deadline_passed", 409),
        ("not a bidder", "permission_denied", 403),
    ],
)
def test_chunk_refusals(ready: World, settings: Any, case: str, code: str, status: int):
    settings.TENDERHALL_UPLOAD_CHUNK_BYTES = 1000
    upload = services.upload_create(acting_user=ready.bidder, section=ready.section, size=1500)
    user, data, length = ready.bidder, b"x" * 800, None
    if case == "past size":
        upload = append(user, upload, 0, b"x" * 1000)
        data = b"y" * 501
        offset = 1000
    else:
        offset = 0
    if case == "chunk too large":
        data = b"x" * 1001
    elif case == "no length":
        length = -1
    elif case == "empty":
        data = b""
    elif case == "deadline":
        clock.set_now(DEADLINE)
    elif case == "not a bidder":
        user = ready.staff
    with pytest.raises(DomainError) as caught:
        services.upload_append_chunk(
            acting_user=user,
            upload=upload,
            offset=offset,
            stream=io.BytesIO(data),
            length=None if length == -1 else len(data),
        )
    assert (caught.value.code, caught.value.status) == (code, status)
    upload.refresh_from_db()
    assert upload.received == offset


def test_an_aborted_upload_takes_no_chunks_and_leaves_no_file(
    ready: World, commit: Any, bid_dirs: dict[str, Path]
):
    upload = services.upload_create(acting_user=ready.bidder, section=ready.section, size=100)
    upload = append(ready.bidder, upload, 0, b"x" * 50)
    commit(services.upload_abort, acting_user=ready.bidder, upload=upload)
    assert files_in(bid_dirs["uploads"]) == []
    error = refused("upload_not_open", append, user=ready.bidder, upload=upload, offset=50, data=b"y" * 50)
    assert error.extra == {"upload_status": "aborted"}
    assert files_in(bid_dirs["uploads"]) == []
    refused("upload_not_open", services.upload_abort, acting_user=ready.bidder, upload=upload)


def test_an_expired_upload_takes_no_chunks(ready: World):
    upload = services.upload_create(acting_user=ready.bidder, section=ready.section, size=100)
    clock.set_now(T0 + services.UPLOAD_TTL)
    error = refused("upload_not_open", append, user=ready.bidder, upload=upload, offset=0, data=b"x")
    assert error.extra == {"upload_status": "expired"}


def test_a_chunk_extends_the_upload(ready: World):
    upload = services.upload_create(acting_user=ready.bidder, section=ready.section, size=100)
    clock.set_now(T0 + dt.timedelta(hours=20))
    upload = append(ready.bidder, upload, 0, b"x" * 10)
    assert upload.expires_at == T0 + dt.timedelta(hours=44)


# ---- finalize ----------------------------------------------------------------------------------------


def test_finalize_stores_exactly_the_uploaded_ciphertext(ready: World, bid_dirs: dict[str, Path]):
    data = sealed_bid(ready.section, 300_000)
    context = RequestContext(source_ip="198.51.100.9", user_agent="tenderhall-bid/1.0 (linux)")
    with bind_request_context(context):
        upload = send(ready.bidder, ready.section, data, sha256=hashlib.sha256(data).hexdigest())
        bid = services.bid_finalize(acting_user=ready.bidder, upload=upload)
    upload.refresh_from_db()
    assert upload.status == UploadStatus.FINALIZED
    assert bid.status == BidStatus.SUBMITTED
    assert (bid.ciphertext_sha256, bid.ciphertext_size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert (bid.source_ip, bid.user_agent) == ("198.51.100.9", "tenderhall-bid/1.0 (linux)")
    assert bid.received_at == T0 and bid.machine_fingerprint == {}
    with bid.file.open("rb") as stored:
        assert stored.read() == data
    assert files_in(bid_dirs["uploads"]) == []
    assert bids_stored(bid_dirs) == [bid.file.name]
    assert bid.file.name == f"bids/2026/03/{upload.pk}.age"
    assert bid.log_index == bid.receipt["log"]["index"]


def test_finalize_just_before_the_deadline_is_accepted(ready: World):
    data = sealed_bid(ready.section)
    clock.set_now(DEADLINE - dt.timedelta(hours=1))
    upload = send(ready.bidder, ready.section, data)
    clock.set_now(DEADLINE - dt.timedelta(seconds=1))
    bid = services.bid_finalize(acting_user=ready.bidder, upload=upload)
    assert bid.received_at == DEADLINE - dt.timedelta(seconds=1)


def test_finalize_at_the_deadline_second_is_refused_although_every_chunk_came_earlier(
    ready: World, commit: Any, bid_dirs: dict[str, Path]
):
    data = sealed_bid(ready.section)
    clock.set_now(DEADLINE - dt.timedelta(hours=1))
    upload = send(ready.bidder, ready.section, data)
    clock.set_now(DEADLINE)
    error = refused(
        "bid_deadline_passed", commit, services.bid_finalize, acting_user=ready.bidder, upload=upload
    )
    assert error.status == 409 and error.article == "法 Art 28"
    assert not Bid.objects.exists()
    upload.refresh_from_db()
    assert upload.status == UploadStatus.EXPIRED
    assert files_in(bid_dirs["uploads"]) == [] and bids_stored(bid_dirs) == []


def test_an_incomplete_upload_stays_open_and_can_be_completed(ready: World, bid_dirs: dict[str, Path]):
    data = sealed_bid(ready.section)
    upload = services.upload_create(acting_user=ready.bidder, section=ready.section, size=len(data))
    upload = append(ready.bidder, upload, 0, data[:CHUNK])
    error = refused("upload_incomplete", services.bid_finalize, acting_user=ready.bidder, upload=upload)
    assert error.extra == {"expected_offset": CHUNK, "size": len(data)}
    upload.refresh_from_db()
    assert upload.status == UploadStatus.OPEN
    assert files_in(bid_dirs["uploads"]) == [f"{upload.pk}.part"]
    for offset in range(CHUNK, len(data), CHUNK):
        upload = append(ready.bidder, upload, offset, data[offset : offset + CHUNK])
    assert services.bid_finalize(acting_user=ready.bidder, upload=upload).status == BidStatus.SUBMITTED


def _other_key() -> age.X25519Recipient:
    return age.generate_identity().recipient()


BAD_FILES: dict[str, tuple[str, Callable[[World], tuple[bytes, str]]]] = {
    "declared hash differs": (
        "upload_hash_mismatch",
        lambda w: (sealed_bid(w.section), "0" * 64),
    ),
    "not an age file": ("bid_not_age_file", lambda w: (b"PK\x03\x04 a plain zip, not sealed" * 100, "")),
    "an age header with no payload": (
        "bid_not_age_file",
        lambda w: (age.parse_header(io.BytesIO(sealed_bid(w.section))).header_bytes, ""),
    ),
    "another section's opening key": (
        "bid_wrong_opening_key",
        lambda w: (seal(b"bid" * 1000, opening=opening_recipient(w.sections[1])), ""),
    ),
    "a claim naming another key": (
        "bid_wrong_opening_key",
        lambda w: (seal(b"bid" * 1000, opening=opening_recipient(w.section), claim_for=_other_key()), ""),
    ),
    "no opening-key claim": (
        "bid_missing_opening_key",
        lambda w: (seal(b"bid" * 1000, opening=opening_recipient(w.section), claim=False), ""),
    ),
    "only one recipient": (
        "bid_too_few_recipients",
        lambda w: (
            seal(
                b"bid" * 1000, opening=opening_recipient(w.section), recipients=[opening_recipient(w.section)]
            ),
            "",
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_refused_file_is_discarded_and_the_previous_bid_untouched(
    ready: World, commit: Any, bid_dirs: dict[str, Path], case: str
):
    code, make = BAD_FILES[case]
    first = services.bid_finalize(
        acting_user=ready.bidder, upload=send(ready.bidder, ready.section, sealed_bid(ready.section))
    )
    receipt = first.receipt
    data, declared = make(ready)
    upload = send(ready.bidder, ready.section, data, sha256=declared)
    error = refused(code, commit, services.bid_finalize, acting_user=ready.bidder, upload=upload)
    assert error.status == 422
    upload.refresh_from_db()
    assert upload.status == UploadStatus.ABORTED
    first.refresh_from_db()
    assert (first.status, first.receipt) == (BidStatus.SUBMITTED, receipt)
    assert Bid.objects.count() == 1
    assert files_in(bid_dirs["uploads"]) == []
    assert bids_stored(bid_dirs) == [first.file.name]


def test_the_wrong_opening_key_names_the_right_one(ready: World):
    upload = send(ready.bidder, ready.section, seal(b"bid", opening=opening_recipient(ready.sections[1])))
    error = refused("bid_wrong_opening_key", services.bid_finalize, acting_user=ready.bidder, upload=upload)
    assert error.extra["opening_key_id"] == age.opening_key_id(opening_recipient(ready.section))


def test_a_finalized_upload_cannot_be_finalized_again(ready: World):
    upload = send(ready.bidder, ready.section, sealed_bid(ready.section))
    services.bid_finalize(acting_user=ready.bidder, upload=upload)
    refused("upload_not_open", services.bid_finalize, acting_user=ready.bidder, upload=upload)
    assert Bid.objects.count() == 1


def test_a_new_bid_replaces_the_previous_one(ready: World, commit: Any, bid_dirs: dict[str, Path]):
    first = commit(
        services.bid_finalize,
        acting_user=ready.bidder,
        upload=send(ready.bidder, ready.section, sealed_bid(ready.section)),
    )
    data = sealed_bid(ready.section, 150_000)
    second = commit(
        services.bid_finalize, acting_user=ready.bidder, upload=send(ready.bidder, ready.section, data)
    )
    first.refresh_from_db()
    assert first.status == BidStatus.REPLACED and first.replaced_by == second
    assert second.status == BidStatus.SUBMITTED
    assert bids_stored(bid_dirs) == [second.file.name]  # the replaced file is gone
    with second.file.open("rb") as stored:
        assert stored.read() == data
    assert second.receipt != first.receipt and second.log_index > first.log_index
    assert second.receipt["ciphertext_sha256"] == hashlib.sha256(data).hexdigest()
    assert files_in(bid_dirs["uploads"]) == []


def test_a_failure_while_recording_puts_the_file_back(
    ready: World, bid_dirs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
):
    upload = send(ready.bidder, ready.section, sealed_bid(ready.section))

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "_record_bid", broken)
    with pytest.raises(RuntimeError):
        services.bid_finalize(acting_user=ready.bidder, upload=upload)
    assert bids_stored(bid_dirs) == []
    assert files_in(bid_dirs["uploads"]) == [f"{upload.pk}.part"]
    monkeypatch.undo()
    assert services.bid_finalize(acting_user=ready.bidder, upload=upload).status == BidStatus.SUBMITTED


def test_two_bidders_bid_independently(ready: World):
    mine = services.bid_finalize(
        acting_user=ready.bidder, upload=send(ready.bidder, ready.section, sealed_bid(ready.section))
    )
    theirs = services.bid_finalize(
        acting_user=ready.other_bidder,
        upload=send(ready.other_bidder, ready.section, sealed_bid(ready.section)),
    )
    assert {mine.status, theirs.status} == {BidStatus.SUBMITTED}
    assert mine.organization != theirs.organization


def test_finalize_rehashes_when_the_running_hash_is_unknown(ready: World):
    data = sealed_bid(ready.section)
    upload = send(ready.bidder, ready.section, data, sha256=hashlib.sha256(data).hexdigest())
    services.running_hashes.forget(upload.pk)
    assert (
        services.bid_finalize(acting_user=ready.bidder, upload=upload).ciphertext_sha256
        == hashlib.sha256(data).hexdigest()
    )


def test_the_running_hash_follows_committed_chunks(ready: World, commit: Any):
    data = b"abc" * 50_000
    upload = services.upload_create(acting_user=ready.bidder, section=ready.section, size=len(data))
    for offset in range(0, len(data), CHUNK):
        upload = commit(
            services.upload_append_chunk,
            acting_user=ready.bidder,
            upload=upload,
            offset=offset,
            stream=io.BytesIO(data[offset : offset + CHUNK]),
            length=len(data[offset : offset + CHUNK]),
        )
    assert services.running_hashes.hexdigest(upload.pk, len(data)) == hashlib.sha256(data).hexdigest()
    assert services.running_hashes.hexdigest(upload.pk, len(data) - 1) is None


# ---- withdrawal ----------------------------------------------------------------------------------------


def test_withdraw_before_the_deadline(ready: World, commit: Any, bid_dirs: dict[str, Path]):
    bid = services.bid_finalize(
        acting_user=ready.bidder, upload=send(ready.bidder, ready.section, sealed_bid(ready.section))
    )
    clock.set_now(DEADLINE - dt.timedelta(seconds=1))
    withdrawn = commit(services.bid_withdraw, acting_user=ready.bidder, section=ready.section)
    assert withdrawn.pk == bid.pk and withdrawn.status == BidStatus.WITHDRAWN
    assert withdrawn.withdrawn_at == DEADLINE - dt.timedelta(seconds=1)
    assert bids_stored(bid_dirs) == []  # a withdrawn bid is never opened
    refused("no_bid", services.bid_withdraw, acting_user=ready.bidder, section=ready.section)
    # and the bidder may bid again before the deadline
    again = services.bid_finalize(
        acting_user=ready.bidder, upload=send(ready.bidder, ready.section, sealed_bid(ready.section))
    )
    assert again.status == BidStatus.SUBMITTED


def test_withdraw_at_the_deadline_is_refused(ready: World, bid_dirs: dict[str, Path]):
    bid = services.bid_finalize(
        acting_user=ready.bidder, upload=send(ready.bidder, ready.section, sealed_bid(ready.section))
    )
    clock.set_now(DEADLINE)
    error = refused(
        "bid_deadline_passed", services.bid_withdraw, acting_user=ready.bidder, section=ready.section
    )
    assert error.article == "法 Art 29"
    bid.refresh_from_db()
    assert bid.status == BidStatus.SUBMITTED and bids_stored(bid_dirs) == [bid.file.name]


def test_withdraw_touches_only_the_callers_bid(ready: World):
    services.bid_finalize(
        acting_user=ready.other_bidder,
        upload=send(ready.other_bidder, ready.section, sealed_bid(ready.section)),
    )
    refused("no_bid", services.bid_withdraw, acting_user=ready.bidder, section=ready.section)
    refused("permission_denied", services.bid_withdraw, acting_user=ready.staff, section=ready.section)
    assert Bid.objects.get().status == BidStatus.SUBMITTED


# ---- cleanup -------------------------------------------------------------------------------------------


@pytest.fixture
def leftovers(ready: World, bid_dirs: dict[str, Path]) -> Iterator[dict[str, Any]]:
    """An idle upload, a fresh one, and stray part files of a closed and of an unknown upload."""
    idle = services.upload_create(acting_user=ready.bidder, section=ready.section, size=100)
    idle = append(ready.bidder, idle, 0, b"x" * 10)
    clock.set_now(T0 + dt.timedelta(hours=12))
    fresh = services.upload_create(acting_user=ready.other_bidder, section=ready.section, size=100)
    fresh = append(ready.other_bidder, fresh, 0, b"y" * 10)
    closed = services.upload_create(acting_user=ready.bidder, section=ready.section, size=100)
    UploadSession.objects.filter(pk=closed.pk).update(status=UploadStatus.ABORTED)
    services.part_path(closed.pk).write_bytes(b"left over by a crash")
    (bid_dirs["uploads"] / "not-a-uuid.part").write_bytes(b"?")
    (bid_dirs["uploads"] / "12345678-1234-5678-1234-567812345678.part").write_bytes(b"?")
    clock.set_now(T0 + services.UPLOAD_TTL)
    yield {"idle": idle, "fresh": fresh}


def test_cleanup_expires_idle_uploads_and_removes_every_leftover(
    leftovers: dict[str, Any], commit: Any, bid_dirs: dict[str, Path]
):
    assert commit(services.upload_cleanup_expired) == 1
    idle, fresh = leftovers["idle"], leftovers["fresh"]
    idle.refresh_from_db()
    fresh.refresh_from_db()
    assert (idle.status, fresh.status) == (UploadStatus.EXPIRED, UploadStatus.OPEN)
    assert files_in(bid_dirs["uploads"]) == [f"{fresh.pk}.part"]
    assert commit(services.upload_cleanup_expired) == 0  # idempotent


def test_the_cleanup_command(
    leftovers: dict[str, Any], bid_dirs: dict[str, Path], django_capture_on_commit_callbacks: Any
):
    from django.core.management import call_command

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("bids", "cleanup", stdout=out)
    assert "1 upload(s) expired" in out.getvalue()
    assert files_in(bid_dirs["uploads"]) == [f"{leftovers['fresh'].pk}.part"]


def test_the_cleanup_task(leftovers: dict[str, Any]):
    from tenderhall.bidding.tasks import cleanup_expired_uploads

    result = cleanup_expired_uploads.enqueue()  # the immediate backend in tests
    assert result.return_value == 1


class _Broken:
    """A request body whose connection breaks after ``good`` bytes."""

    def __init__(self, good: bytes) -> None:
        self.source = io.BytesIO(good)

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        if not data:
            raise ConnectionResetError("peer went away")
        return data


def test_a_connection_that_breaks_mid_chunk_is_a_truncated_chunk(ready: World):
    upload = services.upload_create(acting_user=ready.bidder, section=ready.section, size=100)
    with pytest.raises(DomainError) as caught:
        services.upload_append_chunk(
            acting_user=ready.bidder, upload=upload, offset=0, stream=_Broken(b"x" * 30), length=100
        )
    assert caught.value.code == "upload_chunk_truncated"
    assert services.part_path(upload.pk).read_bytes() == b""


def test_a_full_disk_is_a_clear_refusal(ready: World, monkeypatch: pytest.MonkeyPatch):
    import errno
    import os

    upload = services.upload_create(acting_user=ready.bidder, section=ready.section, size=100)

    def full(fd: int, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(services, "_write_all", full)
    with pytest.raises(DomainError) as caught:
        append(ready.bidder, upload, 0, b"x" * 100)
    assert (caught.value.code, caught.value.status) == ("upload_storage_full", 507)
    upload.refresh_from_db()
    assert upload.received == 0 and os.path.getsize(services.part_path(upload.pk)) == 0
