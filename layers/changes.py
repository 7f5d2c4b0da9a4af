"""What changed, for people: times in Beijing time, a version's history row with the file it came from, and
a version's diff feature by feature (each field before → after, geometry moves in metres), downloadable as
CSV (UTF-8 with a BOM, cells neutralized against spreadsheet formulas) or JSON.

Times are stored in UTC; staff see them as 北京时间 (Asia/Shanghai, UTC+8: China has had no daylight saving
time since 1991, so when the system has no time-zone data the fixed offset is exact). Distances are measured
in :data:`layers.area.METRIC_CRS` (CGCS2000 / 3-degree Gauss-Kruger CM 120E), in which Qingdao lies.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache

import numpy as np
import shapely

from .area import METRIC_CRS
from .export import neutralize_formula
from .schema import LayerKind

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    BEIJING = ZoneInfo("Asia/Shanghai")
except (ImportError, ZoneInfoNotFoundError):  # pragma: no cover - no tz database on this system
    BEIJING = timezone(timedelta(hours=8), "CST")

#: A vertex budget for the Hausdorff distance (quadratic in the vertices): above it only the centroid shift.
HAUSDORFF_MAX_VERTICES = 200_000


# -- times ----------------------------------------------------------------------------------------------
def as_utc(moment: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite gives naive ones, which are UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def beijing(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """``moment`` (stored UTC) as Beijing time text; empty for None."""
    if moment is None:
        return ""
    return as_utc(moment).astimezone(BEIJING).strftime(fmt)


def beijing_days(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """The UTC bounds [since, until) of the Beijing-time days ``first`` to ``last``, both included."""
    since = datetime.combine(first, time(), BEIJING).astimezone(UTC) if first else None
    until = datetime.combine(last + timedelta(days=1), time(), BEIJING).astimezone(UTC) if last else None
    return since, until


# -- history --------------------------------------------------------------------------------------------
def file_name(source: str | None) -> str:
    """The file name of an import's source, never the folders it was in (a server path from the command line
    or the seed, or a client path some browsers send)."""
    return re.split(r"[\\/]", source or "")[-1]


def origin(version: dict, source: dict | None) -> dict:
    """Where a version came from: ``{"kind": import|edit|rollback|unknown, "file", "mode"}``."""
    source = source or {}
    text, mode = source.get("source") or "", source.get("mode") or ""
    if version.get("restored_from"):
        return {"kind": "rollback", "file": "", "mode": mode}
    if text == "browser edit":
        return {"kind": "edit", "file": "", "mode": mode}
    return {"kind": "import" if text else "unknown", "file": file_name(text), "mode": mode}


def history_rows(store, layer_id: str) -> list[dict]:
    """The layer's versions, oldest first, each with its :func:`origin` under ``"origin"``."""
    sources = store.version_sources(layer_id)
    return [dict(v, origin=origin(v, sources.get(v["number"]))) for v in store.history(layer_id)]


# -- diffs ----------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _to_metres():
    import pyproj

    return pyproj.Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)


def metric(geometry):
    """A WGS-84 shapely geometry in :data:`METRIC_CRS` (metres)."""
    transformer = _to_metres()

    def project(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geometry, project)


def geometry_move(before: bytes, after: bytes) -> dict:
    """How a feature's geometry moved: its type before and after, how far its centroid moved and the
    Hausdorff distance (the farthest any part of one lies from the other), in metres rounded to 0.01 m."""
    old, new = shapely.from_wkb(before), shapely.from_wkb(after)
    move = {"changed": before != after, "type_before": old.geom_type, "type_after": new.geom_type,
            "centroid_shift_m": 0.0, "hausdorff_m": 0.0}
    if before == after:
        return move
    old_m, new_m = metric(old), metric(new)
    move["centroid_shift_m"] = round(float(shapely.distance(old_m.centroid, new_m.centroid)), 2)
    if shapely.get_num_coordinates(old_m) + shapely.get_num_coordinates(new_m) <= HAUSDORFF_MAX_VERTICES:
        move["hausdorff_m"] = round(float(shapely.hausdorff_distance(old_m, new_m)), 2)
    else:
        move["hausdorff_m"] = None
    return move


def _where(wkb: bytes) -> dict:
    geometry = shapely.from_wkb(wkb)
    point = shapely.point_on_surface(geometry) if geometry.geom_type.endswith("Polygon") else geometry.centroid
    return {"type": geometry.geom_type, "lon": round(point.x, 6), "lat": round(point.y, 6)}


def _field_order(kind: LayerKind, *props: dict) -> list[str]:
    declared = [f.name for f in kind.fields]
    extra = sorted({k for p in props for k in p} - set(declared))
    return [name for name in declared if any(name in p for p in props)] + extra


