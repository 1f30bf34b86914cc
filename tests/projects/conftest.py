"""Fixtures of the projects tests: a trading centre with staff, an agent, a tenderer, a supervisor,
each holding an encryption certificate (the default opening-key custodians), and the checklist."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.test import Client

from tenderhall.accounts.models import Organization, Role, User
from tenderhall.core import clock
from tenderhall.projects.models import Project
from tests.factories import UserFactory
from tests.projects.factories import encryption_certificate, ensure_checklist, register_project

# Monday 2 March 2026, 10:00 in Beijing: a working day, mid-morning.
T0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def t0() -> Iterator[dt.datetime]:
    clock.set_now(T0)
    yield T0


@pytest.fixture
def checklist(db: None) -> None:
    ensure_checklist()


@pytest.fixture
def centre(staff: User) -> Organization:
    assert staff.organization is not None
    return staff.organization


@pytest.fixture
def colleague_staff(centre: Organization) -> User:
    return UserFactory(role=Role.STAFF, organization=centre, username="staff2")


@pytest.fixture
def agent(db: None) -> User:
    return UserFactory(role=Role.AGENT, username="agent")


@pytest.fixture
def other_agent(db: None) -> User:
    return UserFactory(role=Role.AGENT, username="other_agent")


@pytest.fixture
def tenderer(db: None) -> User:
    return UserFactory(role=Role.TENDERER, username="tenderer")


@pytest.fixture
def expert(db: None) -> User:
    return UserFactory(role=Role.EXPERT, username="expert")


@pytest.fixture
def certified(
    agent: User, other_agent: User, tenderer: User, staff: User, supervisor: User, centre: Organization
) -> None:
    """Everyone who may hold a share of an opening key holds an encryption certificate."""
    for user in (agent, other_agent, tenderer, staff, supervisor):
        encryption_certificate(user)


@pytest.fixture
def project(certified: None, checklist: None, agent: User, tenderer: User) -> Project:
    """A draft construction project the agent registered for the tenderer."""
    return register_project(agent, tenderer.organization)


@pytest.fixture
def client(db: None) -> Client:
    return Client(raise_request_exception=False)


def login(user: User) -> Client:
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")  # the assertions read English
    client.force_login(user)
    return client
