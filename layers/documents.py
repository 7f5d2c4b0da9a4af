"""Versioned documents in the store: settings that are data, edited by staff and kept like layers — every
save a new numbered version with its author, time and message, audited; any earlier version can be
restored (as a new version, so nothing is lost); a save names the version it was based on, and one based on
an older version is refused (:class:`layers.store.Conflict`), as a layer publish is.

The planning desk's ruleset (``planning.ruleset``), its plan targets and the district populations live here.
Bodies are text (JSON by convention); their meaning, and the check before a save, belong to their owners.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, DateTime, Integer, String, Table, Text, func, insert, select
from sqlalchemy.exc import IntegrityError

from .store import Conflict, Store, _now, clip_text, metadata

documents_t = Table("documents", metadata,
                    Column("name", String(64), primary_key=True),
                    Column("number", Integer, primary_key=True),
                    Column("created_at", DateTime(timezone=True), nullable=False),
                    Column("author", String(128), nullable=False),
                    Column("message", Text, nullable=False, server_default=""),
                    Column("body", Text, nullable=False),
                    Column("restored_from", Integer, nullable=True))


@dataclass(frozen=True)
class Document:
    name: str
    number: int
    created_at: datetime
    author: str
    message: str
    body: str
    restored_from: int | None = None


class Documents:
    """The versioned documents of one store (``Store.documents``)."""

    def __init__(self, store: Store):
        self._store = store

    def get(self, name: str, number: int | None = None) -> Document | None:
        """Version ``number`` of ``name`` (the newest by default), or None when there is none."""
        query = select(documents_t).where(documents_t.c.name == name)
        query = (query.where(documents_t.c.number == number) if number is not None
                 else query.order_by(documents_t.c.number.desc()).limit(1))
        with self._store._reading() as conn:
            row = conn.execute(query).mappings().first()
        return Document(**row) if row else None

    def version(self, name: str) -> int:
        """The newest version number of ``name``; 0 when it has never been saved."""
        with self._store._reading() as conn:
            return conn.execute(select(func.max(documents_t.c.number))
                                .where(documents_t.c.name == name)).scalar() or 0

    def history(self, name: str) -> list[dict]:
        """Every version of ``name``, oldest first, without the bodies."""
        with self._store._reading() as conn:
            rows = conn.execute(select(documents_t.c.number, documents_t.c.created_at, documents_t.c.author,
                                       documents_t.c.message, documents_t.c.restored_from)
                                .where(documents_t.c.name == name).order_by(documents_t.c.number)).mappings().all()
        return [dict(r) for r in rows]

    def save(self, name: str, body: str, *, author: str, message: str = "", expected_version: int | None = None,
             restored_from: int | None = None, detail: dict | None = None) -> int:
        """Save ``body`` as the next version of ``name`` and audit it (action ``document.save`` or
        ``document.restore``, with ``detail``); returns the new number. ``expected_version``: the version the
        author saw; when another save came first, :class:`Conflict` and nothing is written."""
        try:
            return self._save(name, body, author, message, expected_version, restored_from, detail)
        except IntegrityError:  # another save took the same number first (PostgreSQL; SQLite serializes)
            raise Conflict(f"{name} 刚被他人修改，请重新打开后再改 · {name} was changed by someone else just now: "
                           "reload it and make your change again") from None

    def _save(self, name, body, author, message, expected_version, restored_from, detail) -> int:
        with self._store._writing() as conn:
            current = conn.execute(select(func.max(documents_t.c.number))
                                   .where(documents_t.c.name == name)).scalar() or 0
            if expected_version is not None and expected_version != current:
                raise Conflict(f"{name} 已被他人改为第 {current} 版（你看到的是第 {expected_version} 版），请重新打开后再改 · "
                               f"{name} is now at version {current} (you saw {expected_version}): reload it and "
                               "make your change again")
            number = current + 1
            conn.execute(insert(documents_t).values(name=name, number=number, created_at=_now(),
                                                    author=clip_text(author, 128), message=message or "",
                                                    body=body, restored_from=restored_from))
            action = "document.restore" if restored_from is not None else "document.save"
            self._store._audit(conn, author, action, None,
                               {"document": name, "version": number, "restored_from": restored_from,
                                "message": message or "", **(detail or {})})
        return number
