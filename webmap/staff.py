"""Staff pages: import with a validation report and a preview before publishing, history, diff, rollback,
quarantine download. Every write needs an account that may edit the layer, and a CSRF token.

An import is layers.imports' (the same service as ``flask --app webmap layers import``): these pages gather the
person's options from the form, keep the upload between its preview and its publish (webmap.uploads), and
render what the service returns.

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

from layers import accounts, jsontext
from layers.changes import history_rows
from layers.imports import CRS_CHOICES, ImportFile, OptionError, Options, source_choices
from layers.load import read_document
from layers.problems import Report
from layers.readers import SUFFIXES
from layers.registry import KINDS
from layers.store import Conflict, Unconfirmed

from . import errors, mapshell, records
from .db import catalog_changed, get_basemaps, get_importer, get_kind, get_staff_catalog, get_store
from .uploads import TOKEN, uploads
from .uploads import QuotaExceeded as UploadQuotaExceeded

log = logging.getLogger(__name__)
bp = Blueprint("staff", __name__, url_prefix="/staff")
#: The choices the import form offers, each (value, label); the first is the default. The encoding's default
#: reads the file as it declares (UTF-8 when it declares nothing); the mode's is append, which cannot remove
#: anything (replace must be chosen). Every value is checked by layers.imports.Options.check.
OPTIONS = {"crs": [(c, c) for c in CRS_CHOICES],
           "encoding": [("", "自动 as the file declares (UTF-8 if it does not)"), ("utf-8", "utf-8"),
                        ("gb18030", "gb18030 (GBK)")],
           "mode": [("append", "append"), ("replace", "replace")]}

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


def _editable(layer_id: str):
    kind = get_kind(layer_id)
    if not current_user.can_edit(layer_id):
        abort(403, f"你不能修改此图层 You may not change {layer_id}")
    return kind


def _form_version(name: str) -> int:
    number = version_number(request.form.get(name, ""))
    if number is None:
        abort(400, f"版本号无效 {name}={request.form.get(name, '')[:20]!r} is not a version number (digits 0-9)")
    return number


def _checked(make) -> Options:
    """Options by layers.imports' rules (the command line's); a value that breaks one is a 400 saying why."""
    try:
        return make()
    except OptionError as exc:
        abort(400, str(exc))


def _options(form) -> Options:
    """The import form's options: crs, encoding, mode, and the boxes repair and strict."""
    return _checked(lambda: Options.check(crs=form.get("crs", "wgs84"), encoding=form.get("encoding") or None,
                                          mode=form.get("mode", "append"), repair=bool(form.get("repair")),
                                          strict=bool(form.get("strict"))))


@bp.get("/")
@login_required
def index():
    versions = get_store().live_versions()
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
                               options=options.to_dict())
    except UploadQuotaExceeded as exc:
        raise QuotaExceeded(str(exc)) from None
    return _preview(get_importer().check(kind, ImportFile(upload.path, file.filename), options), upload.token)


def _waiting(layer_id: str):
    """The person's upload of ``layer_id`` that the form's token names: 400 when it no longer waits (or the
    token is not one we issue), 403 when it is someone else's."""
    token = request.form.get("token", "")
    if not TOKEN.fullmatch(token):
        abort(400, "上传编号无效 This is not an upload token of ours; upload the file again")
    upload = uploads().get(token)
    if upload is None:
        abort(400, _EXPIRED)
    if upload.meta["layer"] != layer_id or upload.meta["user"] != current_user.name:
        abort(403, "这不是你的上传 This upload is not yours")
    return upload


def _check_waiting(kind, upload, options: Options | None = None):
    """The import service's check of a waiting upload, read with its kept options (or ``options``)."""
    options = options or _checked(lambda: Options.from_dict(upload.meta["options"]))
    return get_importer().check(kind, ImportFile(upload.path, upload.meta["name"]), options)


