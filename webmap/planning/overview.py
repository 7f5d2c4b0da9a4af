"""The planning desk's overview pages: the week view, district statistics and plan targets. The work is
layers.planning's (week, statistics, targets); these views gather the request and render what they return.
Each chart's data is embedded in the page as JSON (a data island read by static/js/planning-charts.js), and
every chart has a table beside it."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from flask import abort, current_app, render_template, request, send_file

from layers.export import neutralize_formula
from layers.planning import hours, statistics
from layers.planning import targets as plan_targets
from layers.planning import week as week_view
from layers.planning.results import STATUSES
from layers.registry import KINDS

from ..db import get_desk
from . import bp


def _data_file(name: str) -> Path:
    return Path(current_app.config["DATA_DIR"]) / "planning" / name


def _today() -> dt.date:
    return dt.datetime.now(hours.TZ).date()


@bp.route("/week")
def week():
    """Mon-Sun × 24 h: pedestrian streets car-free, 24-hour zones operating, outdoor seating out, and the hours
    inside quiet hours near homes; ?week=YYYY-MM-DD (any day of the week)."""
    try:
        chosen = week_view.parse_week(request.args.get("week"), _today())
    except ValueError as exc:
        abort(400, str(exc))
    desk = get_desk()
    try:
        run = desk.check_all(week=chosen)
        view = week_view.build(chosen, desk.layer, desk.ruleset, run, desk.zones())
    except hours.CalendarError as exc:
        return render_template("planning/week.html", view=None, week=chosen, problem=str(exc),
                               previous=chosen.monday - dt.timedelta(days=7), following=None)
    return render_template("planning/week.html", view=view, week=chosen, problem=None, chart=view.to_dict(),
                           kinds=hours.DAY_KINDS, weekdays=hours.WEEKDAYS,
                           previous=chosen.monday - dt.timedelta(days=7),
                           following=chosen.monday + dt.timedelta(days=7))


def _statistics():
    desk = get_desk()
    population = statistics.load_population(_data_file("district_population.json"))
    return statistics.compute(KINDS, desk.layer, desk.check_all(), population)


@bp.route("/stats")
def stats():
    """Per district and per commercial district: features, areas, seats, verdicts, complaints, per 10,000."""
    figures = _statistics()
    chart = {"districts": [{"name": a.name, "sites": a.sites, "seats": a.seats, "complaints": a.complaints,
                            "verdicts": a.verdicts, "seats_per_10k": a.per_10k(a.seats)} for a in figures.districts],
             "commercial": [{"name": a.name, "sites": a.sites, "seats": a.seats, "complaints": a.complaints,
                             "verdicts": a.verdicts} for a in figures.commercial],
             "statuses": {k: {"zh": v[0], "en": v[1]} for k, v in STATUSES.items()}}
    return render_template("planning/stats.html", stats=figures, chart=chart, statuses=STATUSES)


@bp.route("/stats.csv")
def stats_csv():
    """The statistics table as CSV (UTF-8 with a BOM for Excel; ?of=commercial for commercial districts)."""
    which = request.args.get("of", "districts")
    if which not in ("districts", "commercial"):
        abort(400, "of 应为 districts 或 commercial · of must be districts or commercial")
    out = io.StringIO()
    writer = csv.writer(out)
    for row in statistics.csv_rows(_statistics(), which):
        writer.writerow([neutralize_formula(v) if isinstance(v, str) else v for v in row])
    body = ("\ufeff" + out.getvalue()).encode("utf-8")
    return send_file(io.BytesIO(body), mimetype="text/csv; charset=utf-8", as_attachment=True,
                     download_name=f"planning-stats-{which}.csv")


@bp.route("/targets")
def targets():
    """The plan's targets, each measured on the live layers, with a progress bar and its text."""
    try:
        listed = plan_targets.load(_data_file("targets.json"))
    except (OSError, ValueError) as exc:
        abort(500, f"规划目标文件有误 · the targets file cannot be read: {exc}")
    today = _today()
    rows = plan_targets.evaluate(listed, get_desk().layer, today)
    return render_template("planning/targets.html", rows=rows, today=today, levels=plan_targets.LEVELS)

