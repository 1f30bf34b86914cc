"""`tenderhall-bid submit` against the fake platform (tests/client/fakehall.py): the failures a real
server cannot be made to produce on cue — dropped connections, lost answers, 500s, offset races.
The real server is exercised in test_submit_live.py."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import httpx
import pytest

from tenderhall.client import envelope, upload
from tenderhall.client.cli import main
from tenderhall.core.crypto import age
from tests.client.conftest import SERVER, BidderKeys, fake_login
from tests.client.fakehall import FakeHall, Fault

CHUNK = 64 * 1024


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []
    monkeypatch.setattr(upload, "_sleep", waited.append)
    return waited


@pytest.fixture
def logged_in(tmp_path: Path, hall: FakeHall, keys: BidderKeys) -> Path:
    return fake_login(tmp_path / "home", hall, keys)


def sealed_bid(
    tmp_path: Path, hall: FakeHall, keys: BidderKeys, size: int = 5 * CHUNK + 1234, *, section: bool = True
) -> Path:
    """An envelope as `seal --section 7` makes it (the payload need not be a package here)."""
    plain = tmp_path / "payload.zip"
    plain.write_bytes(os.urandom(size))
    out = tmp_path / "bid.age"
    envelope.seal(
        plain, out, [keys.identity.recipient()], opening=hall.sections[7][1].recipient() if section else None
    )
    return out


def submit(path: Path, *extra: str) -> int:
    return main(["submit", "--section", "7", str(path), *extra])


def last_line(text: str) -> str:
    return text.rstrip("\n").rsplit("\n", 1)[-1]


def stored(hall: FakeHall) -> bytes:
    (only,) = [u for u in hall.uploads.values() if u.status == "finalized"]
    return bytes(only.data)


def test_submit_uploads_in_chunks_and_saves_the_receipt(tmp_path, hall, keys, logged_in, sleeps, capsys):
    bid = sealed_bid(tmp_path, hall, keys)
    assert submit(bid) == 0
    captured = capsys.readouterr()
    receipt_file = tmp_path / "bid.age.receipt.json"
    assert f"receipt saved to {receipt_file}" in captured.out
    assert "receipt OK" in captured.out
    assert "100%" in captured.err  # the progress bar
    assert stored(hall) == bid.read_bytes()
    assert hall.puts() == [CHUNK] * 5 + [bid.stat().st_size - 5 * CHUNK]
    assert not (tmp_path / "bid.age.upload.json").exists()
    receipt = json.loads(receipt_file.read_text())
    assert receipt == hall.bids[7]["receipt"]
    assert main(["receipt", "verify", str(receipt_file), "--bid", str(bid)]) == 0
    assert sleeps == []


def test_a_smaller_chunk_size_can_be_asked_for(tmp_path, hall, keys, logged_in, sleeps):
    hall.chunk_size = 8 * 1024 * 1024
    bid = sealed_bid(tmp_path, hall, keys, size=3 * 1024 * 1024)
    assert submit(bid, "--chunk-mib", "1") == 0
    assert len(hall.puts()) == math.ceil(bid.stat().st_size / (1024 * 1024))
    assert max(hall.puts()) == 1024 * 1024


@pytest.mark.parametrize("kind", ["drop", "lost", "500", "bogus"])
def test_a_failed_chunk_is_retried_with_backoff(tmp_path, hall, keys, logged_in, sleeps, capsys, kind):
    bid = sealed_bid(tmp_path, hall, keys)
    hall.faults.append(Fault("PUT", "/chunks", kind, times=2))
    assert submit(bid) == 0
    assert stored(hall) == bid.read_bytes()
    assert sleeps == [0.5, 1.0]
    # a lost answer is never resent blindly: the tool asks how much arrived
    assert sum(hall.puts()) == bid.stat().st_size + (0 if kind in ("lost", "bogus") else 2 * CHUNK)


def test_an_offset_mismatch_continues_where_the_server_is(tmp_path, hall, keys, logged_in, sleeps, capsys):
    bid = sealed_bid(tmp_path, hall, keys)
    data = bid.read_bytes()

    def late_duplicate(request: httpx.Request) -> None:
        # An earlier attempt of chunk 2 arrives late, just before the tool's retry of it.
        if request.method == "PUT" and request.url.params["offset"] == str(CHUNK):
            (current,) = hall.uploads.values()
            if len(current.data) == CHUNK:
                current.data += data[CHUNK : 2 * CHUNK]

    hall.on_request = late_duplicate
    assert submit(bid) == 0
    assert stored(hall) == data
    assert "the server holds 0.1 MiB" in capsys.readouterr().err
    assert sleeps == []


def test_it_gives_up_then_resumes_the_same_upload(tmp_path, hall, keys, logged_in, sleeps, capsys):
    bid = sealed_bid(tmp_path, hall, keys)
    answered = []

    def fail_after_two(request: httpx.Request) -> None:
        if request.method == "PUT":
            answered.append(1)
            if len(answered) > 2:
                raise httpx.ConnectError("network down", request=request)

    hall.on_request = fail_after_two
    assert submit(bid) == 1
    err = capsys.readouterr().err
    assert "upload_gave_up: " in err and "run the same command again" in err
    assert len(sleeps) == upload.MAX_ATTEMPTS - 1
    state = json.loads((tmp_path / "bid.age.upload.json").read_text())
    (first,) = hall.uploads.values()
    assert state == {
        "server": SERVER,
        "section": 7,
        "upload_id": first.id,
        "size": bid.stat().st_size,
        "sha256": upload.file_sha256(bid)[0],
        "chunk_size": CHUNK,
    }
    assert len(first.data) == 2 * CHUNK

    hall.on_request = None
    assert submit(bid) == 0
    assert f"Resuming upload {first.id} at 0.1 of" in capsys.readouterr().err
    assert list(hall.uploads) == [first.id]  # the same upload, finished
    assert stored(hall) == bid.read_bytes()


def test_a_changed_file_starts_a_new_upload(tmp_path, hall, keys, logged_in, sleeps, capsys):
    bid = sealed_bid(tmp_path, hall, keys)
    hall.faults.append(Fault("PUT", "/chunks", "drop", times=99))
    assert submit(bid) == 1
    (old,) = hall.uploads.values()
    bid.unlink()
    bid = sealed_bid(tmp_path, hall, keys)  # sealed again: another file
    hall.faults.clear()
    assert submit(bid) == 0
    assert "starting a new upload" in capsys.readouterr().err
    assert old.status == "aborted"
    assert stored(hall) == bid.read_bytes()


def test_an_upload_the_server_forgot_is_started_again(tmp_path, hall, keys, logged_in, sleeps, capsys):
    bid = sealed_bid(tmp_path, hall, keys)
    hall.faults.append(Fault("PUT", "/chunks", "drop", times=99))
    assert submit(bid) == 1
    hall.uploads.clear()  # expired and cleaned up
    hall.faults.clear()
    assert submit(bid) == 0
    assert "starting a new one" in capsys.readouterr().err


def test_a_lost_finalize_answer_fetches_the_receipt(tmp_path, hall, keys, logged_in, sleeps, capsys):
    bid = sealed_bid(tmp_path, hall, keys)
    hall.faults.append(Fault("POST", "/finalize", "lost"))
    assert submit(bid) == 0
    receipt = json.loads((tmp_path / "bid.age.receipt.json").read_text())
    assert receipt == hall.bids[7]["receipt"]
    assert sleeps == []  # it asked at once: finalized, so no second finalize
    assert len([p for _, p, _ in hall.requests if p.endswith("/finalize")]) == 1


def test_a_run_after_a_finalize_whose_answer_never_came(tmp_path, hall, keys, logged_in, sleeps, capsys):
    bid = sealed_bid(tmp_path, hall, keys)
    hall.faults.append(Fault("POST", "/finalize", "lost", times=1))
    hall.faults.append(Fault("GET", "/uploads/", "drop", times=99))
    assert submit(bid) == 1  # finalized on the server; the tool could not learn it
    assert "upload_gave_up: " in capsys.readouterr().err
    assert (tmp_path / "bid.age.upload.json").exists()
    hall.faults.clear()
    assert submit(bid) == 0
    assert json.loads((tmp_path / "bid.age.receipt.json").read_text()) == hall.bids[7]["receipt"]
    assert not (tmp_path / "bid.age.upload.json").exists()


def test_finalize_refusals_are_server_refusals(tmp_path, hall, keys, logged_in, sleeps, capsys):
    bid = sealed_bid(tmp_path, hall, keys, section=False)  # no opening-key claim
    assert submit(bid) == 2
    assert last_line(capsys.readouterr().err).startswith("bid_missing_opening_key: ")
    assert not (tmp_path / "bid.age.upload.json").exists()  # a new run starts afresh
    assert not (tmp_path / "bid.age.receipt.json").exists()


def test_submit_needs_a_login(tmp_path, hall, keys, capsys):
    bid = sealed_bid(tmp_path, hall, keys)
    assert submit(bid) == 1
    assert capsys.readouterr().err.startswith("not_logged_in: ")


def test_submit_of_a_missing_file(tmp_path, hall, logged_in, capsys):
    assert submit(tmp_path / "nothing.age") == 1
    assert capsys.readouterr().err.startswith("file_unreadable: ")


def test_a_receipt_for_other_bytes_is_reported(tmp_path, hall, keys, logged_in, sleeps, capsys):
    bid = sealed_bid(tmp_path, hall, keys)
    original = hall.receipt

    def wrong(section_id: int, digest: str, size: int):
        return original(section_id, "0" * 64, size)

    hall.receipt = wrong  # type: ignore[method-assign]
    assert submit(bid) == 1
    assert last_line(capsys.readouterr().err).startswith("receipt_mismatch: ")
    assert (tmp_path / "bid.age.receipt.json").exists()  # kept: it is the platform's statement


def test_the_opening_key_of_the_fake_opens_the_stored_bid(tmp_path, hall, keys, logged_in, sleeps):
    bid = sealed_bid(tmp_path, hall, keys)
    assert submit(bid) == 0
    plain = age.decrypt_bytes([hall.sections[7][1]], stored(hall))
    assert plain == (tmp_path / "payload.zip").read_bytes()
