"""Check a site (/staff/planning/check): a staff map where the planner clicks a point, draws the seating area
or picks a pilot, enters the permit's fields and sees each rule's verdict, the rules' buffers and the distance
lines to the protected places near it; and may save the checked site as a proposed (``planned``) pilot.

The check is the desk's (:meth:`layers.planning.desk.Desk.check_site`), what the map draws is
:mod:`layers.planning.geometry`'s, the save is the store's publish (append: a new version, undone by a
rollback). The JSON endpoints answer every refusal in JSON with a bilingual ``detail`` (a 400, never a 500).
"""

from __future__ import annotations

import uuid

from flask import current_app, render_template, request, url_for
from flask_login import current_user

from layers import fieldtypes, jsontext
from layers.load import read_document
from layers.planning import engine, geometry
from layers.planning.desk import PLACES, SITES
from layers.planning.kinds import CATEGORIES, outdoor_dining_kind
from layers.planning.results import STATUSES
from layers.problems import Report
from layers.registry import REGISTRY
from layers.store import Conflict

from .. import mapshell
from ..db import catalog_changed, get_basemaps, get_desk, get_staff_catalog, get_store
from . import bp

#: The permit fields the check form offers (those the rules read, and a name), in the form's order; a check
#: request may send any field of the outdoor-dining kind, and nothing else.
FORM_FIELDS = ("name", "opening_hours", "clear_walkway_m", "capacity", "season", "operator", "district", "source")
_KEYS = {"geometry", "properties", "site_id"}
_TEXT_LIMIT = 500
#: The largest check request read (a seating area of engine.MAX_VERTICES points is well under it).
MAX_BODY_BYTES = 1 << 20
#: The status a saved site gets (layers/commonfields.py ``_STATUS``: a proposal, not yet a pilot). Its
#: ``source`` is what the form says, one of the layer's own (``_SOURCE``); there is no default.
SAVED_STATUS = "planned"
#: Where a checked site is saved: the staff-only proposals layer (a proposal, passing or not, is not on the public
#: map; an approved one is added to the pilot layer through the normal import or editor).
PROPOSALS = "outdoor_dining_proposals"


def _fields() -> dict:
    return {f.name: f for f in outdoor_dining_kind().fields}


def _refuse(detail: str, status: int = 400, **extra):
    return {"detail": detail, **extra}, status


