from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tenderhall.accounts.models import Role, User
from tenderhall.core import clock
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _release_clock() -> Iterator[None]:
    """A test that fixes the clock never leaks it into the next test."""
    yield
    clock.set_now(None)


@pytest.fixture
def staff(db: None) -> User:
    return UserFactory(role=Role.STAFF, username="staff")


@pytest.fixture
def bidder(db: None) -> User:
    return UserFactory(role=Role.BIDDER, username="bidder")


@pytest.fixture
def other_bidder(db: None) -> User:
    return UserFactory(role=Role.BIDDER, username="other_bidder")


@pytest.fixture
def supervisor(db: None) -> User:
    return UserFactory(role=Role.SUPERVISOR, username="supervisor")


@pytest.fixture
def auditor(db: None) -> User:
    return UserFactory(role=Role.AUDITOR, username="auditor")


@pytest.fixture
def ca_root(tmp_path: Path) -> Path:
    return tmp_path / "ca"
