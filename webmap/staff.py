"""Staff pages: import with a validation report and a preview before publishing, history, diff, rollback,
quarantine download. Every write needs an account that may edit the layer, and a CSRF token."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.security import generate_password_hash
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, ValidationError

from layers import accounts
from layers.area import DISTRICT_NAMES
from layers.load import read_layer
from layers.readers import SUFFIXES, check_crs, read_file
from layers.registry import KINDS, REGISTRY, get
from layers.store import Conflict

from . import mapshell

bp = Blueprint("staff", __name__, url_prefix="/staff")
OPTIONS = {"crs": ("wgs84", "gcj02", "bd09"), "encoding": ("utf-8", "gb18030"), "mode": ("replace", "append")}


def _store():
    return current_app.extensions["store"]


def _editable(layer_id: str):
    if layer_id not in REGISTRY:
        abort(404, f"no layer {layer_id!r}")
    if not current_user.can_edit(layer_id):
        abort(403, f"你不能修改此图层 You may not change {layer_id}")
    return get(layer_id)


def _uploads() -> Path:
    return Path(current_app.config["UPLOAD_DIR"] or Path(current_app.instance_path) / "uploads")


def _forget_old_uploads(max_age_s: float = 24 * 3600) -> None:
    """Uploads previewed but never published are dropped after a day."""
    if not _uploads().exists():
        return
    now = time.time()
    for folder in _uploads().iterdir():
        if folder.is_dir() and now - folder.stat().st_mtime > max_age_s:
            shutil.rmtree(folder, ignore_errors=True)


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
    _forget_old_uploads()
    token = uuid.uuid4().hex
    folder = _uploads() / token
    folder.mkdir(parents=True)
    path = folder / f"upload{Path(file.filename).suffix.lower()}"  # the user's name is kept in meta.json only
    file.save(path)
    (folder / "meta.json").write_text(json.dumps({"layer": layer_id, "options": options, "name": file.filename,
                                                  "user": current_user.name}), "utf-8")
    return _preview(kind, token, path, options, file.filename)


def _read(kind, path: Path, options: dict, name: str):
    encoding = None if options["encoding"] == "utf-8" and path.suffix.lower() not in (".geojson", ".json") else options["encoding"]
    return read_file(path, kind, encoding=encoding, crs=options["crs"], source=name)


def _preview(kind, token: str, path: Path, options: dict, name: str):
    layer = _read(kind, path, options, name)
    expected = _store().live_versions().get(kind.id, 0)
    shell = mapshell.preview(kind, layer.geometries) if len(layer) else None
    return render_template("staff/preview.html", kind=kind, layer=layer, token=token, options=options, name=name,
                           expected=expected, preview=shell)


@bp.post("/layers/<layer_id>/publish")
@login_required
def publish(layer_id: str):
    kind = _editable(layer_id)
    token = request.form.get("token", "")
    folder = _uploads() / token
    if not token.isalnum() or not (folder / "meta.json").exists():
        abort(400, "上传已过期，请重新上传 This upload is no longer waiting; upload the file again")
    meta = json.loads((folder / "meta.json").read_text("utf-8"))
    if meta["layer"] != layer_id or meta["user"] != current_user.name:
        abort(403, "这不是你的上传 This upload is not yours")
    path = next(p for p in folder.iterdir() if p.name.startswith("upload"))
    layer = _read(kind, path, meta["options"], meta["name"])
    if not len(layer):
        abort(400, "没有可发布的要素 No feature was accepted; nothing to publish")
    try:
        version = _store().publish(layer, author=current_user.name, mode=meta["options"]["mode"], source=meta["name"],
                                   expected_version=int(request.form.get("expected", "-1")))
    except Conflict as exc:
        return render_template("error.html", status=409, title="Conflict", detail=str(exc)), 409
    shutil.rmtree(folder, ignore_errors=True)
    current_app.extensions["catalog_checked"] = 0  # show the new version at once in this process
    flash(f"已发布 {kind.zh} 第 {version.number} 版 · Published {kind.en} version {version.number}"
          + (f"; {len(layer.refused)} refused features are in quarantine" if layer.refused else ""))
    return redirect(url_for("staff.history", layer_id=layer_id))


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
                  version=_store().live_versions().get(layer_id, 0), districts=list(DISTRICT_NAMES))
    return render_template("staff/edit.html", kind=kind, shell=shell, config=config)


@bp.post("/layers/<layer_id>/edits")
@login_required
def save(layer_id: str):
    """Save the edited layer (a whole FeatureCollection) through the same check, version and audit path."""
    kind = _editable(layer_id)
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("expected_version"), int):
        return {"detail": "expected a JSON object with expected_version and collection"}, 400
    layer = read_layer(json.dumps(body.get("collection")).encode(), kind, source="edits")
    if not layer.report.ok:
        return {"detail": "修改未保存 Not saved: fix these first", "problems": [p.to_dict() for p in layer.report.errors]}, 400
    try:
        version = _store().publish(layer, author=current_user.name, mode="replace", source="browser edit",
                                   expected_version=body["expected_version"], message="edited in the browser")
    except Conflict as exc:
        return {"detail": str(exc)}, 409
    current_app.extensions["catalog_checked"] = 0
    return {"version": version.number, "added": version.added, "changed": version.changed,
            "removed": version.removed, "unchanged": version.unchanged}


@bp.get("/layers/<layer_id>/history")
@login_required
def history(layer_id: str):
    if layer_id not in REGISTRY:
        abort(404, f"no layer {layer_id!r}")
    live = _store().live_versions().get(layer_id, 0)
    return render_template("staff/history.html", kind=get(layer_id), rows=reversed(_store().history(layer_id)),
                           live=live, can_edit=current_user.can_edit(layer_id),
                           quarantine=_store().last_quarantine(layer_id))


@bp.get("/layers/<layer_id>/versions/<int:number>")
@login_required
def diff(layer_id: str, number: int):
    if layer_id not in REGISTRY:
        abort(404, f"no layer {layer_id!r}")
    return render_template("staff/diff.html", kind=get(layer_id), number=number, diff=_store().diff(layer_id, number))


@bp.post("/layers/<layer_id>/rollback")
@login_required
def rollback(layer_id: str):
    kind = _editable(layer_id)
    number = request.form.get("version", "")
    if not number.isdigit():
        abort(400, "version must be a version number")
    try:
        version = _store().rollback(kind, int(number), author=current_user.name)
    except LookupError as exc:
        abort(404, str(exc))
    current_app.extensions["catalog_checked"] = 0
    flash(f"第 {version.number} 版恢复了第 {number} 版 · Version {version.number} restores version {number}")
    return redirect(url_for("staff.history", layer_id=layer_id))


@bp.get("/layers/<layer_id>/quarantine/<int:import_id>.geojson")
@login_required
def quarantine(layer_id: str, import_id: int):
    body = json.dumps(_store().quarantine_collection(layer_id, import_id), ensure_ascii=False)
    response = Response(body, mimetype="application/geo+json")
    response.headers["Content-Disposition"] = f'attachment; filename="quarantine-{layer_id}-{import_id}.geojson"'
    return response


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
        if _store().user(form.name.data):
            flash(f"用户 {form.name.data} 已存在 A user named {form.name.data} exists already")
        else:
            _store().create_user(form.name.data, generate_password_hash(form.password.data), form.role.data,
                                 form.layers.data if form.role.data == "editor" else [], actor=current_user.name)
            flash(f"已创建 Created {form.role.data} {form.name.data}")
            return redirect(url_for("staff.users"))
    return render_template("staff/users.html", form=form, users=_store().users())
