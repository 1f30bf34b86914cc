"""Pages of the bidding app."""

from __future__ import annotations
