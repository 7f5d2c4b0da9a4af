"""layers.store: versions, diffs, rollback, optimistic locking, quarantine, audit — on a real SQLite file."""

import pytest

from layers.load import read_layer
from layers.registry import get
from layers.store import Conflict, Store

from .conftest import DATA, feature_collection, point

DINING = get("outdoor_dining_pilots")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """The same tests on the embedded default and on a real PostgreSQL (DATABASE_URL's other road)."""
    url = f"sqlite:///{tmp_path}/store.sqlite" if request.param == "sqlite" else \
        request.getfixturevalue("postgres").new_database()
    s = Store(url)
    s.upgrade()
    yield s
    s.engine.dispose()


def layer_of(features, kind=DINING):
    return read_layer(feature_collection(features).encode(), kind, source="test.geojson")


def test_upgrade_is_idempotent_and_versions_start_empty(store):
    store.upgrade()
    assert store.is_empty() and store.live_versions() == {}


def test_publish_diff_history_and_reading_any_version(store):
    v1 = store.publish(layer_of([point("a", 120.38, 36.07), point("b", 120.39, 36.07)]), author="ann")
    assert (v1.number, v1.added, v1.total) == (1, 2, 2)
    v2 = store.publish(layer_of([point("a", 120.38, 36.07, capacity=5), point("c", 120.40, 36.07)]), author="bob")
    assert (v2.number, v2.added, v2.changed, v2.removed, v2.total) == (2, 1, 1, 1, 2)
    assert store.load(DINING).ids == ["a", "c"] or sorted(store.load(DINING).ids) == ["a", "c"]
    assert sorted(store.load(DINING, 1).ids) == ["a", "b"]
    assert store.load(DINING, 1).properties[0].get("capacity") is None
    history = store.history(DINING.id)
    assert [(h["number"], h["author"]) for h in history] == [(1, "ann"), (2, "bob")]
    v3 = store.publish(layer_of([point("d", 120.41, 36.07)]), author="cy", mode="append")
    assert (v3.added, v3.removed, v3.total) == (1, 0, 3)


def test_an_unchanged_import_makes_no_new_version(store):
    features = [point("a", 120.38, 36.07)]
    store.publish(layer_of(features), author="ann")
    again = store.publish(layer_of(features), author="ann")
    assert again.unchanged and again.number == 1 and store.live_versions() == {DINING.id: 1}
    assert store.audit_log(DINING.id)[-1]["action"] == "import-unchanged"


def test_rollback_is_a_new_version_with_the_old_content(store):
    store.publish(layer_of([point("a", 120.38, 36.07)]), author="ann")
    store.publish(layer_of([point("b", 120.39, 36.07)]), author="ann")
    back = store.rollback(DINING, 1, author="admin")
    assert back.number == 3 and store.load(DINING).ids == ["a"]
    assert store.history(DINING.id)[-1]["restored_from"] == 1
    assert store.audit_log(DINING.id)[-1]["action"] == "rollback"
    with pytest.raises(LookupError):
        store.rollback(DINING, 9, author="admin")


def test_a_stale_write_is_a_conflict_and_loses_nothing(store):
    store.publish(layer_of([point("a", 120.38, 36.07)]), author="ann")
    # two editors both start from version 1
    store.publish(layer_of([point("a", 120.38, 36.07, capacity=1)]), author="ann", expected_version=1)
    with pytest.raises(Conflict, match="is at version 2, not 1"):
        store.publish(layer_of([point("a", 120.38, 36.07, capacity=2)]), author="bob", expected_version=1)
    assert store.load(DINING).properties[0]["capacity"] == 1 and store.live_versions()[DINING.id] == 2


def test_refused_features_go_to_quarantine_with_reasons(store):
    layer = layer_of([point("a", 120.38, 36.07), point("b", 36.07, 120.38), point("c", 120.38, 36.08, status="x")])
    assert len(layer) == 1 and len(layer.refused) == 2
    version = store.publish(layer, author="ann")
    rows = store.quarantined(version.import_id)
    assert [r["feature_index"] for r in rows] == [1, 2]
    assert "out of range" in rows[0]["reasons"][0] and "'x' is not one of" in rows[1]["reasons"][0]
    assert store.last_quarantine(DINING.id) == version.import_id


def test_seeding_the_sample_data(store):
    from layers.catalog import Catalog

    for layer in Catalog.read_directory(DATA):
        store.publish(layer, author="seed")
    catalog = Catalog.from_store(store)
    assert catalog.get("districts").count == 10 and catalog.get("outdoor_dining_pilots").version == 1


def test_users(store):
    store.create_user("alice", "hash", "editor", ["hq_clusters"], actor="admin")
    assert store.user("alice")["layers"] == ["hq_clusters"] and store.user("bob") is None
    assert store.audit_log()[-1]["action"] == "user-create"
