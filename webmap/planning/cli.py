"""``flask --app webmap planning ...``: the planning desk for batch work (checks, reports, the ruleset)."""

from __future__ import annotations

from flask.cli import AppGroup

planning_cli = AppGroup("planning", help="The planning desk: check outdoor-dining sites, reports, the ruleset.")
