"""layers.store: versions, diffs, rollback, optimistic locking, quarantine, audit — on a real SQLite file."""

import threading
from datetime import UTC

import pytest

from layers.load import read_layer
from layers.registry import get
from layers.store import Conflict, Store, Unconfirmed

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


def test_a_plan_says_what_a_publish_would_do_without_writing_and_matches_it(store):
    store.publish(layer_of([point("a", 120.38, 36.07, name="甲"), point("b", 120.39, 36.07, name="乙"),
                            point("c", 120.40, 36.07, name="丙")]), author="ann")
    incoming = layer_of([point("a", 120.38, 36.07, name="甲"), point("b", 120.39, 36.07, name="乙二"),
                         point("d", 120.41, 36.07, name="丁")])
    replace, append = store.plan(incoming, "replace"), store.plan(incoming, "append")
    assert (replace.version, replace.added, replace.changed, replace.removed, replace.total) == (1, ["d"], ["b"], ["c"], 3)
    assert replace.names == {"b": "乙二", "c": "丙"} and replace.destructive and replace.confirmation == (1, 1)
    assert (append.added, append.changed, append.removed, append.total) == (["d"], ["b"], [], 4)
    assert store.live_versions()["outdoor_dining_pilots"] == 1 and store.count_features("outdoor_dining_pilots") == 3
    # the publish checks the confirmed counts inside its transaction, by the same rule
    with pytest.raises(Unconfirmed) as refused:
        store.publish(incoming, author="bob", mode="replace", confirmed=(0, 0))
    assert refused.value.plan.removed == ["c"] and "remove 1" in str(refused.value)
    assert store.live_versions()["outdoor_dining_pilots"] == 1
    done = store.publish(incoming, author="bob", mode="replace", confirmed=replace.confirmation)
    assert (done.added, done.changed, done.removed) == (1, 1, 1)
    assert not store.plan(incoming, "replace").destructive and store.plan(incoming, "replace").added == []


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


def test_the_imports_that_kept_refused_features_are_listed_newest_first(store):
    published = store.publish(layer_of([point("a", 120.38, 36.07), point("b", 36.07, 120.38)]), author="ann",
                              source="/home/ann/一.geojson")
    store.publish(layer_of([point("c", 120.38, 36.07)]), author="ann", mode="append")  # refuses nothing
    refused = store.record_refusal(layer_of([point("d", 0, 0), point("e", 1, 1)]), author="bob", source="二.csv")
    rows = store.quarantine_imports(DINING.id)
    assert [(r["id"], r["mode"], r["version"], r["refused"], r["author"]) for r in rows] == [
        (refused, "refused", None, 2, "bob"), (published.import_id, "replace", 1, 1, "ann")]
    assert rows[1]["source"] == "/home/ann/一.geojson" and rows[0]["created_at"] is not None
    assert store.quarantine_imports("hq_clusters") == [] and len(store.quarantine_imports(DINING.id, limit=1)) == 1


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


