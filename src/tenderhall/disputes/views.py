"""Pages of the disputes app."""

from __future__ import annotations
