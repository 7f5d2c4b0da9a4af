"""Staff accounts beyond creating them (which is staff.users): for admins, an account's role and layers
(checkboxes), deactivation and reactivation, a password reset to a temporary password the user must change;
for everyone, changing their own password. The rules are layers.accounts' and the store's (never leave no
active admin); every change is audited by the store, and every POST carries the CSRF token (auth.csrf).

A change that takes access away (fewer layers, admin to editor, deactivation, a reset that ends the user's
sessions) is shown on a page saying what will happen before it is made. A user whose password was reset
reaches only the change-password page until they have set their own.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user
from werkzeug.security import check_password_hash, generate_password_hash

from layers import accounts
from layers.registry import KINDS, REGISTRY

from .auth import User, limiter
from .db import get_store

bp = Blueprint("accounts", __name__, url_prefix="/staff")
#: Blueprints a user who must change their password cannot use until they have (log-out stays open).
GUARDED = ("staff", "accounts", "records", "planning")
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read out over the phone


def temporary_password() -> str:
    """A random temporary password, four groups of four: about 79 bits."""
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4))


@bp.before_app_request
def _must_change_password_first():
    if request.blueprint not in GUARDED or request.endpoint == "accounts.password":
        return None
    if current_user.is_authenticated and getattr(current_user, "must_change", False):
        return redirect(url_for("accounts.password"))
    return None


def _admin() -> None:
    if current_user.role != "admin":
        abort(403, "只有管理员可以管理账户 Only admins manage accounts")


def _account(name: str) -> dict:
    row = get_store().user(name)
    if row is None:
        abort(404, f"没有此用户 There is no user {name[:64]!r}")
    return row


def _not_yourself(name: str, what: str) -> None:
    if name == current_user.name:
        abort(400, f"不能{what}自己的账户，请另一位管理员操作 You cannot do this to your own account; ask another admin")


def layer_names(ids) -> str:
    return "、".join(f"{REGISTRY[i].zh} {REGISTRY[i].en}" if i in REGISTRY else i for i in ids) or "无 none"


def losses(row: dict, role: str, layers: list[str]) -> list[str]:
    """What an account would no longer be allowed to do after the change (empty when it loses nothing)."""
    if row["role"] == "admin" and role != "admin":
        return ["不再是管理员：不能管理账户、查看审计日志，只能修改所选图层 No longer an admin: cannot manage accounts or see the "
                f"audit log, and may change only: {layer_names(layers)}"]
    lost = [i for i in row["layers"] if i not in layers] if role == "editor" else []
    return [f"不能再修改 May no longer change: {layer_names(lost)}"] if lost else []


@bp.route("/users/<name>", methods=["GET", "POST"])
@login_required
def user(name: str):
    """One account: role and layers (checkboxes); links to deactivate, reactivate and reset its password."""
    _admin()
    row = _account(name)
    if request.method == "POST":
        role = request.form.get("role", "")
        if role not in accounts.ROLES:
            abort(400, f"角色无效 role must be one of {', '.join(accounts.ROLES)}")
        chosen = request.form.getlist("layers")
        unknown = [i for i in chosen if i not in REGISTRY]
        if unknown:
            abort(400, f"没有此图层 There is no layer {unknown[0][:80]!r}")
        layers = [] if role == "admin" else [k.id for k in KINDS if k.id in chosen]
        lost = losses(row, role, layers)
        if lost and request.form.get("confirmed") != "yes":
            return render_template("staff/confirm.html", title=f"确认修改 Confirm the change to {name}", lines=lost,
                                   action=url_for("accounts.user", name=name), button="确认修改 Make the change",
                                   hidden=[("role", role), *(("layers", i) for i in layers), ("confirmed", "yes")],
                                   back=url_for("accounts.user", name=name))
        try:
            get_store().update_account(name, actor=current_user.name, role=role, layers=layers)
        except ValueError as exc:
            return render_template("staff/account.html", user=row, kinds=KINDS, roles=accounts.ROLES,
                                   problem=str(exc)), 409
        flash(f"已保存 Saved {name}: {role}" + (f", {layer_names(layers)}" if role == "editor" else ""))
        if name == current_user.name and role != "admin":
            return redirect(url_for("staff.index"))
        return redirect(url_for("accounts.user", name=name))
    return render_template("staff/account.html", user=row, kinds=KINDS, roles=accounts.ROLES)


@bp.route("/users/<name>/deactivate", methods=["GET", "POST"])
@login_required
def deactivate(name: str):
    """GET: what deactivation does, and the button; POST: do it (their sessions end at once)."""
    _admin()
    row = _account(name)
    _not_yourself(name, "停用")
    if request.method == "GET":
        return render_template("staff/confirm.html", title=f"停用账户 Deactivate {name}?", button="停用 Deactivate",
                               lines=[f"{name} 将不能登录，其所有会话立即结束 {name} will not be able to log in, and every "
                                      "session of theirs ends now",
                                      "其历史记录保留；可随时重新启用 Their history stays; you can reactivate the account later"],
                               action=url_for("accounts.deactivate", name=name), hidden=[],
                               back=url_for("accounts.user", name=name))
    try:
        get_store().update_account(name, actor=current_user.name, active=False)
    except ValueError as exc:
        return render_template("staff/account.html", user=row, kinds=KINDS, roles=accounts.ROLES,
                               problem=str(exc)), 409
    flash(f"已停用 {name} is deactivated; their sessions have ended")
    return redirect(url_for("accounts.user", name=name))


@bp.post("/users/<name>/activate")
@login_required
def activate(name: str):
    _admin()
    _account(name)
    get_store().update_account(name, actor=current_user.name, active=True)
    flash(f"已重新启用 {name} may log in again")
    return redirect(url_for("accounts.user", name=name))


@bp.route("/users/<name>/reset", methods=["GET", "POST"])
@login_required
def reset(name: str):
    """GET: what a reset does, with a field for the temporary password (empty: one is made up); POST: set it.
    The user's sessions end and, at their next log-in, they must choose their own password."""
    _admin()
    row = _account(name)
    _not_yourself(name, "重置")
    if request.method == "GET":
        return render_template("staff/reset.html", user=row)
    temporary = request.form.get("password", "")
    made_up = not temporary
    temporary = temporary or temporary_password()
    why = accounts.check_password(temporary, name)
    if why:
        return render_template("staff/reset.html", user=row, problem=why), 400
    get_store().set_password(name, generate_password_hash(temporary), actor=current_user.name, must_change=True)
    # shown once, on this page (not in a flash message: those travel in the session cookie)
    return render_template("staff/reset_done.html", user=row, password=temporary if made_up else None)


def _password_key() -> str:
    return f"password|{current_user.get_id() if current_user.is_authenticated else ''}"


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"], key_func=_password_key)
def password():
    """Change your own password (the current one is asked for). Every other session of yours ends."""
    if request.method == "GET":
        return render_template("staff/password.html")
    store, name = get_store(), current_user.name
    row = store.user(name)
    current, new, again = (request.form.get(k, "") for k in ("current", "new", "again"))
    if not check_password_hash(row["password_hash"], current):
        store.audit(name, "user-password-failed", None, {"name": name})
        problem = "当前密码错误 The current password is wrong"
    elif new != again:
        problem = "两次输入的新密码不一致 The new password and its repetition differ"
    elif new == current:
        problem = "新密码不能与当前密码相同 The new password must differ from the current one"
    else:
        problem = accounts.check_password(new, name)
    if problem:
        return render_template("staff/password.html", problem=problem), 400
    store.set_password(name, generate_password_hash(new), actor=name)
    login_user(User(store.user(name)))  # this session carries the new generation; every other one has ended
    flash("密码已修改，你的其他会话已结束 Your password is changed; your other sessions have ended")
    return redirect(url_for("staff.index"))
