"""Staff pages: import with a validation report and a preview before publishing, history, diff, rollback,
quarantine download. Every write needs an account that may edit the layer, and a CSRF token.

What a client sends is checked before it is used: version numbers by one rule (:func:`version_number`), upload
tokens against the form the server issues, before any file is touched; the editor's JSON through the strict
reader (layers.jsontext). A bad value is a 400, 403 or 404 with a message, never a 500.
"""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import BaseConverter
from werkzeug.security import generate_password_hash
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, ValidationError

from layers import accounts, coords, jsontext
from layers.area import check_districts
from layers.changes import history_rows
from layers.load import read_document
from layers.problems import Report
from layers.readers import SUFFIXES, check_crs, read_file
from layers.registry import KINDS, REGISTRY, get
from layers.store import Conflict, Unconfirmed

from . import errors, mapshell, records
from .uploads import TOKEN, uploads
from .uploads import QuotaExceeded as UploadQuotaExceeded

log = logging.getLogger(__name__)
bp = Blueprint("staff", __name__, url_prefix="/staff")
#: The first of each is the default: append, which cannot remove anything (replace must be chosen).
OPTIONS = {"crs": ("wgs84", "gcj02", "bd09"), "encoding": ("utf-8", "gb18030"), "mode": ("append", "replace")}

#: The one rule for a version (or import) number a client sends, in a form, a JSON body or a URL: the ASCII
#: digits 0-9 only (str.isdigit and int() also take "²" and "١"), at most nine of them (the store's integers).
VERSION_DIGITS = "[0-9]{1,9}"
MAX_VERSION = 10 ** 9 - 1
_EXPIRED = "上传已过期，请重新上传 This upload is no longer waiting; upload the file again"


class QuotaExceeded(HTTPException):
    """413 for a user's waiting uploads over UPLOAD_QUOTA_BYTES (not the request's size: that is werkzeug's own)."""

    code = 413


def version_number(value) -> int | None:
    """``value`` (form text, or a JSON number) as a version number, or None when it is not one."""
    if type(value) is int:  # not bool
        return value if 0 <= value <= MAX_VERSION else None
    return int(value) if isinstance(value, str) and re.fullmatch(VERSION_DIGITS, value) else None


class NumberConverter(BaseConverter):
    """``<number:...>`` in a URL: a version number by :func:`version_number`'s rule (werkzeug's int takes "١")."""

    regex = VERSION_DIGITS

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(int(value))


@bp.record_once
def _register_converter(state) -> None:
    state.app.url_map.converters["number"] = NumberConverter


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    """The editor's save endpoint answers every error in JSON (its page reads JSON); pages answer as elsewhere."""
    if request.endpoint != "staff.save":
        return errors.handle_http(exc)
    if isinstance(exc, CSRFError):
        detail = "页面已过期，请重新加载后再修改 The page has expired (its CSRF token): reload it and make the change again"
    elif isinstance(exc, RequestEntityTooLarge):
        detail = "修改太大，未保存 The edits are larger than the server accepts; nothing was saved"
    else:
        detail = exc.description or exc.name
    return {"status": exc.code, "title": exc.name, "detail": detail}, exc.code


def _store():
    return current_app.extensions["store"]


def _kind(layer_id: str):
    if layer_id not in REGISTRY:
        abort(404, f"没有此图层 There is no layer {layer_id[:80]!r}")
    return get(layer_id)


def _editable(layer_id: str):
    kind = _kind(layer_id)
    if not current_user.can_edit(layer_id):
        abort(403, f"你不能修改此图层 You may not change {layer_id}")
    return kind


def _form_version(name: str) -> int:
    number = version_number(request.form.get(name, ""))
    if number is None:
        abort(400, f"版本号无效 {name}={request.form.get(name, '')[:20]!r} is not a version number (digits 0-9)")
    return number


def _options(source) -> dict:
    chosen = {}
    for name, allowed in OPTIONS.items():
        value = source.get(name, allowed[0])
        if name == "crs":
            try:
                value = check_crs(value)  # the one rule for a CRS, as on the command line
            except ValueError as exc:
                abort(400, str(exc))
        elif value not in allowed:
            abort(400, f"{name}={value!r}: choose one of {', '.join(allowed)}")
        chosen[name] = value
    return chosen


@bp.get("/")
@login_required
def index():
    versions = _store().live_versions()
    layers = [(kind, versions.get(kind.id, 0), current_user.can_edit(kind.id)) for kind in KINDS]
    return render_template("staff/index.html", layers=layers)


