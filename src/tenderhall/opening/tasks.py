"""Background work of the opening app (django-tasks; `tenderhall worker` runs it)."""

from __future__ import annotations

from django_tasks import task


@task()
def opening_tick() -> int:
    """Start every opening whose deadline has passed (idempotent; schedule it every minute)."""
    from tenderhall.opening.services import opening_tick as tick

    return len(tick())
