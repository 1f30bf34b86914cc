"""Two writes racing for one slot: exactly one wins.

Each request runs in its own thread, with its own database connection, in real transactions. To
make the race real, the conflict check is wrapped so that a request that has passed it waits (up
to a second) for the other request to pass it too before inserting. With the room locked before
the check, the other request cannot reach the check until the first has committed, so the wait
runs out and the second request then sees the first booking; without the lock both would pass and
both would insert.

On SQLite writers are serial for another reason: each transaction starts with BEGIN IMMEDIATE
(settings) and so holds the database's single write lock before it reads. A file database makes
the second writer wait (busy timeout) and then see the first booking; the in-memory test database
(shared cache) refuses the second writer at once with "database table is locked" instead. Either
way only one booking is made, which is what these tests check on both databases.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import OperationalError, connection

from tenderhall.core.errors import DomainError
from tenderhall.venues import services
from tenderhall.venues.models import Booking, BookingStatus
from tests.venues.conftest import World, at

pytestmark = pytest.mark.django_db(transaction=True)

WAIT_FOR_RIVAL = 1.0  # seconds a request that passed the check waits for its rival to pass it too


def race(monkeypatch: pytest.MonkeyPatch, *writes: Callable[[], Any]) -> list[Any]:
    check = services._refuse_conflict
    passed = threading.Condition()
    count = [0]

    def check_then_wait(**kwargs: Any) -> None:
        check(**kwargs)
        with passed:
            count[0] += 1
            passed.notify_all()
            passed.wait_for(lambda: count[0] >= len(writes), timeout=WAIT_FOR_RIVAL)

    monkeypatch.setattr(services, "_refuse_conflict", check_then_wait)
    results: list[Any] = [None] * len(writes)
    start = threading.Barrier(len(writes))

    def run(n: int) -> None:
        try:
            start.wait()
            results[n] = writes[n]()
        except Exception as error:  # a refusal, or a database error: the assertions judge it
            results[n] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(writes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def lost(result: Any) -> bool:
    if isinstance(result, DomainError):
        return result.code == "booking_conflict"
    # see the module docstring: SQLite's in-memory test database refuses the second writer at once
    return connection.vendor == "sqlite" and isinstance(result, OperationalError) and "locked" in str(result)


def test_two_requests_for_the_same_slot_only_one_succeeds(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = race(
        monkeypatch,
        lambda: world.book(user=world.agent, start=at(1, 9), end=at(1, 12)),
        lambda: world.book(user=world.other_agent, start=at(1, 10), end=at(1, 11)),
    )
    assert sum(isinstance(r, Booking) for r in results) == 1, results
    assert sum(lost(r) for r in results) == 1, results
    assert Booking.objects.filter(status=BookingStatus.REQUESTED).count() == 1


def test_a_change_racing_a_request_for_its_new_slot(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    existing = world.book(user=world.agent, start=at(2, 9), end=at(2, 10))
    results = race(
        monkeypatch,
        lambda: services.booking_change(
            acting_user=world.agent, booking=existing, starts_at=at(1, 9), ends_at=at(1, 12)
        ),
        lambda: world.book(user=world.other_agent, start=at(1, 11), end=at(1, 13)),
    )
    assert sum(isinstance(r, Booking) for r in results) == 1, results
    assert sum(lost(r) for r in results) == 1, results
    held = Booking.objects.filter(room=world.opening, starts_at__lt=at(1, 13), ends_at__gt=at(1, 9))
    assert held.count() == 1