@bp.route("/layers/<layer_id>/import", methods=["GET", "POST"])
@login_required
def upload(layer_id: str):
    kind = _editable(layer_id)
    if request.method == "GET":
        return render_template("staff/import.html", kind=kind, options=OPTIONS, suffixes=SUFFIXES)
    options = _options(request.form)
    file = request.files.get("file")
    if file is None or not file.filename:
        abort(400, "请选择文件 Choose a file to upload")
    suffix = Path(file.filename).suffix.lower()
    if suffix not in SUFFIXES:
        abort(400, f"不支持的文件类型 Unsupported file type {suffix[:20] or '(none)'!r}; use one of {', '.join(SUFFIXES)} "
                   "(a Shapefile goes in a .zip)")
    try:
        upload = uploads().put(file.save, suffix, layer=layer_id, user=current_user.name, name=file.filename,
                               options=options)
    except UploadQuotaExceeded as exc:
        raise QuotaExceeded(str(exc)) from None
    return _preview(kind, upload.token, upload.path, options, file.filename)


def _read(kind, path: Path, options: dict, name: str):
    encoding = None if options["encoding"] == "utf-8" and path.suffix.lower() not in (".geojson", ".json") else options["encoding"]
    layer = read_file(path, kind, encoding=encoding, crs=options["crs"], source=name, swap=options.get("swap", ()))
    check_districts(layer, _live("districts"))
    return layer


def _preview(kind, token: str, path: Path, options: dict, name: str, *, layer=None, refusal: str = "",
             status: int = 200):
    layer = layer if layer is not None else _read(kind, path, options, name)
    plan = _store().plan(layer, options["mode"]) if len(layer) else None  # what publishing would do, for the person
    expected = plan.version if plan else _store().live_versions().get(kind.id, 0)
    shell = _preview_map(kind, layer)
    return render_template("staff/preview.html", kind=kind, layer=layer, token=token, options=options, name=name,
                           expected=expected, preview=shell, plan=plan, refusal=refusal,
                           fixes=_fix_offers(kind, layer, options, path)), status


def _confirmed() -> tuple[int, int]:
    """The (changed, removed) counts the person confirmed on the preview (none ticked: nothing may be lost)."""
    value = request.form.get("confirm", "0:0")
    match = re.fullmatch(f"({VERSION_DIGITS}):({VERSION_DIGITS})", value)
    if match is None:
        abort(400, f"确认无效 confirm={value[:30]!r} is not a confirmation of ours; upload the file again")
    return int(match.group(1)), int(match.group(2))


@bp.post("/layers/<layer_id>/publish")
@login_required
def publish(layer_id: str):
    kind = _editable(layer_id)
    expected = _form_version("expected")
    token = request.form.get("token", "")
    if not TOKEN.fullmatch(token):
        abort(400, "上传编号无效 This is not an upload token of ours; upload the file again")
    upload = uploads().get(token)
    if upload is None:
        abort(400, _EXPIRED)
    meta, path = upload.meta, upload.path
    if meta["layer"] != layer_id or meta["user"] != current_user.name:
        abort(403, "这不是你的上传 This upload is not yours")
    layer = _read(kind, path, meta["options"], meta["name"])
    if not len(layer):
        abort(400, "没有可发布的要素 No feature was accepted; nothing to publish")
    confirmed = _confirmed()
    try:
        version = _store().publish(layer, author=current_user.name, mode=meta["options"]["mode"], source=meta["name"],
                                   expected_version=expected, confirmed=confirmed)
    except Unconfirmed as exc:  # the preview again, with what it would really do, to confirm or leave
        return _preview(kind, token, path, meta["options"], meta["name"], layer=layer, refusal=str(exc), status=409)
    except Conflict as exc:
        return render_template("error.html", status=409, title="Conflict", detail=str(exc)), 409
    uploads().drop(token)
    current_app.extensions["catalog_checked"] = 0  # show the new version at once in this process
    if version.unchanged:
        flash(f"没有改动，第 {version.number} 版仍然有效 · Nothing changed: {kind.en} version {version.number} stays live")
    else:
        flash(f"已发布 {kind.zh} 第 {version.number} 版 · Published {kind.en} version {version.number}"
              + (f"; {len(layer.refused)} refused features are in quarantine" if layer.refused else ""))
    return redirect(url_for("staff.history", layer_id=layer_id))


# -- Speaking the clerk's language: the preview map over the districts and the live layer, and fixes offered
# -- for what the report diagnoses, each re-reading the same waiting upload with one option changed.

def _live(layer_id: str):
    """The live layer ``layer_id`` (a layers.load.Layer), or None."""
    catalog = current_app.extensions["catalog"]
    return catalog.get(layer_id).layer if layer_id in catalog else None


def _names(layer) -> list:
    return [p.get("name") if isinstance(p.get("name"), str) else "" for p in layer.properties]


