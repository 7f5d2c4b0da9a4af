"""The planning desk's overview pages: the week view, district statistics and plan targets. The work is
layers.planning's (week, statistics, targets); these views gather the request and render what they return.
Each chart's data is embedded in the page as JSON (a data island read by static/js/planning-charts.js), and
every chart has a table beside it."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from layers.export import neutralize_formula
from layers.planning import hours, statistics
from layers.planning import targets as plan_targets
from layers.planning import week as week_view
from layers.planning.results import STATUSES
from layers.registry import KINDS
from layers.store import Conflict

from ..db import get_desk, get_store
from . import admin_required, bp


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
    # mimetype text/csv: Flask adds "; charset=utf-8" itself (giving it here doubled the parameter)
    return send_file(io.BytesIO(body), mimetype="text/csv", as_attachment=True,
                     download_name=f"planning-stats-{which}.csv")


def _live_targets(number: int | None = None) -> plan_targets.Loaded:
    try:
        return plan_targets.load_live(get_store(), _data_file("targets.json"), number)
    except KeyError:
        abort(404, f"没有第 {number} 版目标 · there is no version {number} of the targets")
    except (OSError, ValueError) as exc:
        abort(500, f"规划目标文件有误 · the targets file cannot be read: {exc}")


@bp.route("/targets")
def targets():
    """The plan's targets, each measured on the live layers, with a progress bar and its text."""
    live = _live_targets()
    today = _today()
    rows = plan_targets.evaluate(live.targets, get_desk().layer, today)
    plan = live.plan
    return render_template("planning/targets.html", rows=rows, today=today, levels=plan_targets.LEVELS,
                           version=live.version, plan=plan, ended=bool(plan["end"]) and today.year > plan["end"])


@bp.route("/targets/edit", methods=["GET", "POST"])
def targets_edit():
    """Admins edit the targets as JSON, saved as the next version of the store document planning.targets;
    a refused edit keeps the text typed and names the field."""
    admin_required()
    store = get_store()
    live = _live_targets()
    problem, status, text = None, 200, live.text
    if request.method == "POST":
        text = request.form.get("body", "")
        try:
            expected = int(request.form.get("expected_version", ""))
        except ValueError:
            abort(400, "缺少版本号 · expected_version is missing")
        try:
            number = plan_targets.save(store, _data_file("targets.json"), text, author=current_user.name,
                                       message=request.form.get("message", "")[:500], expected_version=expected)
        except plan_targets.TargetsError as exc:
            problem, status = str(exc), 400
        except Conflict as exc:
            problem, status = str(exc), 409
        else:
            flash(f"已保存规划目标第 {number} 版 · saved version {number} of the targets")
            return redirect(url_for("planning.targets"))
    return render_template("planning/targets_edit.html", text=text, version=live.version, problem=problem,
                           history=store.documents.history(plan_targets.DOCUMENT),
                           measures=plan_targets.MEASURES), status


@bp.post("/targets/restore")
def targets_restore():
    """Admins make an earlier version (0: the shipped file) live again, as a new version — in two steps:
    the first post shows what would change (targets added, removed, changed) and asks to confirm; only a post
    with confirm=yes restores."""
    admin_required()
    try:
        number = int(request.form.get("number", ""))
        expected = int(request.form.get("expected_version", ""))
    except ValueError:
        abort(400, "版本号无效 · the version numbers must be whole numbers")
    if request.form.get("confirm") != "yes":
        live, old = _live_targets(), _live_targets(number)
        return render_template("planning/targets_restore.html", number=number, expected=expected,
                               live=live, changes=plan_targets.changes(live.targets, old.targets))
    try:
        new = plan_targets.restore(get_store(), _data_file("targets.json"), number, author=current_user.name,
                                   expected_version=expected)
    except KeyError:
        abort(404, f"没有第 {number} 版目标 · there is no version {number} of the targets")
    except Conflict as exc:
        abort(409, str(exc))
    flash(f"已恢复第 {number} 版，现为第 {new} 版 · restored version {number} as version {new}")
    return redirect(url_for("planning.targets"))
