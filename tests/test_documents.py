"""Versioned documents in the store (layers.documents): numbered versions, audit, conflicts, restore."""

import pytest

from layers.store import Conflict, Store


@pytest.fixture
def store():
    s = Store("sqlite://")
    s.upgrade()
    return s


def test_versions_are_numbered_kept_and_audited(store):
    docs = store.documents
    assert docs.get("x") is None and docs.version("x") == 0
    assert docs.save("x", '{"a": 1}', author="ann", message="first") == 1
    assert docs.save("x", '{"a": 2}', author="bob", expected_version=1) == 2
    assert docs.get("x").body == '{"a": 2}' and docs.get("x", 1).body == '{"a": 1}'
    assert [(h["number"], h["author"], h["message"]) for h in docs.history("x")] == [(1, "ann", "first"), (2, "bob", "")]
    assert docs.get("y") is None  # documents are separate
    audit = [(a["action"], a["detail"]["version"]) for a in store.audit_log() if a["action"].startswith("document")]
    assert sorted(audit, key=lambda a: a[1]) == [("document.save", 1), ("document.save", 2)]


def test_a_save_based_on_an_old_version_is_refused_and_writes_nothing(store):
    docs = store.documents
    docs.save("x", "one", author="ann")
    docs.save("x", "two", author="bob", expected_version=1)
    with pytest.raises(Conflict, match="version 2"):
        docs.save("x", "three", author="ann", expected_version=1)
    assert docs.version("x") == 2 and docs.get("x").body == "two"


def test_a_restore_is_a_new_version_that_says_where_it_came_from(store):
    docs = store.documents
    docs.save("x", "one", author="ann")
    docs.save("x", "two", author="ann")
    assert docs.save("x", docs.get("x", 1).body, author="ann", restored_from=1) == 3
    assert docs.get("x").body == "one" and docs.get("x").restored_from == 1
    assert [a["action"] for a in store.audit_log()][-1] == "document.restore"
    assert store.audit_log()[-1]["detail"]["restored_from"] == 1
