"""The app's store: opened and migrated at start, seeded from DATA_DIR when empty, watched for new versions;
and the typed accessors every view reaches the app's shared objects through (as Flask's tutorial has
``get_db()``): :func:`get_store`, :func:`get_catalog`, :func:`get_exports`, :func:`get_basemaps`,
:func:`get_map_shells`, :func:`get_importer`, :func:`get_desk`, and :func:`get_live` / :func:`get_kind`, the one rule for a layer
id in a URL (an unknown one is a 404 that lists the layers, :func:`webmap.errors.unknown_layer`).

Staff-only layers (``LayerKind.staff_only``, e.g. complaints) are left out here, in one place: the public
accessors :func:`get_catalog` and :func:`get_live` (which every public view, /api and /ogc go through) give
only public layers, and a staff-only id answers exactly like an unknown one (so its existence is not revealed).
The staff pages reach every layer through :func:`get_kind`, :func:`get_staff_catalog` and the store.

The objects stay in ``app.extensions`` under the keys below (tests and scripts read them there too); views
use the accessors, never the strings."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app

from layers.catalog import Catalog, LiveLayer
from layers.imports import Importer
from layers.planning.desk import Desk
from layers.problems import DataError
from layers.registry import KINDS, REGISTRY
from layers.schema import LayerKind
from layers.store import Store

from . import errors

if TYPE_CHECKING:  # pragma: no cover - types only
    from layers.export import ExportCache

    from .basemaps import Basemap
    from .mapshell import MapShell

log = logging.getLogger(__name__)

#: The keys of ``app.extensions`` the accessors below read (set by :func:`init_app`, webmap.api.init_app for
#: the export cache, and :func:`init_basemaps`).
STORE, CATALOG, EXPORTS, BASEMAPS, MAP_SHELLS = "store", "catalog", "exports", "basemaps", "map_shells"


def get_store() -> Store:
    """The app's store (layers, versions, quarantine, users, audit)."""
    return current_app.extensions[STORE]


def get_catalog() -> Catalog:
    """The public live layers of this process (refreshed before each request: :func:`refresh_catalog`):
    staff-only layers left out. Public views use this; staff views use :func:`get_staff_catalog`."""
    return current_app.extensions[CATALOG].public()


def get_staff_catalog() -> Catalog:
    """Every live layer of this process, staff-only ones included: for the staff pages and the CLI only."""
    return current_app.extensions[CATALOG]


def get_exports() -> ExportCache:
    """The cache of whole-layer downloads (EXPORT_CACHE_DIR)."""
    return current_app.extensions[EXPORTS]


def get_basemaps() -> dict[str, Basemap]:
    """The basemaps offered, by id (BASEMAP and the TILES_* settings)."""
    return current_app.extensions[BASEMAPS]


def get_map_shells() -> dict[str, MapShell]:
    """The public map page built once per basemap, cleared when a layer changes."""
    return current_app.extensions[MAP_SHELLS]


def get_importer() -> Importer:
    """The import service (layers.imports) on the app's store, with this process's live layers (staff-only
    ones included: only staff import)."""
    catalog = get_staff_catalog()
    return Importer(get_store(), lambda layer_id: catalog.get(layer_id).layer if layer_id in catalog else None)


def get_desk() -> Desk:
    """The planning desk (layers.planning.desk) on the app's store and this process's live layers (staff-only
    ones included: the desk is staff only), with the live ruleset."""
    catalog = get_staff_catalog()
    return Desk(get_store(), lambda layer_id: catalog.get(layer_id) if layer_id in catalog else None)


def get_live(layer_id: str) -> LiveLayer:
    """The public live layer ``layer_id`` names in a URL; 404 listing the public live layers when there is
    none, or when it is staff only (answered exactly like an unknown id)."""
    catalog = get_catalog()
    if layer_id not in catalog:
        errors.unknown_layer(layer_id, [live.kind.id for live in catalog])
    return catalog.get(layer_id)


def get_kind(layer_id: str) -> LayerKind:
    """The layer kind ``layer_id`` names in a URL of the staff pages (a kind may have no version yet);
    404 listing the kinds when it names none."""
    if layer_id not in REGISTRY:
        errors.unknown_layer(layer_id, [kind.id for kind in KINDS])
    return REGISTRY[layer_id]


def catalog_changed() -> None:
    """This process has just published: show the new version from the next request on, whatever the
    refresh interval."""
    current_app.extensions["catalog_checked"] = 0


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
    if state[CATALOG].refresh(state[STORE]):
        state[MAP_SHELLS].clear()


def init_basemaps(app, offered: dict) -> None:
    """Keep the basemaps offered, and an empty cache of map pages built for them."""
    app.extensions[BASEMAPS] = offered
    app.extensions[MAP_SHELLS] = {}


def init_app(app) -> None:
    """Open the store and read the live layers (get_store, get_catalog)."""
    store = open_store(app)
    url = app.config.get("DATABASE_URL") or default_url(app)
    path = stamp_path(app, url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        store.published_hooks.append(lambda _layer, _version: touch_stamp(path))
    app.extensions[STORE] = store
    app.extensions["store_stamp"] = path
    app.extensions["store_stamp_seen"] = _stamp(path)
    app.extensions[CATALOG] = Catalog.from_store(store)
    app.extensions["catalog_checked"] = time.monotonic()
    app.before_request(refresh_catalog)
