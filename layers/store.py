"""The persistent store: layers, their versions, features, quarantine, imports, users and the audit log.

SQLAlchemy Core with portable SQL: SQLite (a file under instance/) by default, PostgreSQL through a
DATABASE_URL. A feature row is valid from the version that wrote it until the version that replaced or
removed it (valid_to), so every version can be read back and a publish only writes what changed. A publish
is one transaction: a crash, or a kill -9, leaves the previous version live and intact.

Publishes of one layer are serialized: on PostgreSQL by a row lock on the layer (SELECT ... FOR UPDATE),
on SQLite, where FOR UPDATE is a no-op, by taking the database's write lock when a write transaction
begins (BEGIN IMMEDIATE, SQLAlchemy's pysqlite recipe; reads stay deferred). A publish that loses a race
anyway ends in :class:`Conflict`, never in a database error. Text that reaches a String(n) column from a
user (source names, authors, actors) is shortened to fit, the same on both databases.
"""

from __future__ import annotations

import json
import logging
import threading
import unicodedata
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import shapely
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import StaticPool

from . import accounts
from .load import Layer, canonical_id
from .problems import Report
from .schema import LayerKind

log = logging.getLogger(__name__)
metadata = MetaData()

layers_t = Table("layers", metadata,
                 Column("id", String(64), primary_key=True),
                 Column("live_version", Integer, nullable=False, server_default="0"))
versions_t = Table("versions", metadata,
                   Column("layer_id", String(64), ForeignKey("layers.id"), primary_key=True),
                   Column("number", Integer, primary_key=True),
                   Column("created_at", DateTime(timezone=True), nullable=False),
                   Column("author", String(128), nullable=False),
                   Column("message", Text, nullable=False, server_default=""),
                   Column("added", Integer, nullable=False), Column("removed", Integer, nullable=False),
                   Column("changed", Integer, nullable=False), Column("total", Integer, nullable=False),
                   Column("restored_from", Integer, nullable=True))
features_t = Table("features", metadata,
                   Column("pk", Integer, primary_key=True, autoincrement=True),
                   Column("layer_id", String(64), ForeignKey("layers.id"), nullable=False),
                   Column("feature_id", String(512), nullable=False),  # the id as JSON text: "p1" or 7
                   Column("properties", Text, nullable=False),
                   Column("geometry", LargeBinary, nullable=False),  # WKB, WGS-84
                   Column("valid_from", Integer, nullable=False),
                   Column("valid_to", Integer, nullable=True),
                   Index("ix_features_live", "layer_id", "valid_to"),
                   Index("ix_features_fid", "layer_id", "feature_id"))
imports_t = Table("imports", metadata,
                  Column("id", Integer, primary_key=True, autoincrement=True),
                  Column("layer_id", String(64), ForeignKey("layers.id"), nullable=False),
                  Column("created_at", DateTime(timezone=True), nullable=False),
                  Column("author", String(128), nullable=False),
                  Column("source", String(512), nullable=False),
                  Column("mode", String(16), nullable=False),
                  Column("version", Integer, nullable=True),
                  Column("report", Text, nullable=False))
quarantine_t = Table("quarantine", metadata,
                     Column("pk", Integer, primary_key=True, autoincrement=True),
                     Column("import_id", Integer, ForeignKey("imports.id"), nullable=False),
                     Column("layer_id", String(64), nullable=False),
                     Column("feature_index", Integer, nullable=True),
                     Column("feature_id", String(512), nullable=True),
                     Column("reasons", Text, nullable=False),
                     Column("raw", Text, nullable=False))
users_t = Table("users", metadata,
                Column("id", Integer, primary_key=True, autoincrement=True),
                Column("name", String(64), nullable=False, unique=True),
                Column("password_hash", String(256), nullable=False),
                Column("role", String(16), nullable=False),
                Column("layers", Text, nullable=False, server_default="[]"),
                Column("active", Boolean, nullable=False, server_default="1"),
                Column("created_at", DateTime(timezone=True), nullable=False),
                Column("session_generation", Integer, nullable=False, server_default="0"),
                Column("must_change_password", Boolean, nullable=False, server_default="0"))
