"""The platform holds ciphertext only: the stored file is exactly the uploaded age file, and
nothing of the bid package (prices, names, files) is anywhere in the database or the storage."""

from __future__ import annotations

import io
from pathlib import Path

from django.core.management import call_command

from tenderhall.bidding.models import Bid
from tests.bidding.conftest import Api, files_in
from tests.bidding.factories import opening_recipient, seal
from tests.notices.conftest import World

MARKER = "开标一览表 投标报价 1234567.89 项目经理 张三 SECRET-PLAINTEXT-MARKER"


def test_only_ciphertext_is_stored(ready: World, bid_dirs: dict[str, Path]):
    plaintext = (MARKER + "\n").encode() * 2000
    data = seal(plaintext, opening=opening_recipient(ready.section))
    assert Api(ready.bidder).submit(ready.section.pk, data).status_code == 201
    bid = Bid.objects.get()
    with bid.file.open("rb") as stored:
        assert stored.read() == data
    assert bid.machine_fingerprint == {}
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    for needle in ("SECRET-PLAINTEXT-MARKER", "1234567.89", "张三"):
        assert needle not in dump.getvalue()
    for root in bid_dirs.values():
        for name in files_in(root):
            content = (root / name).read_bytes()
            assert b"SECRET-PLAINTEXT-MARKER" not in content and MARKER.encode() not in content
