"""Staff accounts: Flask-Login sessions, werkzeug's scrypt password hashes, CSRF on every form
(Flask-WTF), log-in attempts rate-limited (Flask-Limiter). Public pages need no account.

A staff session carries the user's *session generation*: log-out, a password change and deactivation raise
it in the store, which ends every session of that user at once (a stolen cookie stops working). Sessions
also end after STAFF_IDLE_MINUTES without a request and STAFF_SESSION_HOURS after log-in.
"""

from __future__ import annotations

import functools
import re
import secrets
import time
from datetime import timedelta
from urllib.parse import unquote, urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from . import ratelimits
from .db import get_store

bp = Blueprint("auth", __name__, url_prefix="/staff")
login_manager = LoginManager()
csrf = CSRFProtect()
#: One limiter for the app; it counts in RATELIMIT_STORAGE_URI (by default an SQLite file every worker shares).
limiter = Limiter(key_func=get_remote_address, default_limits=[])


class User(UserMixin):
    def __init__(self, row: dict):
        self.id, self.name, self.role, self.layers = row["id"], row["name"], row["role"], row["layers"]
        self.active = bool(row["active"])
        self.generation = int(row.get("session_generation") or 0)
        self.must_change = bool(row.get("must_change_password"))  # reaches only the change-password page

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """What the session keeps: the user and the generation of sessions it belongs to."""
        return f"{self.id}:{self.generation}"

    def can_edit(self, layer_id: str) -> bool:
        return self.role == "admin" or layer_id in self.layers


class LoginForm(FlaskForm):
    name = StringField("用户名 User name", validators=[DataRequired()])
    password = PasswordField("密码 Password", validators=[DataRequired()])


@login_manager.user_loader
def load_user(session_id: str):
    match = re.fullmatch(r"([0-9]{1,12}):([0-9]{1,12})", session_id or "")
    if not match:
        return None
    row = get_store().user_by_id(int(match.group(1)))
    if not row or not row["active"] or int(row.get("session_generation") or 0) != int(match.group(2)):
        return None
    started = session.get("login_at", 0)
    if not isinstance(started, (int, float)) or time.time() - started > current_app.config["STAFF_SESSION_HOURS"] * 3600:
        return None
    return User(row)


def safe_next(target: str | None) -> str | None:
    """Where to go after log-in: a path on this site, or None. Browsers drop tabs and newlines from URLs and
    read a backslash as a slash, so ``/\\t/evil.example`` or ``/\\evil.example`` would leave the site:
    only printable ASCII without backslashes, starting with one slash, with no scheme and no host."""
    for form in (target, unquote(target or "")):  # as given, and once decoded (a proxy may decode it)
        if not form or not form.isascii() or "\\" in form or any(ord(c) < 0x21 or ord(c) == 0x7F for c in form):
            return None
        parts = urlsplit(form)
        if parts.scheme or parts.netloc or not form.startswith("/") or form.startswith("//"):
            return None
    return target


@functools.lru_cache(maxsize=1)
def _decoy_hash() -> str:
    """A hash of a random password, checked when the user name is unknown, so that a log-in takes as long
    whether the name exists or not (user names cannot be found by timing)."""
    return generate_password_hash(secrets.token_hex(16))


def _login_key() -> str:
    """Log-in attempts are counted per client address *and* user name: one attacker behind the same proxy as
    the staff cannot lock everyone out. (A second limit counts per address alone.)"""
    name = (request.form.get("name") or "").strip().lower()[:64]
    return f"{get_remote_address()}|{name}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"], key_func=_login_key)
@limiter.limit(lambda: current_app.config["LOGIN_ADDRESS_RATE_LIMIT"], methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        store = get_store()
        row = store.user(form.name.data)
        known = row is not None and row["active"]
        if check_password_hash(row["password_hash"] if known else _decoy_hash(), form.password.data) and known:
            session.clear()
            session.permanent = True
            session["login_at"] = int(time.time())
            login_user(User(row))
            store.audit(row["name"], "login")
            return redirect(safe_next(request.args.get("next")) or url_for("staff.index"))
        store.audit(form.name.data[:64], "login-failed")
        flash("用户名或密码错误 Wrong user name or password")
        return render_template("staff/login.html", form=form), 401
    return render_template("staff/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    """Log out everywhere: every session of this user ends, not only this browser's."""
    store = get_store()
    store.end_sessions(current_user.id)
    store.audit(current_user.name, "logout")
    logout_user()
    session.pop("login_at", None)
    return redirect(url_for("pages.index"))


def init_app(app) -> None:
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    app.config["SESSION_COOKIE_SECURE"] = app.config["SECURE_COOKIES"]
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SECURE_COOKIES"]
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=float(app.config["STAFF_IDLE_MINUTES"]))
    app.config["RATELIMIT_STORAGE_URI"] = app.config.get("RATELIMIT_STORAGE_URI") or ratelimits.default_uri(app)
    # a 429 says when to try again (Retry-After), and limited answers say what is left (X-RateLimit-*)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录 Please log in first"
    csrf.init_app(app)
    limiter.init_app(app)
    app.register_blueprint(bp)
