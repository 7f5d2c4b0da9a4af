"""The planning desk: check all (every outdoor-dining pilot and zone in one table, filtered and sorted on the
server through query parameters, so it works without JavaScript), its XLSX and CSV exports, and the printable
reports (a site's check sheet, a district summary) as HTML and PDF. The tables and reports are
layers.planning.tables / .reports (the CLI calls the same); the views read the query and render.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from urllib.parse import quote

from flask import Response, abort, render_template, request, url_for

from layers.planning import reports, tables
from layers.planning.desk import PLACES
from layers.planning.kinds import CATEGORIES, COMPLAINT_CATEGORIES
from layers.planning.results import STATUSES

from ..api import download_limit
from ..db import get_desk
from . import bp, cli_check  # noqa: F401  (cli_check adds ``flask --app webmap planning check``)

log = logging.getLogger(__name__)

#: The query parameters that choose the rows; carried by the page's links (sorting, exports, reports).
FILTERS = ("district", "status", "rule", "rule_status")


def _day(name: str) -> dt.date | None:
    """A date query parameter (YYYY-MM-DD) or None; 400 in Chinese and English when it is not a date."""
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return tables.parse_day(text, name)
    except ValueError as exc:
        abort(400, str(exc))


def _choice(name: str, allowed) -> str | None:
    value = request.args.get(name, "").strip()
    if value and value not in allowed:
        abort(400, f"参数 {name} 的值无效 {value[:40]!r} · {name} must be one of: {', '.join(allowed)}")
    return value or None


def _check_all() -> tables.CheckAll:
    return tables.check_all(get_desk(), as_of=_day("as_of"), week=_day("week"))


def _rows(report: tables.CheckAll) -> tuple[list[tables.SiteRow], dict]:
    """The rows the query chooses, in its order, and the query's choices."""
    rule_ids = report.rule_ids
    chosen = {"district": request.args.get("district", "").strip() or None,
              "status": _choice("status", STATUSES), "rule": _choice("rule", rule_ids),
              "rule_status": _choice("rule_status", STATUSES),
              "sort": _choice("sort", (*tables.SORT_KEYS, *rule_ids)) or "district",
              "order": _choice("order", ("asc", "desc")) or "asc"}
    rows = tables.select(report.sites, district=chosen["district"], status=chosen["status"], rule=chosen["rule"],
                         rule_status=chosen["rule_status"])
    rows = tables.sort(rows, chosen["sort"], chosen["order"] == "desc")
    return rows, chosen


def _query(**changes) -> dict:
    """The current query string with ``changes`` (None removes a parameter)."""
    args = {k: v for k, v in request.args.items() if v}
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return args


def _stamp(report: tables.CheckAll) -> str:
    return report.run.as_of.strftime("%Y%m%d")


@bp.route("/")
def index():
    """Check all: every pilot with its verdict per rule, every zone, counts by district."""
    report = _check_all()
    rows, chosen = _rows(report)
    return render_template("planning/index.html", report=report, rows=rows, chosen=chosen, statuses=STATUSES,
                           districts=reports.districts_of(report), query=_query, columns=tables.SITE_COLUMNS,
                           counts=report.run.counts(), by_district=report.run.by_district(),
                           categories=CATEGORIES, complaint_categories=COMPLAINT_CATEGORIES)


@bp.route("/check-all.<any(xlsx, csv):fmt>")
@download_limit
def check_all_export(fmt: str):
    """The check-all table as a file, with the rows and order the page's query chooses."""
    report = _check_all()
    rows, chosen = _rows(report)
    if fmt == "xlsx":
        body, mimetype = tables.to_xlsx(report, rows, chosen), \
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body, mimetype = tables.to_csv(report, rows), "text/csv"
    name = f"check-all-{_stamp(report)}-rules-v{report.run.ruleset.version}.{fmt}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": _disposition("attachment", name)})


def _report_page(template: str, fmt: str, name: str, **context):
    started = time.perf_counter()
    html = render_template(template, **context)
    if fmt == "html":
        return html
    body = reports.pdf(html)
    log.info("report %s: PDF in %.2f s", name, time.perf_counter() - started)
    return Response(body, mimetype="application/pdf", headers={"Content-Disposition": _disposition("inline", f"{name}.pdf")})


@bp.route("/sites/<site_id>/report.<any(html, pdf):fmt>")
@download_limit
def site_report(site_id: str, fmt: str):
    """One site's printable check sheet."""
    desk = get_desk()
    report = tables.check_all(desk, as_of=_day("as_of"), week=_day("week"))
    try:
        sheet = reports.site_report(report, site_id, desk.layer(PLACES), desk.layer("districts"))
    except KeyError:
        shown = repr(site_id[:80])
        abort(404, f"没有此外摆点 {shown} · There is no outdoor-dining site {shown}")
    return _report_page("planning/desk_report_site.html", fmt, f"check-{_safe(site_id)}-{_stamp(report)}",
                        sheet=sheet, report=report, map_uri=reports.data_uri(sheet.map_png),
                        statuses=STATUSES, categories=CATEGORIES,
                        back=url_for("planning.index", **_query()),
                        pdf_url=url_for("planning.site_report", site_id=site_id, fmt="pdf", **_query()))


@bp.route("/report.<any(html, pdf):fmt>")
@download_limit
def district_report(fmt: str):
    """The district summary (all districts when none is chosen)."""
    desk = get_desk()
    report = tables.check_all(desk, as_of=_day("as_of"), week=_day("week"))
    district = request.args.get("district", "").strip() or None
    # a real district with no sites gets an empty summary that says so; only a name that is no district is a 404
    known = sorted(set(reports.districts_of(report)) | set(reports.district_names(desk.layer("districts"))))
    if district and district not in known:
        abort(404, f"没有此区市 {district[:40]!r} · There is no district {district[:40]!r} ({', '.join(known)})")
    rows = tables.sort(tables.select(report.sites, district=district), "district")
    png = reports.district_map(rows, report, desk.layer("districts"), district)
    # site names link to their check sheets in the HTML only: in a PDF a link would point at this server
    links = {str(row.id): url_for("planning.site_report", site_id=str(row.id), fmt="html")
             for row in rows} if fmt == "html" else {}
    return _report_page("planning/desk_report_district.html", fmt,
                        f"district-{_safe(district or 'all')}-{_stamp(report)}", report=report, rows=rows,
                        district=district, map_uri=reports.data_uri(png), statuses=STATUSES, links=links,
                        back=url_for("planning.index", **_query()),
                        pdf_url=url_for("planning.district_report", fmt="pdf", **_query()))


def _safe(text: str) -> str:
    """A file-name part: letters, digits (any script), - and _ only."""
    return re.sub(r"[^\w-]+", "_", text)[:60] or "report"


def _disposition(kind: str, name: str) -> str:
    """A Content-Disposition header for ``name``: an ASCII fallback and the UTF-8 name (RFC 6266)."""
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
