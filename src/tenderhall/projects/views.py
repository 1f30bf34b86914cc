"""Pages of the projects app."""

from __future__ import annotations
