"""The Flask application of the Qingdao consumption-scene map (application factory)."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from flask import Flask

from . import accounts, api, assets, auth, basemaps, cli, db, errors, ogc, pages, planning, records, security, staff

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)

#: Every setting, its default and meaning; README's configuration table documents each (tests check it).
DEFAULTS = {
    "DATA_DIR": str(ROOT / "data"),
    "NODE_MODULES": str(ROOT / "node_modules"),
    "BASEMAP": "osm",
    "TILES_URL": "",
    "TILES_NAME": "",
    "TILES_ATTRIBUTION": "",
    "TILES_CRS": "wgs84",
    "TILES_SUBDOMAINS": "abc",
    "SECRET_KEY": "dev",
    "DATABASE_URL": "",
    "CATALOG_REFRESH_SECONDS": 2.0,
    "SECURE_COOKIES": True,
    "LOGIN_RATE_LIMIT": "5 per minute",
    "LOGIN_ADDRESS_RATE_LIMIT": "30 per minute",
    "RATELIMIT_STORAGE_URI": "",
    "STAFF_IDLE_MINUTES": 60,
    "STAFF_SESSION_HOURS": 12,
    "PUBLIC_URL": "",
    "TRUSTED_PROXIES": 0,
    "MAX_CONTENT_LENGTH": 200 * 1024 * 1024,
    "UPLOAD_DIR": "",
    "UPLOAD_QUOTA_BYTES": 400 * 1024 * 1024,
    "EXPORT_CACHE_DIR": "",
    "DOWNLOAD_RATE_LIMIT": "30 per minute",
    "DOWNLOAD_MAX_FEATURES": 100_000,
    "HTML_RATE_LIMIT": "120 per minute",
}


def _instance_secret(app: Flask) -> str:
    """A random key made once and kept in instance/secret_key (mode 600), so sessions are signed with a
    secret nobody else has and survive restarts. Several servers behind one database need the same key:
    give it to them as SCENEMAP_SECRET_KEY."""
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def create_app(test_config: dict | None = None) -> Flask:
    """Create the app. Settings: DEFAULTS, then instance/config.py, then SCENEMAP_* environment variables
    (e.g. SCENEMAP_BASEMAP=none), then ``test_config``. The layers live in the store (DATABASE_URL; by
    default instance/scenemap.sqlite, or a fresh in-memory database when testing), seeded from DATA_DIR
    when empty. Refuses to start (SystemExit with the report) when a file it seeds from is refused or
    the front-end assets are not installed."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("SCENEMAP")
    else:
        app.config.from_mapping(test_config)

    if app.config["SECRET_KEY"] == "dev" and not app.testing:
        app.config["SECRET_KEY"] = _instance_secret(app)
    offered = basemaps.from_config(app.config)
    if app.config["BASEMAP"] not in offered:
        raise SystemExit(f"BASEMAP={app.config['BASEMAP']!r} is not one of: {', '.join(offered)}")
    missing = assets.check_installed(app.config["NODE_MODULES"])
    if missing:
        raise SystemExit(f"front-end assets are not installed ({missing[0]} is missing from "
                         f"{app.config['NODE_MODULES']}): run `npm ci` in the project root, or `make run`")
    db.init_app(app)
    db.init_basemaps(app, offered)

    for module in (pages, api, ogc, assets, staff, accounts, records, planning):
        app.register_blueprint(module.bp)
    auth.init_app(app)
    security.init_app(app, offered)
    api.init_app(app)
    # read-only blueprints: a POST there is answered 405, not with a CSRF error; writes live under /staff
    auth.csrf.exempt(api.bp)
    auth.csrf.exempt(ogc.bp)
    errors.init_app(app)
    cli.init_app(app)
    return app
