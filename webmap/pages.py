"""The public map page."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request

from . import mapshell
from .db import get_basemaps, get_map_shells

bp = Blueprint("pages", __name__)


def _shell(basemap_id: str) -> mapshell.MapShell:
    shells = get_map_shells()
    if basemap_id not in shells:
        shells[basemap_id] = mapshell.build(get_basemaps()[basemap_id])
    return shells[basemap_id]


@bp.get("/")
def index():
    offered = get_basemaps()
    basemap_id = request.args.get("basemap", current_app.config["BASEMAP"])
    if basemap_id not in offered:
        abort(400, f"basemap={basemap_id!r} is not offered; choose one of {', '.join(offered)}")
    return render_template("map.html", shell=_shell(basemap_id), basemaps=offered.values(), current=basemap_id)
