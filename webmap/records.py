"""What changed, for staff: a version's diff as a download (CSV for Excel, or JSON), the audit log for admins
with filters, and the ``beijing`` template filter every staff page shows times with. The domain is
layers/changes.py; this module only reads the request and answers."""

from __future__ import annotations

import io
import re
from datetime import date

from flask import Blueprint, abort, render_template, request, send_file
from flask_login import current_user, login_required

from layers import changes
from layers.registry import KINDS, REGISTRY

from .db import get_kind, get_store

bp = Blueprint("records", __name__, url_prefix="/staff")
PAGE_SIZE = 50
#: Features of each kind of change a diff page shows (the download has them all).
PAGE_LIMIT = 500
DOWNLOADS = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


@bp.app_template_filter("beijing")
def beijing_filter(moment, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """``{{ row.created_at|beijing }}``: a stored UTC time as 北京时间 text."""
    return changes.beijing(moment, fmt)


@bp.app_template_filter("action_label")
def action_label_filter(action: str) -> str:
    return changes.action_label(action)


@bp.app_template_filter("file_name")
def file_name_filter(source) -> str:
    """``{{ q.source|file_name }}``: an import's file, without the folders it was in."""
    return changes.file_name(source)


@bp.app_template_filter("value_text")
def value_text_filter(value) -> str:
    return changes.value_text(value)


def layer_diff(layer_id: str, number: int) -> tuple:
    """The kind and the diff of its version ``number``; 404 for an unknown layer or version."""
    kind = get_kind(layer_id)
    if not any(v["number"] == number for v in get_store().history(layer_id)):
        abort(404, f"没有此版本 {layer_id} has no version {number}")
    return kind, changes.version_diff(get_store(), kind, number)


@bp.get("/layers/<layer_id>/versions/<number:number>/changes.<fmt>")
@login_required
def diff_download(layer_id: str, number: int, fmt: str):
    """The diff of a version as a file: CSV (UTF-8 with a BOM, formulas neutralized) or JSON."""
    if fmt not in DOWNLOADS:
        abort(404, "格式无效 Choose changes.csv or changes.json")
    kind, diff = layer_diff(layer_id, number)
    body = changes.diff_csv(diff) if fmt == "csv" else changes.diff_json(diff)
    return send_file(io.BytesIO(body), mimetype=DOWNLOADS[fmt], as_attachment=True,
                     download_name=f"changes-{kind.id}-v{number}.{fmt}")


def _day(name: str) -> date | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        abort(400, f"日期无效 {name}={text[:20]!r}: give a date as YYYY-MM-DD (北京时间 Beijing time)")


def detail_text(detail) -> str:
    """An audit record's detail as one line of text (the page escapes it; file sources lose their folders)."""
    if not isinstance(detail, dict):
        return changes.value_text(detail)
    parts = []
    for key, value in detail.items():
        if value is None or value == "":
            continue
        if key == "source" and isinstance(value, str):
            value = changes.file_name(value)
        parts.append(f"{key}: {changes.value_text(value)}")
    return "; ".join(parts)


@bp.get("/audit")
@login_required
def audit():
    """The audit log for admins: filtered by person, action, layer and Beijing-time days; newest first, paged."""
    if current_user.role != "admin":
        abort(403, "只有管理员可以查看审计日志 Only admins see the audit log")
    filters = {key: request.args.get(key, "").strip()[:128] for key in ("actor", "action", "layer")}
    if filters["layer"] and filters["layer"] not in REGISTRY:
        abort(400, f"没有此图层 There is no layer {filters['layer'][:80]!r}")
    first, last = _day("from"), _day("to")
    if first and last and first > last:
        abort(400, "开始日期晚于结束日期 The first day is after the last day")
    page_text = request.args.get("page", "1")
    if not re.fullmatch(r"[1-9][0-9]{0,5}", page_text):
        abort(400, f"页码无效 page={page_text[:20]!r}")
    page = int(page_text)
    since, until = changes.beijing_days(first, last)
    rows, total = get_store().audit_page(actor=filters["actor"] or None, action=filters["action"] or None,
                                      layer_id=filters["layer"] or None, since=since, until=until,
                                      offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    query = {**filters, "from": request.args.get("from", "").strip(), "to": request.args.get("to", "").strip()}
    query = {k: v for k, v in query.items() if v}
    return render_template("staff/audit.html", rows=[dict(r, text=detail_text(r["detail"])) for r in rows],
                           total=total, page=page, pages=pages, query=query, filters=filters,
                           first=first, last=last, actions=get_store().audit_actions(), kinds=KINDS)
