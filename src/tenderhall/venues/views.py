"""Pages of the venues app."""

from __future__ import annotations
