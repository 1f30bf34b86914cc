"""The bidding tests' world: the notices world (a registered project with two sections, custodians,
the 2026 calendar, T0 = Monday 2 March 2026 10:00 Beijing time, deadline 24 March 09:30), the
tender announced (both sections have opening keys), section 1's documents online and obtained by
``bidder`` and ``other_bidder``. Uploads and stored bids go to this test's own directories, so
every test can check that nothing else is left behind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tenderhall.accounts.models import User
from tenderhall.notices import services as notices_services
from tests.notices.conftest import (  # noqa: F401 - fixtures used here
    DEADLINE,
    World,
    announced,
    bearer_for,
    client_for,
    t0,
    world,
)

API = "/api/v1"


@pytest.fixture(autouse=True)
def bid_dirs(settings: Any, tmp_path: Path) -> dict[str, Path]:
    settings.TENDERHALL_UPLOAD_DIR = tmp_path / "uploads"
    settings.MEDIA_ROOT = tmp_path / "files"
    return {"uploads": tmp_path / "uploads", "files": tmp_path / "files"}


@pytest.fixture
def ready(announced: World) -> World:  # noqa: F811
    """Both bidders obtained section 1's documents."""
    notices_services.document_obtain(acting_user=announced.bidder, section=announced.section)
    notices_services.document_obtain(acting_user=announced.other_bidder, section=announced.section)
    return announced


def files_in(directory: Path) -> list[str]:
    """Every file under ``directory``, relative, sorted (what a scenario leaves behind)."""
    if not directory.exists():
        return []
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


class Api:
    """The upload API as the bidder tool calls it: bearer token, raw chunk bodies."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.client = Client(raise_request_exception=False)
        self.client.defaults.update(bearer_for(user))

    def relogin(self) -> Api:
        """A fresh token (tokens expire: needed after a test moves the clock by days)."""
        self.client.defaults.update(bearer_for(self.user))
        return self

    def create(self, section_id: int, size: int, sha256: str | None = None) -> Any:
        body: dict[str, Any] = {"size": size}
        if sha256 is not None:
            body["sha256"] = sha256
        return self.client.post(
            f"{API}/sections/{section_id}/uploads",
            json.dumps(body),
            content_type="application/json",
        )

    def status(self, upload_id: str) -> Any:
        return self.client.get(f"{API}/uploads/{upload_id}")

    def put(self, upload_id: str, offset: int, data: bytes) -> Any:
        return self.client.put(
            f"{API}/uploads/{upload_id}/chunks?offset={offset}",
            data,
            content_type="application/octet-stream",
        )

    def finalize(self, upload_id: str) -> Any:
        return self.client.post(f"{API}/uploads/{upload_id}/finalize")

    def abort(self, upload_id: str) -> Any:
        return self.client.delete(f"{API}/uploads/{upload_id}")

    def bid(self, section_id: int) -> Any:
        return self.client.get(f"{API}/sections/{section_id}/bid")

    def withdraw(self, section_id: int) -> Any:
        return self.client.post(f"{API}/sections/{section_id}/bid/withdraw")

    def upload_all(self, section_id: int, data: bytes, chunk: int = 64 * 1024) -> str:
        """Create, send every chunk and return the upload id (not finalized)."""
        created = self.create(section_id, len(data))
        assert created.status_code == 201, created.content
        upload_id = created.json()["upload_id"]
        for offset in range(0, len(data), chunk):
            response = self.put(upload_id, offset, data[offset : offset + chunk])
            assert response.status_code == 200, response.content
        return str(upload_id)

    def submit(self, section_id: int, data: bytes, chunk: int = 64 * 1024) -> Any:
        return self.finalize(self.upload_all(section_id, data, chunk))
