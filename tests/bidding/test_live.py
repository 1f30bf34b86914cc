"""Uploads under real conditions: a client process killed mid-chunk and resumed by a new process
(against the live server, over real sockets), and two bidders uploading at the same time (threads,
each with its own database connection, in real transactions)."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.db import OperationalError, connection

from tenderhall.accounts.services import api_token_issue
from tenderhall.bidding import services
from tenderhall.bidding.models import Bid, BidStatus, UploadSession, UploadStatus
from tests.bidding.conftest import files_in
from tests.bidding.factories import sealed_bid
from tests.bidding.verify import failed_checks
from tests.notices.conftest import World

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT = Path(__file__).with_name("slow_client.py")
CHUNK = 256 * 1024
T = TypeVar("T")


def _wait_for(predicate: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_a_client_killed_mid_upload_is_resumed_by_a_new_process(
    ready: World, live_server: Any, tmp_path: Path, bid_dirs: dict[str, Path]
):
    from tenderhall.core import keys

    data = sealed_bid(ready.section, 5 * CHUNK + 1234)
    bid_file = tmp_path / "bid.age"
    bid_file.write_bytes(data)
    token, _ = api_token_issue(user=ready.bidder)
    upload = services.upload_create(acting_user=ready.bidder, section=ready.section, size=len(data))
    args = [sys.executable, str(CLIENT), live_server.url, token, str(upload.pk), str(bid_file), str(CHUNK)]

    first = subprocess.Popen([*args, "--hang-at", str(2 * CHUNK + 10)], stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout is not None
        assert first.stdout.readline().strip() == "RESUMED 0"
        assert first.stdout.readline().strip() == "HALF"  # two chunks sent, the third half way
        os.kill(first.pid, signal.SIGKILL)
        assert first.wait(timeout=20) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
    part = services.part_path(upload.pk)
    # The server sees the connection end, refuses the cut chunk and cuts the part file back.
    _wait_for(lambda: part.stat().st_size == 2 * CHUNK)
    upload.refresh_from_db()
    assert (upload.received, upload.status) == (2 * CHUNK, UploadStatus.OPEN)

    second = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    lines = second.stdout.splitlines()
    assert lines[0] == f"RESUMED {2 * CHUNK}"
    receipt = json.loads(lines[-1].removeprefix("RECEIPT "))
    assert failed_checks(receipt, keys.platform_key().public_key()) == []
    bid = Bid.objects.get()
    assert bid.ciphertext_sha256 == hashlib.sha256(data).hexdigest() == receipt["ciphertext_sha256"]
    with bid.file.open("rb") as stored:
        assert stored.read() == data
    assert files_in(bid_dirs["uploads"]) == []


def _retrying(call: Callable[[], T]) -> T:
    """SQLite's in-memory test database (shared cache) refuses a second writer at once ("table is
    locked") where a file database — production — waits for it (busy timeout): retry only that."""
    for _ in range(500):
        try:
            return call()
        except OperationalError as error:
            if connection.vendor != "sqlite" or "locked" not in str(error):
                raise
            time.sleep(0.01)
    raise AssertionError("still locked")


def _append(user: Any, session: UploadSession, offset: int, piece: bytes) -> UploadSession:
    return services.upload_append_chunk(
        acting_user=user, upload=session, offset=offset, stream=io.BytesIO(piece), length=len(piece)
    )


def test_two_bidders_upload_at_the_same_time(ready: World, bid_dirs: dict[str, Path]):
    users = [ready.bidder, ready.other_bidder]
    files = [sealed_bid(ready.section, 6 * CHUNK), sealed_bid(ready.section, 4 * CHUNK + 77)]
    step = threading.Barrier(2)
    results: list[Any] = [None, None]
    section = ready.section

    def upload(n: int) -> None:
        user, data = users[n], files[n]
        try:
            session = _retrying(
                lambda: services.upload_create(acting_user=user, section=section, size=len(data))
            )
            for offset in range(0, max(len(d) for d in files), CHUNK):
                step.wait(timeout=30)  # the two uploads advance chunk by chunk, side by side
                if offset >= len(data):
                    continue
                piece = data[offset : offset + CHUNK]
                session = _retrying(functools.partial(_append, user, session, offset, piece))
            step.wait(timeout=30)
            results[n] = _retrying(lambda: services.bid_finalize(acting_user=user, upload=session))
        except Exception as error:  # the assertions below judge it
            results[n] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(isinstance(r, Bid) for r in results), results
    for n, bid in enumerate(results):
        bid.refresh_from_db()
        assert bid.status == BidStatus.SUBMITTED and bid.organization == users[n].organization
        with bid.file.open("rb") as stored:
            assert stored.read() == files[n]
    assert UploadSession.objects.filter(status=UploadStatus.FINALIZED).count() == 2
    assert files_in(bid_dirs["uploads"]) == []
    assert sorted(n for n in files_in(bid_dirs["files"]) if n.startswith("bids/")) == sorted(
        b.file.name for b in results
    )
