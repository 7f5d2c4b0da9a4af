"""The planning desk: desk pages (to be written)."""

from __future__ import annotations

from flask import render_template  # noqa: E402

from . import bp  # noqa: F401


@bp.route("/")
def index():
    """Check all (to be written): for now the desk's front page."""
    return render_template("planning/base.html")
