"""The planning desk: check pages (to be written)."""

from __future__ import annotations

from . import bp  # noqa: F401