def _preview(checked, token: str, *, refusal: str = "", status: int = 200):
    """The preview: the report, the fixes it suggests, the map, what publishing would do, and the form that
    publishes (or, when nothing may be published, ends the import keeping the refused features)."""
    return render_template("staff/preview.html", kind=checked.kind, checked=checked, layer=checked.layer,
                           token=token, options=checked.options, name=checked.file.label, expected=checked.expected,
                           preview=_preview_map(checked.kind, checked.layer), plan=checked.plan, refusal=refusal,
                           fixes=checked.fixes, source_choices=source_choices()), status


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
    """End the import of the waiting upload, as the command line does: publish its accepted features, or, when
    nothing may be published, publish nothing; its refused features are kept in quarantine either way."""
    kind = _editable(layer_id)
    expected = _form_version("expected")
    upload = _waiting(layer_id)
    confirmed = _confirmed()
    checked = _check_waiting(kind, upload)
    try:
        outcome = get_importer().finish(checked, author=current_user.name, expected_version=expected,
                                        confirmed=confirmed)
    except Unconfirmed as exc:  # the preview again, with what it would really do, to confirm or leave
        return _preview(checked, upload.token, refusal=str(exc), status=409)
    except Conflict as exc:
        return render_template("error.html", status=409, title="Conflict", detail=str(exc)), 409
    uploads().drop(upload.token)
    if outcome.published:
        catalog_changed()  # show the new version at once in this process
    for message in outcome.messages:
        flash(message)
    return redirect(url_for("staff.history", layer_id=layer_id))


# -- Speaking the clerk's language: the preview map over the districts and the live layer, and the fixes the
# -- import service finds in the report, each re-reading the same waiting upload with one option changed.

def _live(layer_id: str):
    """The live layer ``layer_id`` (a layers.load.Layer), or None."""
    catalog = get_staff_catalog()
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


_ROWS = re.compile(r"[0-9]{1,7}(,[0-9]{1,7}){0,9999}")


@bp.post("/layers/<layer_id>/reread")
@login_required
def reread(layer_id: str):
    """A fix offered on the preview: read the same waiting upload again with one option changed (no new
    upload); the publish then reads it the same way."""
    kind = _editable(layer_id)
    upload = _waiting(layer_id)
    options, fix = _checked(lambda: Options.from_dict(upload.meta["options"])), request.form.get("fix", "")
    if fix == "swap":
        rows = request.form.get("rows", "")
        if not _ROWS.fullmatch(rows):
            abort(400, "行号无效 rows must be feature numbers separated by commas")
        options = _checked(lambda: options.changed(swap=[*options.swap, *(int(r) for r in rows.split(","))]))
    elif fix in ("crs", "encoding"):
        options = _checked(lambda: options.changed(**{fix: request.form.get(fix, "")}))
    elif fix == "repair":
        options = _checked(lambda: options.changed(repair=True))
    elif fix == "source":
        options = _checked(lambda: options.changed(source=request.form.get("source", "")))
    else:
        abort(400, "未知的修正 Unknown fix: choose swap, crs, encoding, repair or source")
    upload = uploads().set_options(upload.token, options.to_dict())
    if upload is None:
        abort(400, _EXPIRED)
    return _preview(_check_waiting(kind, upload, options), upload.token)


@bp.get("/layers/<layer_id>/edit")
@login_required
def edit(layer_id: str):
    kind = _editable(layer_id)
    offered = get_basemaps()
    basemap = offered[current_app.config["BASEMAP"]]
    if basemap.crs != "wgs84":  # edits are made in WGS-84; shifted tiles would misplace them
        basemap = offered["none"]
    shell = mapshell.editor(kind, basemap)
    config = dict(shell.config, data=url_for("staff.data", layer_id=layer_id), save=url_for("staff.save", layer_id=layer_id),
                  context=url_for("api.layer", layer_id="districts"),
                  version=get_store().live_versions().get(layer_id, 0))
    return render_template("staff/edit.html", kind=kind, shell=shell, config=config)