def _preview_map(kind, layer):
    """The new features over the district outlines and the layer's live features, with names."""
    live, districts = _live(kind.id), _live("districts")
    if not len(layer) and not (live is not None and len(live)):
        return None
    return mapshell.preview(kind, layer.geometries, names=_names(layer),
                            live=(live.geometries, _names(live)) if live is not None and len(live) else None,
                            districts=(districts.geometries, _names(districts)) if districts is not None else None)


def _fix_offers(kind, layer, options: dict, path: Path) -> dict:
    """What the preview page offers to re-read: rows to swap, another CRS (with a diagnosis when the features
    named like live ones lie where GCJ-02/BD-09 would put them), GB18030 text."""
    offers = {"swap": sorted({p.index for p in layer.report.fixes("swap")} - set(options.get("swap", ())))}
    offers["swap_places"] = [p.place for p in layer.report.fixes("swap")]
    offers["swap_names"] = [p.name or "" for p in layer.report.fixes("swap")]
    offers["gb18030"] = bool(layer.report.fixes("gb18030")) and options["encoding"] != "gb18030"
    live = _live(kind.id)
    offers["shift"] = (coords.diagnose_shift(layer, live)
                       if options["crs"] == "wgs84" and live is not None and len(layer) else None)
    # a file that carries its own CRS (GeoPackage, Shapefile) is read in it: the choice is for plain lon/lat
    offers["crs"] = [c for c in OPTIONS["crs"] if c != options["crs"]] if (len(layer) or layer.refused) and (
        path.suffix.lower() in (".csv", ".geojson", ".json", ".kml")) else []
    return offers


_ROWS = re.compile(r"[0-9]{1,7}(,[0-9]{1,7}){0,9999}")


@bp.post("/layers/<layer_id>/reread")
@login_required
def reread(layer_id: str):
    """A fix offered on the preview: read the same waiting upload again with one option changed (no new
    upload); the publish then reads it the same way."""
    kind = _editable(layer_id)
    token = request.form.get("token", "")
    upload = uploads().get(token) if TOKEN.fullmatch(token) else None
    if upload is None:
        abort(400, _EXPIRED)
    if upload.meta["layer"] != layer_id or upload.meta["user"] != current_user.name:
        abort(403, "这不是你的上传 This upload is not yours")
    options, fix = dict(upload.meta["options"]), request.form.get("fix", "")
    if fix == "swap":
        rows = request.form.get("rows", "")
        if not _ROWS.fullmatch(rows):
            abort(400, "行号无效 rows must be feature numbers separated by commas")
        options["swap"] = sorted(set(options.get("swap", ())) | {int(r) for r in rows.split(",")})
    elif fix in ("crs", "encoding"):
        options[fix] = _options({**options, fix: request.form.get(fix, "")})[fix]
    else:
        abort(400, "未知的修正 Unknown fix: choose swap, crs or encoding")
    upload = uploads().set_options(token, options)
    if upload is None:
        abort(400, _EXPIRED)
    return _preview(kind, token, upload.path, options, upload.meta["name"])


@bp.get("/layers/<layer_id>/edit")
@login_required
def edit(layer_id: str):
    kind = _editable(layer_id)
    offered = current_app.extensions["basemaps"]
    basemap = offered[current_app.config["BASEMAP"]]
    if basemap.crs != "wgs84":  # edits are made in WGS-84; shifted tiles would misplace them
        basemap = offered["none"]
    shell = mapshell.editor(kind, basemap)
    config = dict(shell.config, data=url_for("api.layer", layer_id=layer_id), save=url_for("staff.save", layer_id=layer_id),
                  context=url_for("api.layer", layer_id="districts"),
                  version=_store().live_versions().get(layer_id, 0))
    return render_template("staff/edit.html", kind=kind, shell=shell, config=config)


@bp.post("/layers/<layer_id>/edits")
@login_required
def save(layer_id: str):
    """Save the edited layer (a whole FeatureCollection) through the same check, version and audit path."""
    kind = _editable(layer_id)
    report = Report("edits")
    body = jsontext.parse_json(request.get_data(), report)
    expected = version_number(body.get("expected_version")) if isinstance(body, dict) else None
    if expected is None:
        return {"detail": "请求无效，未保存 Not saved: expected a JSON object with expected_version (a version number) "
                          "and collection", "problems": [p.to_dict() for p in report.errors]}, 400
    layer = read_document(body.get("collection"), kind, source="edits")
    if not layer.report.ok:
        return {"detail": "修改未保存 Not saved: fix these first", "problems": [p.to_dict() for p in layer.report.errors]}, 400
    try:
        version = _store().publish(layer, author=current_user.name, mode="replace", source="browser edit",
                                   expected_version=expected, message="edited in the browser")
    except Conflict as exc:
        return {"detail": str(exc)}, 409
    current_app.extensions["catalog_checked"] = 0
    return {"version": version.number, "added": version.added, "changed": version.changed,
            "removed": version.removed, "unchanged": version.unchanged}


