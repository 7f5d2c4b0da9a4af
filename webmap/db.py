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


def stamp_path(app, url: str) -> Path | None:
    """The change stamp of the store at ``url``: a file every publish by a process of this machine appends one
    byte to after its commit, so that every server process sees a publish on its next request (one os.stat).
    Beside an SQLite file; in the instance folder for other databases; none for an in-memory one (one process)."""
    if url in ("sqlite://", "sqlite:///:memory:"):
        return None
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///"):] + ".changed")
    return Path(app.instance_path) / "store.changed"


def touch_stamp(path: Path) -> None:
    """Append a byte: the stamp's size only grows, so no two publishes leave it looking the same."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, b".")
    finally:
        os.close(descriptor)


def _stamp(path: Path | None):
    if path is None:
        return None
    try:
        seen = os.stat(path)
    except OSError:
        return None
    return seen.st_ino, seen.st_size, seen.st_mtime_ns


def refresh_catalog() -> None:
    """Before a request: pick up versions other processes published — at once when this machine's change stamp
    moved (a publish by another worker or the CLI), else at most every CATALOG_REFRESH_SECONDS (publishes
    by servers on other machines sharing the database)."""
    state = current_app.extensions
    stamp = _stamp(state.get("store_stamp"))
    now = time.monotonic()
    if stamp == state.get("store_stamp_seen") and \
            now - state.get("catalog_checked", 0) < current_app.config["CATALOG_REFRESH_SECONDS"]:
        return
    state["store_stamp_seen"] = stamp  # seen before reading: a publish after this read moves it again
    state["catalog_checked"] = now
    if state["catalog"].refresh(state["store"]):
        state["map_shells"].clear()


def init_app(app) -> None:
    store = open_store(app)
    url = app.config.get("DATABASE_URL") or default_url(app)
    path = stamp_path(app, url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        store.published_hooks.append(lambda _layer, _version: touch_stamp(path))
    app.extensions["store"] = store
    app.extensions["store_stamp"] = path
    app.extensions["store_stamp_seen"] = _stamp(path)
    app.extensions["catalog"] = Catalog.from_store(store)
    app.extensions["catalog_checked"] = time.monotonic()
    app.before_request(refresh_catalog)