@bp.get("/layers/<layer_id>/data")
@login_required
def data(layer_id: str):
    """The live layer as the editor loads it: what /api/layers/<id> serves (WGS-84), for staff-only layers too
    (which the public /api does not serve)."""
    kind = get_kind(layer_id)
    catalog = get_staff_catalog()
    if kind.id not in catalog:
        errors.unknown_layer(layer_id, [k.id for k in KINDS])
    encoded = catalog.get(kind.id).encoding("wgs84")
    response = current_app.response_class(encoded.body, mimetype="application/geo+json")
    response.headers["Cache-Control"] = "private, no-cache"
    response.set_etag(f"{encoded.etag}-id")
    return response.make_conditional(request)


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
        version = get_store().publish(layer, author=current_user.name, mode="replace", source="browser edit",
                                   expected_version=expected, message="edited in the browser")
    except Conflict as exc:
        return {"detail": str(exc)}, 409
    catalog_changed()
    return {"version": version.number, "added": version.added, "changed": version.changed,
            "removed": version.removed, "unchanged": version.unchanged}


@bp.get("/layers/<layer_id>/history")
@login_required
def history(layer_id: str):
    kind = get_kind(layer_id)
    live = get_store().live_versions().get(layer_id, 0)
    return render_template("staff/history.html", kind=kind, rows=reversed(history_rows(get_store(), layer_id)),
                           live=live, can_edit=current_user.can_edit(layer_id),
                           quarantined=get_store().quarantine_imports(layer_id))


@bp.get("/layers/<layer_id>/versions/<number:number>")
@login_required
def diff(layer_id: str, number: int):
    """A version's changes: each field before → after, geometry moves in metres (records.layer_diff)."""
    kind, changes = records.layer_diff(layer_id, number)
    version = next(v for v in history_rows(get_store(), layer_id) if v["number"] == number)
    return render_template("staff/diff.html", kind=kind, number=number, diff=changes, version=version,
                           limit=records.PAGE_LIMIT)


@bp.get("/layers/<layer_id>/rollback/<number:number>")
@login_required
def rollback_confirm(layer_id: str, number: int, refusal: str = "", status: int = 200):
    """Before a rollback: what it would change (counts and names), and the button (and box) that does it."""
    kind = _editable(layer_id)
    try:
        plan = get_store().rollback_plan(kind, number)
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
        version = get_store().rollback(kind, number, author=current_user.name, expected_version=expected,
                                    confirmed=confirmed)
    except LookupError as exc:
        abort(404, f"没有此版本 {exc}")
    except Unconfirmed as exc:
        return rollback_confirm(layer_id, number, refusal=str(exc), status=409)
    except Conflict as exc:
        return render_template("error.html", status=409, title="Conflict", detail=str(exc)), 409
    catalog_changed()
    flash(f"第 {version.number} 版恢复了第 {number} 版 · Version {version.number} restores version {number}")
    return redirect(url_for("staff.history", layer_id=layer_id))


@bp.get("/layers/<layer_id>/quarantine/<number:import_id>.geojson")
@login_required
def quarantine(layer_id: str, import_id: int):
    """The features an import refused, for those who may change the layer (they hold what was sent)."""
    _editable(layer_id)
    body = json.dumps(get_store().quarantine_collection(layer_id, import_id), ensure_ascii=False).encode()
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
        if get_store().name_taken(form.name.data):
            flash(f"用户 {form.name.data} 已存在 A user named {form.name.data} exists already")
        else:
            get_store().create_user(form.name.data, generate_password_hash(form.password.data), form.role.data,
                                 form.layers.data if form.role.data == "editor" else [], actor=current_user.name)
            flash(f"已创建 Created {form.role.data} {form.name.data}")
            return redirect(url_for("staff.users"))
    return render_template("staff/users.html", form=form, users=get_store().users())
