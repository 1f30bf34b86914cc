"""Background work of the bidding app (django-tasks; `tenderhall worker` runs it)."""

from __future__ import annotations

from django_tasks import task


@task()
def cleanup_expired_uploads() -> int:
    """Expire idle uploads and remove part files nobody owns (idempotent; schedule it hourly, or
    run `tenderhall bids cleanup`)."""
    from tenderhall.bidding.services import upload_cleanup_expired

    return upload_cleanup_expired()