audit_t = Table("audit", metadata,
                Column("id", Integer, primary_key=True, autoincrement=True),
                Column("at", DateTime(timezone=True), nullable=False),
                Column("actor", String(128), nullable=False),
                Column("action", String(64), nullable=False),
                Column("layer_id", String(64), nullable=True),
                Column("detail", Text, nullable=False, server_default="{}"),
                Index("ix_audit_at", "at"))

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_CHUNK = 500


def clip_text(value, limit: int) -> str:
    """``value`` as text for a String(``limit``) column: control characters and lone surrogates replaced
    (PostgreSQL refuses NUL, and text that is not UTF-8), then shortened on a character boundary with an
    ellipsis, so that SQLite and PostgreSQL store the same thing."""
    text = str(value).encode("utf-8", "replace").decode("utf-8")
    text = "".join("\ufffd" if unicodedata.category(c) == "Cc" else c for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Conflict(Exception):
    """A write based on a version that is no longer live (optimistic locking)."""


class Unconfirmed(Conflict):
    """A publish would update or remove other counts of existing features than the person confirmed."""

    def __init__(self, message: str, plan: Plan):
        super().__init__(message)
        self.plan = plan


@dataclass(frozen=True)
class Version:
    layer_id: str
    number: int
    added: int
    removed: int
    changed: int
    total: int
    import_id: int | None = None
    unchanged: bool = False


@dataclass(frozen=True)
class Plan:
    """What publishing a layer would do to the live version ``version``, computed without writing
    (:meth:`Store.plan`): the ids it would add, change (same id, other content) and remove, in the input's
    order (removed: the store's), and ``names``: id -> the ``name`` of each feature changed (its new name) or
    removed, for the person who confirms."""

    layer_id: str
    version: int
    mode: str
    added: list
    changed: list
    removed: list
    names: dict
    total: int

    @property
    def destructive(self) -> bool:
        """Whether existing features would be changed or removed (a publish then needs a confirmation)."""
        return bool(self.changed or self.removed)

    @property
    def confirmation(self) -> tuple[int, int]:
        """What a person confirms: (features changed, features removed)."""
        return len(self.changed), len(self.removed)


def _compare(incoming: dict, live: dict, mode: str) -> tuple[list, list, list]:
    """THE rule of what a publish does (both :meth:`Store.plan` and :meth:`Store.publish` use it): ``incoming``
    id -> (properties, geometry), ``live`` id -> (pk, properties, geometry), ids as the store's JSON text.
    Returns the ids added, changed and removed: replace removes every live id not in ``incoming``, append none."""
    added, changed = [], []
    for fid, (props, geom) in incoming.items():
        old = live.get(fid)
        if old is None:
            added.append(fid)
        elif old[1] != props or bytes(old[2]) != geom:
            changed.append(fid)
    removed = [fid for fid in live if fid not in incoming] if mode == "replace" else []
    return added, changed, removed


def _incoming(layer: Layer) -> dict:
    wkb = shapely.to_wkb(layer.geometries) if len(layer) else []
    return {_dumps(fid): (_dumps(props), bytes(geom)) for fid, props, geom in zip(layer.ids, layer.properties, wkb)}


def _live(conn, kind_id: str) -> dict:
    return {fid: (pk, props, geom) for pk, fid, props, geom in conn.execute(
        select(features_t.c.pk, features_t.c.feature_id, features_t.c.properties, features_t.c.geometry)
        .where(features_t.c.layer_id == kind_id, features_t.c.valid_to.is_(None)))}


def _plan(kind_id: str, version: int, mode: str, incoming: dict, live: dict) -> Plan:
    added, changed, removed = _compare(incoming, live, mode)

    def name(props: str):
        value = json.loads(props).get("name")
        return None if value is None else str(value)

    names = {json.loads(fid): name(incoming[fid][0]) for fid in changed}
    names.update({json.loads(fid): name(live[fid][1]) for fid in removed})
    ids = lambda keys: [json.loads(k) for k in keys]  # noqa: E731
    return Plan(kind_id, version, mode, ids(added), ids(changed), ids(removed), names,
                len(live) - len(removed) + len(added))


def _now() -> datetime:
    return datetime.now(UTC)


#: Lengths of the String(n) columns that hold text from users (see the tables above).
_AUTHOR, _SOURCE, _FEATURE_ID = 128, 512, 512
_dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode
_FEATURE_COLUMNS = ("layer_id", "feature_id", "properties", "geometry", "valid_from")


def _insert_features(conn, rows: list[tuple]) -> None:
    """Bulk insert straight through the driver's executemany: SQLAlchemy's per-row parameter processing
    was half the cost of a 10^5-feature publish. The placeholder follows the driver (SQLite ?, psycopg %s)."""
    mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(conn.dialect.paramstyle)
    if mark is None:
        conn.execute(insert(features_t), [dict(zip(_FEATURE_COLUMNS, row)) for row in rows])
        return
    sql = f"INSERT INTO features ({', '.join(_FEATURE_COLUMNS)}) VALUES ({', '.join([mark] * len(_FEATURE_COLUMNS))})"
    conn.exec_driver_sql(sql, rows)


class Store:
    """One database. ``url`` is an SQLAlchemy URL (sqlite:///path or postgresql+psycopg://...)."""

    def __init__(self, url: str):
        self.url = url
        self._shared = nullcontext()
        if url in ("sqlite://", "sqlite:///:memory:"):  # one shared in-memory database (tests, previews)
            self.engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
            self._shared = threading.RLock()  # its one connection serves one thread at a time
        else:
            self.engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._writer = self.engine.execution_options(scenemap_write=True)
        #: Called with (layer id, version) after each publish has committed (e.g. to tell other processes).
        self.published_hooks: list = []

    @contextmanager
    def _reading(self):
        with self._shared, self.engine.connect() as conn:
            yield conn

    @contextmanager
    def _writing(self):
        """A write transaction: on SQLite it holds the database's write lock from its first statement."""
        with self._shared, self._writer.begin() as conn:
            yield conn

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to ``revision``, the newest migration by default (creates it in an empty database)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self._writing() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    @property
    def documents(self):
        """The store's versioned documents (:class:`layers.documents.Documents`): settings kept as data."""
        from .documents import Documents

        return Documents(self)

    # -- reading ---------------------------------------------------------------------------------------
    def live_versions(self) -> dict[str, int]:
        with self._reading() as conn:
            return dict(conn.execute(select(layers_t.c.id, layers_t.c.live_version)).all())

    def load(self, kind: LayerKind, version: int | None = None) -> Layer:
        """The features of ``kind`` at ``version`` (the live one by default), in the order they were written."""
        cond = [features_t.c.layer_id == kind.id]
        with self._reading() as conn:
            if version is None:
                cond.append(features_t.c.valid_to.is_(None))
            else:
                cond += [features_t.c.valid_from <= version,
                         (features_t.c.valid_to.is_(None)) | (features_t.c.valid_to > version)]
            rows = conn.execute(select(features_t.c.feature_id, features_t.c.properties, features_t.c.geometry)
                                .where(*cond).order_by(features_t.c.pk)).all()
        layer = Layer(kind=kind, report=Report(f"{kind.id} (store)"))
        layer.ids = [json.loads(r[0]) for r in rows]
        layer.properties = [json.loads(r[1]) for r in rows]
        layer.geometries = shapely.from_wkb(np.array([r[2] for r in rows], dtype=object)) if rows else np.empty(0, dtype=object)
        return layer

    def history(self, layer_id: str) -> list[dict]:
        with self._reading() as conn:
            rows = conn.execute(select(versions_t).where(versions_t.c.layer_id == layer_id)
                                .order_by(versions_t.c.number)).mappings().all()
        return [dict(r) for r in rows]

    def quarantined(self, import_id: int) -> list[dict]:
        with self._reading() as conn:
            rows = conn.execute(select(quarantine_t).where(quarantine_t.c.import_id == import_id)
                                .order_by(quarantine_t.c.pk)).mappings().all()
        return [dict(r, reasons=json.loads(r["reasons"])) for r in rows]

    def quarantine_collection(self, layer_id: str, import_id: int | None) -> dict:
        """The features an import refused, as a GeoJSON FeatureCollection: each as it came in, with its
        reasons in the property ``_refused``."""
        features = []
        for row in self.quarantined(import_id) if import_id is not None else []:
            if row["layer_id"] != layer_id:
                continue
            raw = json.loads(row["raw"]) if row["raw"] else {}
            raw = raw if isinstance(raw, dict) else {"value": raw}
            props = dict(raw["properties"]) if isinstance(raw.get("properties"), dict) else {}
            props["_refused"] = row["reasons"]
            fid = raw.get("id") if isinstance(raw.get("id"), (str, int)) and not isinstance(raw.get("id"), bool) else None
            geometry = raw.get("geometry") if isinstance(raw.get("geometry"), dict) else None
            features.append({"type": "Feature", "id": fid, "properties": props, "geometry": geometry})
        return {"type": "FeatureCollection", "features": features}

    def audit_log(self, layer_id: str | None = None) -> list[dict]:
        query = select(audit_t).order_by(audit_t.c.id)
        if layer_id:
            query = query.where(audit_t.c.layer_id == layer_id)
        with self._reading() as conn:
            return [dict(r, detail=json.loads(r["detail"])) for r in conn.execute(query).mappings().all()]

    # -- writing ---------------------------------------------------------------------------------------
    def plan(self, layer: Layer, mode: str = "replace") -> Plan:
        """What :meth:`publish` of ``layer`` in ``mode`` would do now, by the same rule, writing nothing."""
        if mode not in ("replace", "append"):
            raise ValueError(f"mode must be replace or append, not {mode!r}")
        kind_id = layer.kind.id
        incoming = _incoming(layer)
        with self._reading() as conn:  # one read transaction: the version and its features agree
            current = conn.execute(select(layers_t.c.live_version).where(layers_t.c.id == kind_id)).scalar() or 0
            live = _live(conn, kind_id)
        return _plan(kind_id, current, mode, incoming, live)

    def publish(self, layer: Layer, *, author: str, mode: str = "replace", source: str = "", message: str = "",
                expected_version: int | None = None, restored_from: int | None = None,
                confirmed: tuple[int, int] | None = None) -> Version:
        """Make ``layer``'s features the new live version of its kind, atomically.

        ``mode`` replace: the layer becomes exactly these features; append: these are added (or, for ids
        already live, replace them). ``expected_version``: refuse with :class:`Conflict` unless that is the
        live version (optimistic locking). ``confirmed``: (changed, removed), the numbers of existing features
        the person agreed to change and remove; refuse with :class:`Unconfirmed` (and the real plan) unless
        the publish would do exactly that (checked inside the transaction). The layer's refused features go
        to quarantine with their reasons.
        """
        if mode not in ("replace", "append"):
            raise ValueError(f"mode must be replace or append, not {mode!r}")
        kind_id = layer.kind.id
        author, source = clip_text(author, _AUTHOR), clip_text(source or "", _SOURCE)
        incoming = _incoming(layer)
        try:
            with self._writing() as conn:
                current = conn.execute(select(layers_t.c.live_version).where(layers_t.c.id == kind_id)
                                       .with_for_update()).scalar()
                if current is None:
                    conn.execute(insert(layers_t).values(id=kind_id, live_version=0))
                    current = 0
                if expected_version is not None and expected_version != current:
                    raise Conflict(f"{kind_id} is at version {current}, not {expected_version}: someone published "
                                   "in the meantime; reload, re-apply your change and save again")
                new = current + 1
                live = _live(conn, kind_id)
                new_ids, changed_ids, removed_ids = _compare(incoming, live, mode)
                if confirmed is not None and (len(changed_ids), len(removed_ids)) != tuple(confirmed):
                    plan = _plan(kind_id, current, mode, incoming, live)
                    raise Unconfirmed(f"未发布：需要确认 Not published: this would change {len(changed_ids)} and remove "
                                      f"{len(removed_ids)} existing features of {kind_id}, but {confirmed[0]} and "
                                      f"{confirmed[1]} were confirmed", plan)
                writes = set(new_ids) | set(changed_ids)
                rows = [(kind_id, fid, props, geom, new) for fid, (props, geom) in incoming.items() if fid in writes]
                removed = [live[fid][0] for fid in removed_ids]
                close = [live[fid][0] for fid in changed_ids] + removed
                added, changed = len(new_ids), len(changed_ids)
                for start in range(0, len(close), _CHUNK):
                    conn.execute(update(features_t).where(features_t.c.pk.in_(close[start:start + _CHUNK]))
                                 .values(valid_to=new))
                if rows:
                    _insert_features(conn, rows)
                total = len(live) - len(removed) + added
                if current and not (rows or close) and restored_from is None:
                    # nothing changed: the live version stays; the import is still on record
                    import_id = self._import(conn, layer, author, source, mode, current)
                    self._audit(conn, author, "import-unchanged", kind_id, {"version": current, "source": source})
                    return Version(kind_id, current, 0, 0, 0, total, import_id, unchanged=True)
                conn.execute(insert(versions_t).values(
                    layer_id=kind_id, number=new, created_at=_now(), author=author, message=message, added=added,
                    removed=len(removed), changed=changed, total=total, restored_from=restored_from))
                done = conn.execute(update(layers_t).where(layers_t.c.id == kind_id,
                                                           layers_t.c.live_version == current).values(live_version=new))
                if done.rowcount != 1:
                    raise Conflict(f"{kind_id} was published by someone else at the same moment; try again")
                import_id = self._import(conn, layer, author, source, mode, new)
                self._audit(conn, author, "rollback" if restored_from else "publish", kind_id,
                            {"version": new, "mode": mode, "source": source, "added": added, "changed": changed,
                             "removed": len(removed), "quarantined": len(layer.refused),
                             "restored_from": restored_from})
        except IntegrityError as exc:
            if not _lost_publish_race(exc):
                raise
            raise Conflict(f"{kind_id} was published by someone else at the same moment; reload, re-apply your "
                           "change and save again") from None
        except OperationalError as exc:  # SQLite: another writer held the lock past busy_timeout
            if "locked" not in str(exc.orig):
                raise
            raise Conflict(f"图层正在被他人发布 {kind_id} is being published by someone else right now; try again in "
                           "a moment") from None
        log.info("%s: version %d published by %s (+%d ~%d -%d)", kind_id, new, author, added, changed, len(removed))
        for hook in self.published_hooks:
            try:
                hook(kind_id, new)
            except Exception:  # the publish has happened: a hook's failure must not look like it did not
                log.exception("after publishing %s version %d", kind_id, new)
        return Version(kind_id, new, added, len(removed), changed, total, import_id)

    def record_refusal(self, layer: Layer, *, author: str, source: str) -> int:
        """Keep an import that published nothing: its report, and its refused features in quarantine."""
        with self._writing() as conn:
            if conn.execute(select(layers_t.c.id).where(layers_t.c.id == layer.kind.id)).first() is None:
                conn.execute(insert(layers_t).values(id=layer.kind.id, live_version=0))
            import_id = self._import(conn, layer, author, source, "refused", None)
            self._audit(conn, author, "import-refused", layer.kind.id,
                        {"source": source, "quarantined": len(layer.refused)})
        return import_id

    @staticmethod
    def _import(conn, layer: Layer, author: str, source: str, mode: str, version: int | None) -> int:
        report = [p.to_dict() for p in (layer.report.problems if layer.report else [])]
        import_id = conn.execute(insert(imports_t).values(
            layer_id=layer.kind.id, created_at=_now(), author=clip_text(author, _AUTHOR),
            source=clip_text(source or "", _SOURCE), mode=mode,
            version=version, report=json.dumps(report, ensure_ascii=False, default=str))).inserted_primary_key[0]
        if layer.refused:
            conn.execute(insert(quarantine_t), [
                {"import_id": import_id, "layer_id": layer.kind.id, "feature_index": r.get("index"),
                 "feature_id": _quarantine_id(r.get("id")),
                 "reasons": json.dumps(r["reasons"], ensure_ascii=False),
                 "raw": json.dumps(r.get("raw"), ensure_ascii=False, default=str)} for r in layer.refused])
        return import_id

    def last_quarantine(self, layer_id: str) -> int | None:
        """The id of the newest import of ``layer_id`` that put features in quarantine."""
        with self._reading() as conn:
            return conn.execute(select(func.max(quarantine_t.c.import_id))
                                .where(quarantine_t.c.layer_id == layer_id)).scalar()

    def quarantine_imports(self, layer_id: str, limit: int = 20) -> list[dict]:
        """The newest ``limit`` imports of ``layer_id`` that kept refused features, newest first: ``id``,
        ``created_at``, ``author``, ``source``, ``mode`` ("refused" when it published nothing), ``version`` (the
        version it published or left live; None when it published nothing) and ``refused`` (how many it kept)."""
        refused = func.count(quarantine_t.c.pk).label("refused")
        with self._reading() as conn:
            rows = conn.execute(
                select(imports_t.c.id, imports_t.c.created_at, imports_t.c.author, imports_t.c.source,
                       imports_t.c.mode, imports_t.c.version, refused)
                .join(quarantine_t, quarantine_t.c.import_id == imports_t.c.id)
                .where(imports_t.c.layer_id == layer_id)
                .group_by(imports_t.c.id, imports_t.c.created_at, imports_t.c.author, imports_t.c.source,
                          imports_t.c.mode, imports_t.c.version)
                .order_by(imports_t.c.id.desc()).limit(limit)).mappings().all()
        return [dict(r) for r in rows]

    def rollback(self, kind: LayerKind, number: int, *, author: str, expected_version: int | None = None,
                 confirmed: tuple[int, int] | None = None) -> Version:
        """Publish the content of version ``number`` as a new version (``expected_version`` and ``confirmed``
        as for :meth:`publish`; :meth:`rollback_plan` says what it would do)."""
        return self.publish(self._version_layer(kind, number), author=author, mode="replace", restored_from=number,
                            source=f"version {number}", message=f"rollback to version {number}",
                            expected_version=expected_version, confirmed=confirmed)

    def rollback_plan(self, kind: LayerKind, number: int) -> Plan:
        """What :meth:`rollback` to version ``number`` would do now, writing nothing."""
        return self.plan(self._version_layer(kind, number), "replace")

    def _version_layer(self, kind: LayerKind, number: int) -> Layer:
        if not any(v["number"] == number for v in self.history(kind.id)):
            raise LookupError(f"{kind.id} has no version {number}")
        return self.load(kind, number)

    def audit(self, actor: str, action: str, layer_id: str | None = None, detail: dict | None = None) -> None:
        with self._writing() as conn:
            self._audit(conn, actor, action, layer_id, detail or {})

    @staticmethod
    def _audit(conn, actor, action, layer_id, detail) -> None:
        conn.execute(insert(audit_t).values(at=_now(), actor=clip_text(actor, _AUTHOR), action=action, layer_id=layer_id,
                                            detail=json.dumps(detail, ensure_ascii=False, default=str)))

    def is_empty(self) -> bool:
        with self._reading() as conn:
            return conn.execute(select(func.count()).select_from(layers_t)).scalar() == 0

    def create_user(self, name: str, password_hash: str, role: str, layers: list[str], *, actor: str) -> int:
        """Raises ValueError when ``name`` breaks the user-name rule (:func:`layers.accounts.check_name`)."""
        why = accounts.check_name(name)
        if why:
            raise ValueError(why)
        with self._writing() as conn:
            user_id = conn.execute(insert(users_t).values(
                name=name, password_hash=password_hash, role=role, layers=json.dumps(layers), active=True,
                created_at=_now())).inserted_primary_key[0]
            self._audit(conn, actor, "user-create", None, {"name": name, "role": role, "layers": layers})
        return user_id

    def name_taken(self, name: str) -> bool:
        """Whether a user has this name, in any letter case ("Boss" and "boss" would confuse the audit log)."""
        with self._reading() as conn:
            return conn.execute(select(func.count()).select_from(users_t)
                                .where(func.lower(users_t.c.name) == name.lower())).scalar() > 0

    def user(self, name: str) -> dict | None:
        with self._reading() as conn:
            row = conn.execute(select(users_t).where(users_t.c.name == name)).mappings().first()
        return dict(row, layers=json.loads(row["layers"])) if row else None

    def users(self) -> list[dict]:
        with self._reading() as conn:
            rows = conn.execute(select(users_t).order_by(users_t.c.name)).mappings().all()
        return [dict(r, layers=json.loads(r["layers"])) for r in rows]

    def end_sessions(self, user_id: int) -> None:
        """End every staff session of this user (they carry the generation this raises)."""
        with self.engine.begin() as conn:
            conn.execute(update(users_t).where(users_t.c.id == user_id)
                         .values(session_generation=users_t.c.session_generation + 1))

    def set_password(self, name: str, password_hash: str, *, actor: str, must_change: bool = False) -> bool:
        """Change a password; the user's sessions end. ``must_change``: it is a temporary password an admin
        set (audited as a reset), which the user must replace at their next log-in. False when there is no
        such user."""
        with self.engine.begin() as conn:
            done = conn.execute(update(users_t).where(users_t.c.name == name).values(
                password_hash=password_hash, must_change_password=must_change,
                session_generation=users_t.c.session_generation + 1))
            if done.rowcount:
                self._audit(conn, actor, "user-password-reset" if must_change else "user-password", None, {"name": name})
        return bool(done.rowcount)

    def set_active(self, name: str, active: bool, *, actor: str) -> bool:
        """(De)activate an account; deactivation ends its sessions. False when there is no such user."""
        with self.engine.begin() as conn:
            done = conn.execute(update(users_t).where(users_t.c.name == name).values(
                active=active, session_generation=users_t.c.session_generation + 1))
            if done.rowcount:
                self._audit(conn, actor, "user-activate" if active else "user-deactivate", None, {"name": name})
        return bool(done.rowcount)

    def user_by_id(self, user_id: int) -> dict | None:
        with self._reading() as conn:
            row = conn.execute(select(users_t).where(users_t.c.id == user_id)).mappings().first()
        return dict(row, layers=json.loads(row["layers"])) if row else None

    def diff(self, layer_id: str, number: int) -> dict[str, list]:
        """What version ``number`` did: ids added, removed and changed against the version before it."""
        with self._reading() as conn:
            wrote = {r[0] for r in conn.execute(select(features_t.c.feature_id).where(
                features_t.c.layer_id == layer_id, features_t.c.valid_from == number))}
            ended = {r[0] for r in conn.execute(select(features_t.c.feature_id).where(
                features_t.c.layer_id == layer_id, features_t.c.valid_to == number))}
        ids = lambda keys: sorted(json.loads(k) for k in keys)  # noqa: E731
        return {"added": ids(wrote - ended), "removed": ids(ended - wrote), "changed": ids(wrote & ended)}

    def count_features(self, layer_id: str) -> int:
        with self._reading() as conn:
            return conn.execute(select(func.count()).select_from(features_t).where(
                features_t.c.layer_id == layer_id, features_t.c.valid_to.is_(None))).scalar()

    # -- what changed, and accounts (read by layers/changes.py and the admin pages) --------------------
    def version_sources(self, layer_id: str) -> dict[int, dict]:
        """For each version of ``layer_id``, the import that made it: ``{"source", "mode"}``."""
        with self._reading() as conn:
            rows = conn.execute(select(imports_t.c.version, imports_t.c.source, imports_t.c.mode).where(
                imports_t.c.layer_id == layer_id, imports_t.c.version.is_not(None), imports_t.c.mode != "refused")
                .order_by(imports_t.c.id)).all()
        found: dict[int, dict] = {}
        for version, source, mode in rows:  # the first import of a version made it (later ones changed nothing)
            found.setdefault(version, {"source": source, "mode": mode})
        return found

    def version_rows(self, layer_id: str, number: int) -> tuple[dict, dict]:
        """The features version ``number`` wrote and those it ended, each ``{id: (properties, WKB)}``."""
        def rows(column):
            with self._reading() as conn:
                found = conn.execute(select(features_t.c.feature_id, features_t.c.properties, features_t.c.geometry)
                                     .where(features_t.c.layer_id == layer_id, column == number)).all()
            return {json.loads(f): (json.loads(p), bytes(g)) for f, p, g in found}
        return rows(features_t.c.valid_from), rows(features_t.c.valid_to)

    def update_account(self, name: str, *, actor: str, role: str | None = None, layers: list[str] | None = None,
                       active: bool | None = None) -> dict | None:
        """Change an account's role, layers or whether it may log in, in one transaction; deactivation ends
        its sessions. Raises ValueError when the change would leave no active admin. Returns the account as
        it was, or None when there is no such user."""
        if role is not None and role not in accounts.ROLES:
            raise ValueError(f"role must be one of {', '.join(accounts.ROLES)}")
        with self._writing() as conn:
            row = conn.execute(select(users_t).where(users_t.c.name == name).with_for_update()).mappings().first()
            if row is None:
                return None
            before = dict(row, layers=json.loads(row["layers"]))
            after = {"role": role if role is not None else before["role"],
                     "layers": list(layers) if layers is not None else before["layers"],
                     "active": bool(active) if active is not None else bool(before["active"])}
            if before["role"] == "admin" and before["active"] and (after["role"] != "admin" or not after["active"]):
                admins = conn.execute(select(func.count()).select_from(users_t).where(
                    users_t.c.role == "admin", users_t.c.active.is_(True), users_t.c.name != name)).scalar()
                if not admins:
                    raise ValueError("至少要保留一个有效的管理员 This would leave no active admin: make another admin first")
            values = {"role": after["role"], "layers": json.dumps(after["layers"]), "active": after["active"]}
            if not after["active"] or after["role"] != before["role"]:
                values["session_generation"] = users_t.c.session_generation + 1
            conn.execute(update(users_t).where(users_t.c.id == row["id"]).values(**values))
            was = {"role": before["role"], "layers": before["layers"], "active": bool(before["active"])}
            action = ("user-deactivate" if not after["active"] else "user-activate") if after["active"] != was["active"] \
                else "user-update"
            self._audit(conn, actor, action, None, {"name": name, "before": was, "after": after})
        return before

    def audit_page(self, *, actor: str | None = None, action: str | None = None, layer_id: str | None = None,
                   since: datetime | None = None, until: datetime | None = None, offset: int = 0,
                   limit: int = 50) -> tuple[list[dict], int]:
        """Audit records matching every filter given (``since`` inclusive, ``until`` exclusive, both UTC),
        newest first: ``limit`` of them from ``offset``, and how many match in all."""
        cond = []
        if actor:
            cond.append(audit_t.c.actor == actor)
        if action:
            cond.append(audit_t.c.action == action)
        if layer_id:
            cond.append(audit_t.c.layer_id == layer_id)
        if since is not None:
            cond.append(audit_t.c.at >= since)
        if until is not None:
            cond.append(audit_t.c.at < until)
        with self._reading() as conn:
            total = conn.execute(select(func.count()).select_from(audit_t).where(*cond)).scalar()
            rows = conn.execute(select(audit_t).where(*cond).order_by(audit_t.c.id.desc())
                                .offset(offset).limit(limit)).mappings().all()
        return [dict(r, detail=_loads_or_text(r["detail"])) for r in rows], total

    def audit_actions(self) -> list[str]:
        with self._reading() as conn:
            return sorted(r[0] for r in conn.execute(select(audit_t.c.action).distinct()))


def _loads_or_text(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def _lost_publish_race(exc: IntegrityError) -> bool:
    """A unique violation on a layer's row or version number: another publish of the layer won the race."""
    return (exc.statement or "").lstrip().upper().startswith(("INSERT INTO VERSIONS", "INSERT INTO LAYERS"))


def _quarantine_id(value) -> str | None:
    """A refused feature's id for quarantine.feature_id: canonical when it can be, else the JSON text when it
    fits, else none (the feature as it came in, with its id, is kept in quarantine.raw)."""
    if value is None:
        return None
    fid, _ = canonical_id(value)
    text = _dumps(fid if fid is not None else value) if not isinstance(value, (dict, list)) else None
    return text if text is not None and len(text) <= _FEATURE_ID else None


def _sqlite_connect(dbapi_connection, _record):
    """SQLAlchemy's pysqlite recipe: the driver must not begin transactions on its own (it would begin them
    deferred, and late); :func:`_sqlite_begin` does."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(conn) -> None:
    """Write transactions take SQLite's write lock at once (BEGIN IMMEDIATE; others wait up to busy_timeout),
    so that two publishes of a layer cannot both read the same live version. Reads begin deferred."""
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("scenemap_write") else "BEGIN")
