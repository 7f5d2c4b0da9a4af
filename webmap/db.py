"""The app's store: opened and migrated at start, seeded from DATA_DIR when empty, watched for new versions."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from flask import current_app

from layers.catalog import Catalog
from layers.problems import DataError
from layers.store import Store

log = logging.getLogger(__name__)


def default_url(app) -> str:
    if app.testing:
        return "sqlite://"  # a fresh in-memory database per test app
    return f"sqlite:///{app.instance_path}/scenemap.sqlite"


def open_store(app) -> Store:
    """Open and migrate the store; seed it from DATA_DIR (the same read and check path) if it is empty."""
    url = app.config.get("DATABASE_URL") or default_url(app)
    if url.startswith("sqlite:///"):
        os.makedirs(app.instance_path, exist_ok=True)
    store = Store(url)
    store.upgrade()
    if url.startswith("sqlite:///") and Path(url[len("sqlite:///"):]).exists():
        os.chmod(url[len("sqlite:///"):], 0o600)  # it holds the staff's password hashes
    if store.is_empty():
        try:
            layers = Catalog.read_directory(app.config["DATA_DIR"])
        except DataError as exc:
            raise SystemExit(f"refusing to start: data in {app.config['DATA_DIR']} has problems\n{exc}") from None
        for layer in layers:
            store.publish(layer, author="seed", source=f"{app.config['DATA_DIR']}/{layer.kind.id}.geojson",
                          message="initial data")
        log.info("seeded the store from %s", app.config["DATA_DIR"])
    return store


def refresh_catalog() -> None:
    """Before a request: at most every CATALOG_REFRESH_SECONDS, pick up versions other processes published."""
    state = current_app.extensions
    now = time.monotonic()
    if now - state.get("catalog_checked", 0) < current_app.config["CATALOG_REFRESH_SECONDS"]:
        return
    state["catalog_checked"] = now
    if state["catalog"].refresh(state["store"]):
        state["map_shells"].clear()


def init_app(app) -> None:
    store = open_store(app)
    app.extensions["store"] = store
    app.extensions["catalog"] = Catalog.from_store(store)
    app.extensions["catalog_checked"] = time.monotonic()
    app.before_request(refresh_catalog)