def _request_body():
    """The check request (geometry, properties, site_id), checked; or the 400 that says what is wrong."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return None, _refuse(f"请求过大（{request.content_length:,} 字节）· the request is larger than {MAX_BODY_BYTES:,} "
                             f"bytes: a site is a point or a seating area of at most {engine.MAX_VERTICES:,} points", 413)
    report = Report("check")
    body = jsontext.parse_json(request.get_data(), report)
    if body is jsontext.REFUSED:
        return None, _refuse("请求不是有效的 JSON · the request is not valid JSON",
                             problems=[p.to_dict() for p in report.errors])
    if not isinstance(body, dict):
        return None, _refuse('应为 JSON 对象 {"geometry", "properties", "site_id"} · expected a JSON object '
                             '{"geometry", "properties", "site_id"}')
    unknown = sorted(set(body) - _KEYS)
    if unknown:
        return None, _refuse(f"不认识的字段 · unknown field {', '.join(map(repr, unknown))[:200]}; expected "
                             f"{', '.join(sorted(_KEYS))}", field=unknown[0][:80])
    properties = {} if body.get("properties") is None else body["properties"]
    if not isinstance(properties, dict):
        return None, _refuse("properties 应为对象 · properties must be an object", field="properties")
    known = _fields()
    for name, value in properties.items():
        if name not in known:
            return None, _refuse(f"外摆点没有字段 {name[:80]!r} · outdoor-dining sites have no field {name[:80]!r}",
                                 field=f"properties.{name[:80]}")
        if value is not None and not isinstance(value, (str, int, float)):
            return None, _refuse(f"{name} 应为文字或数字 · {name} must be text or a number",
                                 field=f"properties.{name}")
        if isinstance(value, str) and len(value) > _TEXT_LIMIT:
            return None, _refuse(f"{name} 太长 · {name} is longer than {_TEXT_LIMIT} characters",
                                 field=f"properties.{name}")
    for name, value in list(properties.items()):  # each value by its field's own rule, as an import checks it
        fld = known[name]
        if value is None or (isinstance(value, str) and not value.strip()) or name in ("source", "district") or \
                fieldtypes.of(fld).schema.get("format") == "opening-hours" or fld.type == "opening_hours":
            continue  # source and district are checked when a site is saved; hours that do not parse make the
            # rules that need them say "cannot assess: hours …" (as for a stored site), not a refusal
        try:
            properties[name] = fieldtypes.from_text(fld, value.strip()) if isinstance(value, str) else value
            reason = fieldtypes.check_value(fld, properties[name])
        except ValueError as exc:
            reason = str(exc)
        if reason:
            return None, _refuse(f"「{fld.zh}」{reason.split(' · ')[0]} · {fld.en} ({name}): {reason.split(' · ', 1)[-1]}",
                                 field=f"properties.{name}")
    site_id = body.get("site_id")
    if site_id is not None:
        catalog = get_staff_catalog()
        pilots = catalog.get(SITES).layer if SITES in catalog else None
        if not isinstance(site_id, str) or pilots is None or site_id not in set(map(str, pilots.ids)):
            return None, _refuse(f"没有此外摆点 · there is no outdoor-dining pilot {str(site_id)[:80]!r}",
                                 field="site_id")
    clean = {k: v.strip() if isinstance(v, str) else v for k, v in properties.items()}
    clean = {k: v for k, v in clean.items() if v is not None and v != ""}
    return {"geometry": body.get("geometry"), "properties": clean, "site_id": site_id}, None


def _checked(body: dict):
    """(desk, site geometry, result), or the 400 naming what makes the geometry uncheckable."""
    desk = get_desk()
    try:
        site = engine.site_geometry(body["geometry"])
    except ValueError as exc:
        return None, _refuse(str(exc), field="geometry")
    result = desk.check_site(body["geometry"], body["properties"], site_id=body["site_id"])
    return (desk, site, result), None


def _label(status: str) -> dict:
    zh, en = STATUSES[status]
    return {"status": status, "zh": zh, "en": en}


@bp.get("/check")
def check():
    """The check map and its panel."""
    offered = get_basemaps()
    basemap = offered[current_app.config["BASEMAP"]]
    if basemap.crs != "wgs84":  # sites are drawn in WGS-84; shifted tiles would misplace them
        basemap = offered["none"]
    shell = mapshell.checker(basemap)
    desk = get_desk()
    kinds = {kind_id: get_staff_catalog().get(kind_id).kind.to_public()
             for kind_id in (SITES, PROPOSALS, PLACES, "complaints") if kind_id in get_staff_catalog()}
    fields = _fields()
    config = dict(shell.config, kinds=kinds,
                  urls={"check": url_for("planning.check_json"), "save": url_for("planning.check_save"),
                        "layers": {k: url_for("staff.data", layer_id=k) for k in kinds},
                        "history": url_for("staff.history", layer_id=PROPOSALS),
                        "districts": url_for("api.layer", layer_id="districts")},
                  form=[dict(next(f for f in kinds.get(SITES, outdoor_dining_kind().to_public())["fields"]
                                  if f["name"] == name)) for name in FORM_FIELDS if name in fields],
                  statuses={k: list(v) for k, v in STATUSES.items()}, categories={k: list(v) for k, v in CATEGORIES.items()},
                  rules=[{"id": r.id, "title": {"zh": r.title_zh, "en": r.title_en}, "severity": r.severity}
                         for r in desk.ruleset],
                  ruleset=desk.ruleset.version, can_save=current_user.can_edit(PROPOSALS),
                  save_layer={"id": PROPOSALS, "zh": REGISTRY[PROPOSALS].zh, "en": REGISTRY[PROPOSALS].en})
    return render_template("planning/check.html", shell=shell, config=config, ruleset=desk.ruleset)


@bp.post("/check.json")
def check_json():
    """Check one site: the verdicts (SiteResult.to_dict()), the overall status, the ruleset and data versions,
    and what the map draws (the rules' buffers, the distance lines and outlines of the places listed)."""
    body, refused = _request_body()
    if refused:
        return refused
    checked, refused = _checked(body)
    if refused:
        return refused
    desk, site, result = checked
    return {"result": result.to_dict(), "overall": _label(result.status),
            "ruleset": {"version": desk.ruleset.version, "digest": desk.ruleset.digest},
            "data": desk.data_versions(),
            "site": {"type": site.geom_type, "area_m2": geometry.area_m2(site),
                     "point": geometry.geojson(geometry.site_point(site)),
                     "district": geometry.district_of(site, desk.layer("districts"))},
            **geometry.overlay(site, result, desk.ruleset, desk.layer(PLACES))}


@bp.post("/check/save.json")
def check_save():
    """Save the checked site as a new outdoor-dining pilot with status ``planned`` (append: nothing existing
    changes; a new version, undone by a rollback). A drawn area is saved as its point, with its area."""
    if not current_user.can_edit(PROPOSALS):
        return _refuse(f"你不能修改拟设外摆点图层 · you may not change {PROPOSALS}", 403)
    body, refused = _request_body()
    if refused:
        return refused
    checked, refused = _checked(body)
    if refused:
        return refused
    desk, site, result = checked
    props = dict(body["properties"])
    props["status"] = SAVED_STATUS
    if site.geom_type != "Point" and "area_m2" not in props:
        props["area_m2"] = geometry.area_m2(site)
    if not props.get("district"):
        found = geometry.district_of(site, desk.layer("districts"))
        if found:
            props["district"] = found
    zh, en = STATUSES[result.status]
    version = desk.ruleset.version
    props.setdefault("note", f"规划工作台单点检查提出，按规则第 {version} 版检查结果：{zh} · proposed from the planning "
                             f"desk's site check; verdict against ruleset version {version}: {en}")
    feature = {"type": "Feature", "id": f"od-plan-{uuid.uuid4().hex[:10]}", "properties": props,
               "geometry": geometry.geojson(geometry.site_point(site))}
    layer = read_document({"type": "FeatureCollection", "features": [feature]}, REGISTRY[PROPOSALS],
                          source="planning check")
    if not layer.report.ok or len(layer) != 1:
        return _refuse("未保存，请先修正 · not saved: fix these first",
                       problems=[p.to_dict() for p in layer.report.errors])
    name = props.get("name", "")
    try:
        new = get_store().publish(layer, author=current_user.name, mode="append", source="planning desk check",
                                  message=f"单点检查后新增规划外摆点 {name}（规则第 {version} 版：{zh}）· added from the "
                                          f"site check, ruleset version {version}: {en}", confirmed=(0, 0))
    except Conflict as exc:  # another publish at the same moment: nothing was saved
        return _refuse(f"未保存 · not saved: {exc}", 409)
    catalog_changed()
    return {"version": new.number, "added": new.added, "id": feature["id"], "name": name,
            "layer": PROPOSALS, "history": url_for("staff.history", layer_id=PROPOSALS)}