@bp.get("/layers/<layer_id>/history")
@login_required
def history(layer_id: str):
    kind = _kind(layer_id)
    live = _store().live_versions().get(layer_id, 0)
    return render_template("staff/history.html", kind=kind, rows=reversed(history_rows(_store(), layer_id)),
                           live=live, can_edit=current_user.can_edit(layer_id),
                           quarantine=_store().last_quarantine(layer_id))


@bp.get("/layers/<layer_id>/versions/<number:number>")
@login_required
def diff(layer_id: str, number: int):
    """A version's changes: each field before → after, geometry moves in metres (records.layer_diff)."""
    kind, changes = records.layer_diff(layer_id, number)
    version = next(v for v in history_rows(_store(), layer_id) if v["number"] == number)
    return render_template("staff/diff.html", kind=kind, number=number, diff=changes, version=version,
                           limit=records.PAGE_LIMIT)


@bp.get("/layers/<layer_id>/rollback/<number:number>")
@login_required
def rollback_confirm(layer_id: str, number: int, refusal: str = "", status: int = 200):
    """Before a rollback: what it would change (counts and names), and the button (and box) that does it."""
    kind = _editable(layer_id)
    try:
        plan = _store().rollback_plan(kind, number)
    except LookupError as exc:
        abort(404, f"没有此版本 {exc}")
    return render_template("staff/rollback.html", kind=kind, number=number, plan=plan, refusal=refusal), status


@bp.post("/layers/<layer_id>/rollback")
@login_required
def rollback(layer_id: str):
    kind = _editable(layer_id)
    number = _form_version("version")
    expected, confirmed = _form_version("expected"), _confirmed()
    try:
        version = _store().rollback(kind, number, author=current_user.name, expected_version=expected,
                                    confirmed=confirmed)
    except LookupError as exc:
        abort(404, f"没有此版本 {exc}")
    except Unconfirmed as exc:
        return rollback_confirm(layer_id, number, refusal=str(exc), status=409)
    except Conflict as exc:
        return render_template("error.html", status=409, title="Conflict", detail=str(exc)), 409
    current_app.extensions["catalog_checked"] = 0
    flash(f"第 {version.number} 版恢复了第 {number} 版 · Version {version.number} restores version {number}")
    return redirect(url_for("staff.history", layer_id=layer_id))


@bp.get("/layers/<layer_id>/quarantine/<number:import_id>.geojson")
@login_required
def quarantine(layer_id: str, import_id: int):
    """The features an import refused, for those who may change the layer (they hold what was sent)."""
    _editable(layer_id)
    body = json.dumps(_store().quarantine_collection(layer_id, import_id), ensure_ascii=False).encode()
    return send_file(io.BytesIO(body), mimetype="application/geo+json", as_attachment=True,
                     download_name=f"quarantine-{layer_id}-{import_id}.geojson")


def _rule(check, *others):
    """A WTForms validator from a rule of layers.accounts (the CLI applies the same rules)."""
    def validate(form, field):
        why = check(field.data or "", *[form[name].data or "" for name in others])
        if why:
            raise ValidationError(why)
    return validate


class UserForm(FlaskForm):
    name = StringField("用户名 User name", validators=[DataRequired(), _rule(accounts.check_name)])
    password = PasswordField("密码 Password (10+, hard to guess)", validators=[DataRequired(),
                                                                           _rule(accounts.check_password, "name")])
    role = SelectField("角色 Role", choices=[SelectChoice("editor", "editor 编辑"), SelectChoice("admin", "admin 管理员")])
    layers = SelectMultipleField("可编辑图层 Layers (editors)",
                                 choices=[SelectChoice(k.id, f"{k.zh} {k.en}") for k in KINDS])


@bp.route("/users", methods=["GET", "POST"])
@login_required
def users():
    """Admins list and create staff accounts."""
    if current_user.role != "admin":
        abort(403, "只有管理员可以管理账户 Only admins manage accounts")
    form = UserForm()
    if form.validate_on_submit():
        if _store().name_taken(form.name.data):
            flash(f"用户 {form.name.data} 已存在 A user named {form.name.data} exists already")
        else:
            _store().create_user(form.name.data, generate_password_hash(form.password.data), form.role.data,
                                 form.layers.data if form.role.data == "editor" else [], actor=current_user.name)
            flash(f"已创建 Created {form.role.data} {form.name.data}")
            return redirect(url_for("staff.users"))
    return render_template("staff/users.html", form=form, users=_store().users())
