"""feature ids are text: ids stored as JSON numbers (7) become JSON strings ("7"), in features and quarantine

Since this revision every reader's ids go through layers.load.canonical_id, which makes a whole number its
decimal text; this migration gives the stored ids the same form, so that importing the same data again
after the upgrade changes nothing. Where a layer already holds the text id as well (both 7 and "7"), the
number's feature becomes "7 (number)" (logged), so that neither feature is lost.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 10:00:00
"""
import json
import logging

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
features = sa.table("features", sa.column("pk", sa.Integer), sa.column("layer_id", sa.String),
                    sa.column("feature_id", sa.String))
quarantine = sa.table("quarantine", sa.column("pk", sa.Integer), sa.column("layer_id", sa.String),
                      sa.column("feature_id", sa.String))


def _text(stored: str) -> str | None:
    """The text form of a stored numeric id (the rule of canonical_id as of this revision, frozen here), or
    None when ``stored`` is not a number."""
    try:
        value = json.loads(stored)
    except ValueError:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return str(int(value)) if isinstance(value, int) or value.is_integer() else str(value)


def _dumps(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _convert(conn, table, renaming: bool) -> None:
    rows = conn.execute(sa.select(table.c.pk, table.c.layer_id, table.c.feature_id)
                        .where(table.c.feature_id.is_not(None), ~table.c.feature_id.like('"%'))).all()
    chosen: dict[tuple[str, str], str] = {}
    updates = []
    for pk, layer_id, stored in rows:
        key = (layer_id, stored)
        if key not in chosen:
            text = _text(stored)
            if text is None:
                continue
            while renaming and conn.execute(sa.select(sa.func.count()).select_from(table).where(
                    table.c.layer_id == layer_id, table.c.feature_id == _dumps(text))).scalar():
                log.warning("%s: the id %s exists as text already; the numeric id %s becomes %r",
                            layer_id, _dumps(text), stored, text + " (number)")
                text += " (number)"
            chosen[key] = _dumps(text)
        updates.append({"b_pk": pk, "b_fid": chosen[key]})
    if updates:
        conn.execute(table.update().where(table.c.pk == sa.bindparam("b_pk"))
                     .values(feature_id=sa.bindparam("b_fid")), updates)
    log.info("%s: %d numeric feature ids are text now", table.name, len(updates))


def upgrade() -> None:
    conn = op.get_bind()
    _convert(conn, features, renaming=True)
    _convert(conn, quarantine, renaming=False)


def downgrade() -> None:
    """Nothing to undo in the schema; the ids stay text (which of them were numbers is not recorded, and
    older code reads text ids as they are)."""
