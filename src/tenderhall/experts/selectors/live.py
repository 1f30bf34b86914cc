"""Experts reads for the request page and its live pushes: the request as one user may see it, in
the shape of ``GET /api/v1/extractions/{id}``, plus the commitments panel (the log index of the
expert draw's commitment, the secondary-venue draws). Built from ``extraction.extraction_view``, so
the page, the API and the pushes show each role the same thing."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from tenderhall.experts.models import ExtractionRequest, ExtractionVenue, VenueRole
from tenderhall.experts.selectors.extraction import ExtractionView, sees_seed

# The expert rows as the API shows them (ExpertRowOut).
EXPERT_FIELDS = (
    "assignment",
    "rank",
    "expert_id",
    "name",
    "employer",
    "kind",
    "status",
    "notified_at",
    "reply_due_at",
    "replied_at",
    "reply_channel",
    "reason",
)


def extraction_out(request: ExtractionRequest, view: ExtractionView) -> dict[str, Any]:
    """``GET /api/v1/extractions/{id}`` for the user ``view`` was built for."""
    demands = []
    for d in view.demands:
        row = {k: v for k, v in d.__dict__.items() if k != "experts"}
        row["experts"] = [{k: e[k] for k in EXPERT_FIELDS} for e in d.experts] if view.identities else None
        demands.append(row)
    return {
        "id": request.pk,
        "section_id": request.section_id,
        "is_remote": request.is_remote,
        "status": request.status,
        "evaluation_starts_at": request.evaluation_starts_at,
        "evaluation_ends_at": request.evaluation_ends_at,
        "reply_minutes": request.reply_minutes,
        "tenderer_representatives": request.tenderer_representatives,
        "pool_sha256": request.pool_sha256,
        "seed_sha256": request.seed_sha256,
        "seed_hex": request.seed_hex if view.seed_visible else None,
        "drawn_at": request.drawn_at,
        "identities_shown": view.identities,
        "demands": demands,
        "failure": dict(view.failure),
    }


def venue_draws(user: Any, request: ExtractionRequest) -> list[dict[str, Any]]:
    """Each secondary-venue draw of a remote request (declined venues too): the committed hashes
    for everyone who sees the request; the candidates and the seed with the expert seed (after the
    decision; supervisors and operators before)."""
    visible = sees_seed(user, request)
    rows = (
        ExtractionVenue.objects.filter(request=request, role=VenueRole.SECONDARY, draw_round__isnull=False)
        .select_related("centre")
        .order_by("pk")
    )
    return [
        {
            "venue": v.pk,
            "round": v.draw_round,
            "centre_id": v.centre_id,
            "centre": v.centre.name,
            "invitation": v.invitation,
            "seats": v.seats,
            "candidates_sha256": v.draw_candidates_sha256,
            "seed_sha256": v.draw_seed_sha256,
            "candidates": list(v.draw_candidates) if visible else None,
            "seed_hex": v.draw_seed_hex if visible else None,
        }
        for v in rows
    ]


def page_data(
    user: Any, request: ExtractionRequest, view: ExtractionView, *, log_index: int | None
) -> dict[str, Any]:
    """What the request page shows this user (and what a push carries): the API's fields, the
    expert draw's commitment log index and the venue draws."""
    return {
        **extraction_out(request, view),
        "log_index": log_index,
        "venue_draws": venue_draws(user, request),
    }


def data_json(data: dict[str, Any]) -> str:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True)


def data_version(data: dict[str, Any]) -> str:
    """A short fingerprint of what a user sees: equal fingerprints, nothing new to show."""
    return hashlib.sha256(data_json(data).encode()).hexdigest()[:16]
