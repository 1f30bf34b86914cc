"""Background work of the experts app (django-tasks; `tenderhall worker` runs it)."""

from __future__ import annotations

from django_tasks import task


@task()
def extraction_tick() -> int:
    """Time out unanswered calls and call the next reserve (idempotent; schedule it every minute)."""
    from tenderhall.experts.services.extraction import extraction_tick as tick

    return len(tick())
