"""Staff accounts: Flask-Login sessions, werkzeug's scrypt password hashes, CSRF on every form
(Flask-WTF), login attempts rate-limited (Flask-Limiter). Public pages need no account."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from werkzeug.security import check_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

bp = Blueprint("auth", __name__, url_prefix="/staff")
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, storage_uri="memory://", default_limits=[])


class User(UserMixin):
    def __init__(self, row: dict):
        self.id, self.name, self.role, self.layers = row["id"], row["name"], row["role"], row["layers"]
        self.active = bool(row["active"])

    @property
    def is_active(self) -> bool:
        return self.active

    def can_edit(self, layer_id: str) -> bool:
        return self.role == "admin" or layer_id in self.layers


class LoginForm(FlaskForm):
    name = StringField("用户名 User name", validators=[DataRequired()])
    password = PasswordField("密码 Password", validators=[DataRequired()])


@login_manager.user_loader
def load_user(user_id: str):
    row = current_app.extensions["store"].user_by_id(int(user_id)) if user_id.isdigit() else None
    return User(row) if row else None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        store = current_app.extensions["store"]
        row = store.user(form.name.data)
        if row and row["active"] and check_password_hash(row["password_hash"], form.password.data):
            login_user(User(row))
            store.audit(row["name"], "login")
            target = request.args.get("next", "")
            return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("staff.index"))
        store.audit(form.name.data[:64], "login-failed")
        flash("用户名或密码错误 Wrong user name or password")
        return render_template("staff/login.html", form=form), 401
    return render_template("staff/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    current_app.extensions["store"].audit(current_user.name, "logout")
    logout_user()
    return redirect(url_for("pages.index"))


def init_app(app) -> None:
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    app.config["SESSION_COOKIE_SECURE"] = app.config["SECURE_COOKIES"]
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SECURE_COOKIES"]
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录 Please log in first"
    csrf.init_app(app)
    limiter.init_app(app)
    app.register_blueprint(bp)