def _labels(kind: LayerKind) -> dict[str, str]:
    return {f.name: f"{f.zh} {f.en}" for f in kind.fields}


def shown(fld, value):
    """A stored value as staff read it: an enum value with its Chinese label ("pilot（试点）"), else as it is."""
    if fld is not None and isinstance(value, str) and value in fld.choice_labels:
        return f"{value}（{fld.choice_labels[value][0]}）"
    return value


def version_diff(store, kind: LayerKind, number: int) -> dict:
    """What version ``number`` of ``kind`` did against the version before it: the features it added and
    removed with their values, and for each changed feature every field's before → after and how its
    geometry moved in metres."""
    wrote, ended = store.version_rows(kind.id, number)
    labels = _labels(kind)

    fmap = kind.field_map

    def whole(fid, props, wkb, side):
        fields = [{"field": k, "label": labels.get(k, k),
                   "before": shown(fmap.get(k), props[k]) if side == "before" else None,
                   "after": shown(fmap.get(k), props[k]) if side == "after" else None}
                  for k in _field_order(kind, props)]
        return {"id": fid, "name": props.get("name", ""), "fields": fields, "where": _where(wkb)}

    added = [whole(fid, *wrote[fid], "after") for fid in sorted(wrote.keys() - ended.keys(), key=str)]
    removed = [whole(fid, *ended[fid], "before") for fid in sorted(ended.keys() - wrote.keys(), key=str)]
    changed = []
    for fid in sorted(wrote.keys() & ended.keys(), key=str):
        (old, old_wkb), (new, new_wkb) = ended[fid], wrote[fid]
        fields = [{"field": k, "label": labels.get(k, k), "before": shown(fmap.get(k), old.get(k)),
                   "after": shown(fmap.get(k), new.get(k))}
                  for k in _field_order(kind, old, new) if old.get(k) != new.get(k)]
        changed.append({"id": fid, "name": new.get("name") or old.get("name", ""), "fields": fields,
                        "geometry": geometry_move(old_wkb, new_wkb), "where": _where(new_wkb)})
    return {"layer": kind.id, "version": number, "previous": number - 1,
            "added": added, "changed": changed, "removed": removed}


#: The audit log's actions as staff read them (the log keeps the codes; filters use them).
ACTION_LABELS = {
    "login": "登录 log-in", "login-failed": "登录失败 failed log-in", "logout": "退出 log-out",
    "publish": "发布 publish", "rollback": "恢复 rollback", "import-unchanged": "导入（无改动） import, nothing changed",
    "import-refused": "导入被拒 import refused", "user-create": "创建账户 account created",
    "user-update": "修改账户 account changed", "user-activate": "启用账户 account activated",
    "user-deactivate": "停用账户 account deactivated", "user-password": "修改密码 password changed",
    "user-password-reset": "重置密码 password reset", "user-password-failed": "当前密码错误 wrong current password",
}


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def value_text(value) -> str:
    """A property value as a person reads it: text as it is, anything else as JSON, nothing as empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


DIFF_COLUMNS = ("版本 version", "变化 change", "要素 feature id", "名称 name", "字段 field", "之前 before",
                "之后 after", "质心移动(米) centroid shift (m)", "最大偏移(米) Hausdorff distance (m)")


def diff_rows(diff: dict):
    """The diff as table rows (one per field, one per moved geometry), cells as text."""
    for change in ("added", "removed", "changed"):
        for feature in diff[change]:
            head = [str(diff["version"]), change, feature["id"], feature["name"] or ""]
            for f in feature["fields"]:
                yield head + [f["field"], f["before"], f["after"], "", ""]
            move = feature.get("geometry")
            if move and move["changed"]:
                hausdorff = "" if move["hausdorff_m"] is None else f"{move['hausdorff_m']:.2f}"
                yield head + ["(geometry)", move["type_before"], move["type_after"],
                              f"{move['centroid_shift_m']:.2f}", hausdorff]
            elif change != "changed":
                where = feature["where"]
                place = f"{where['type']} ({where['lon']:.6f}, {where['lat']:.6f})"
                yield head + ["(geometry)", place if change == "removed" else None,
                              place if change == "added" else None, "", ""]


def diff_csv(diff: dict) -> bytes:
    """The diff as CSV for Excel: UTF-8 with a BOM; text cells that would start a formula get a leading '."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(DIFF_COLUMNS)
    for row in diff_rows(diff):
        writer.writerow([cell if isinstance(cell, (int, float)) and not isinstance(cell, bool)
                         else neutralize_formula(value_text(cell)) for cell in row])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def diff_json(diff: dict) -> bytes:
    return json.dumps(diff, ensure_ascii=False, indent=1).encode("utf-8")
