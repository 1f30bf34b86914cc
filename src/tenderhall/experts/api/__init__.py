"""The experts API: the expert database, extraction, and the committee (one router per part)."""

from __future__ import annotations

from ninja import Router

from tenderhall.experts.api.committee import router as committee_router
from tenderhall.experts.api.extraction import router as extraction_router
from tenderhall.experts.api.registry import router as registry_router

router = Router(tags=["experts"])
router.add_router("/", registry_router)
router.add_router("/", extraction_router)
router.add_router("/", committee_router)
