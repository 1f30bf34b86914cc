"""Pages of the notices app."""

from __future__ import annotations