def race(count, work):
    """Run work(n) for n in range(count) in threads released together; return each result or exception."""
    barrier, outcomes = threading.Barrier(count), [None] * count

    def run(n):
        barrier.wait()
        try:
            outcomes[n] = work(n)
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test looks at
            outcomes[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.parametrize("start", [0, 1], ids=["first-publish", "later-publish"])
def test_simultaneous_publishes_one_wins_the_others_conflict(store, start):
    if start:
        store.publish(layer_of([point("a", 120.38, 36.07)]), author="seed")
    edits = [layer_of([point("a", 120.38, 36.07, capacity=n + 1)]) for n in range(25)]
    outcomes = race(25, lambda n: store.publish(edits[n], author=f"ed{n}", expected_version=start))
    won = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(won) == 1 and won[0].number == start + 1, outcomes
    assert all(isinstance(o, Conflict) for o in outcomes if o is not won[0]), outcomes
    assert [h["number"] for h in store.history(DINING.id)] == list(range(1, start + 2))
    assert store.live_versions()[DINING.id] == start + 1 and store.count_features(DINING.id) == 1


def test_simultaneous_publishes_without_expectations_all_land_in_turn(store):
    store.publish(layer_of([point("a", 120.38, 36.07)]), author="seed")
    edits = [layer_of([point("a", 120.38, 36.07, capacity=n + 1)]) for n in range(12)]
    outcomes = race(12, lambda n: store.publish(edits[n], author=f"ed{n}").number)
    assert sorted(outcomes) == list(range(2, 14)), outcomes
    assert [h["number"] for h in store.history(DINING.id)] == list(range(1, 14))
    assert store.count_features(DINING.id) == 1


def test_a_version_number_taken_behind_the_store_s_back_is_a_conflict(store):
    """Whatever made the version number taken (an older server, a race), the caller gets Conflict, not a
    database error."""
    from datetime import datetime

    from sqlalchemy import insert

    from layers.store import versions_t

    store.publish(layer_of([point("a", 120.38, 36.07)]), author="ann")
    with store.engine.begin() as conn:
        conn.execute(insert(versions_t).values(layer_id=DINING.id, number=2, created_at=datetime.now(UTC),
                                               author="other", added=0, removed=0, changed=0, total=1))
    with pytest.raises(Conflict, match="at the same moment"):
        store.publish(layer_of([point("a", 120.38, 36.07, capacity=3)]), author="bob")
    assert store.live_versions()[DINING.id] == 1 and store.load(DINING).properties[0].get("capacity") is None


def test_long_ids_are_refused_before_the_store_the_same_on_both_databases(store):
    long_id = "长" * 600  # SQLite would keep it; PostgreSQL's String(512) would fail the whole publish
    layer = layer_of([point(long_id, 120.38, 36.07), point("ok", 120.39, 36.07)])
    assert layer.ids == ["ok"] and "600 characters long; at most 200" in layer.refused[0]["reasons"][0]
    version = store.publish(layer, author="ann")
    assert store.load(DINING).ids == ["ok"]
    [row] = store.quarantined(version.import_id)
    assert row["feature_id"] is None and row["feature_index"] == 0  # the full id stays in the raw feature
    refused = store.quarantine_collection(DINING.id, version.import_id)["features"]
    assert refused[0]["id"] == long_id


def test_text_from_users_is_shortened_to_fit_the_same_on_both_databases(store):
    from sqlalchemy import select

    from layers.store import imports_t

    source = "/数据/" + "很长的文件夹名/" * 200 + "file\x00name.geojson"
    version = store.publish(layer_of([point("a", 120.38, 36.07)]), author="作者" * 100, source=source)
    with store.engine.connect() as conn:
        stored = conn.execute(select(imports_t.c.source, imports_t.c.author)
                              .where(imports_t.c.id == version.import_id)).one()
    assert len(stored.source) == 512 and stored.source.endswith("…") and stored.source.startswith("/数据/很长的文件夹名/")
    assert len(stored.author) == 128 and stored.author.endswith("作…")
    history = store.history(DINING.id)[-1]
    assert history["author"] == stored.author
    store.audit("a\x00" + "b" * 500, "login-failed")
    actor = store.audit_log()[-1]["actor"]
    assert actor.startswith("a\ufffdbbb") and len(actor) == 128


def test_a_user_name_is_checked_before_it_is_stored(store):
    for name in ("x" * 65, "", "a b", "a\x00b"):
        with pytest.raises(ValueError, match="user name"):
            store.create_user(name, "hash", "editor", [], actor="admin")
    assert store.users() == []
    store.create_user("张三.zhang@qd", "hash", "editor", [], actor="admin")
    assert [u["name"] for u in store.users()] == ["张三.zhang@qd"]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_migration_0003_makes_stored_numeric_ids_text_so_a_reimport_changes_nothing(request, tmp_path, database):
    from sqlalchemy import insert

    from layers.store import quarantine_t

    url = f"sqlite:///{tmp_path}/old.sqlite" if database == "sqlite" else \
        request.getfixturevalue("postgres").new_database()
    store = Store(url)
    store.upgrade("0002")
    features = [point("7", 120.38, 36.07), point("p1", 120.39, 36.07), point("9", 120.40, 36.07),
                point("9-text", 120.41, 36.07, capacity=9)]
    old = layer_of(features)
    old.ids = [7, "p1", 9, "9"]  # as the store kept them before: numbers and text side by side
    version = store.publish(old, author="old-server")
    with store.engine.begin() as conn:
        conn.execute(insert(quarantine_t).values(import_id=version.import_id, layer_id=DINING.id, feature_index=4,
                                                 feature_id="12", reasons="[]", raw="{}"))
    store.upgrade()
    assert store.load(DINING).ids == ["7", "p1", "9 (number)", "9"]
    assert store.quarantined(version.import_id)[0]["feature_id"] == '"12"'
    again = layer_of([point(7, 120.38, 36.07), point("p1", 120.39, 36.07)])
    again.ids, again.properties = again.ids + ["9 (number)", "9"], again.properties + old.properties[2:]
    again.geometries = old.geometries
    assert store.publish(again, author="re-import").unchanged
    store.engine.dispose()



def test_a_publish_that_waits_too_long_for_the_sqlite_lock_is_a_conflict(tmp_path):
    """Another process holds SQLite's write lock past busy_timeout: the publish is a Conflict (409), not a 500."""
    import sqlite3

    from layers.catalog import Catalog
    from layers.store import Conflict, Store

    from .conftest import DATA

    store = Store(f"sqlite:///{tmp_path / 's.sqlite'}")
    store.upgrade()
    layer = Catalog.read_directory(DATA)[-1]
    store.publish(layer, author="seed")
    blocker = sqlite3.connect(tmp_path / "s.sqlite")
    blocker.execute("BEGIN IMMEDIATE")
    blocker.execute("PRAGMA busy_timeout=0")
    store.engine.dispose()
    from sqlalchemy import event

    event.listen(store.engine, "connect", lambda c, _: c.execute("PRAGMA busy_timeout=50"))
    try:
        with pytest.raises(Conflict, match="being published by someone else"):
            store.publish(layer, author="late", mode="append")
    finally:
        blocker.rollback()
        blocker.close()
    assert store.live_versions()[layer.kind.id] == 1
