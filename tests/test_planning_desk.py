"""The planning desk as one service (layers.planning.desk): the ruleset versioned in the store, and checks on
the live layers with the data versions recorded."""

import datetime as dt
import json

import pytest

from layers.planning import desk as desk_mod
from layers.planning.desk import Desk, load_ruleset, restore_ruleset, save_ruleset
from layers.planning.rules import DEFAULT, RulesetError
from layers.store import Conflict, Store


@pytest.fixture
def store():
    s = Store("sqlite://")
    s.upgrade()
    return s


def edited(**changes):
    data = json.loads(json.dumps(DEFAULT))
    data["rules"][0]["params"].update(changes)
    return data


def test_the_default_ruleset_is_live_until_one_is_saved(store):
    assert load_ruleset(store).version == 0 and [r.id for r in load_ruleset(store)] == ["R1", "R2", "R3", "R4", "R5"]


def test_a_saved_ruleset_is_the_next_version_and_earlier_ones_stay_readable(store):
    saved = save_ruleset(store, edited(distance_m=40), author="admin", message="40 m", expected_version=0)
    assert saved.version == 1 and load_ruleset(store).get("R1").param("distance_m") == 40
    assert load_ruleset(store, 0).get("R1").param("distance_m") == 30
    detail = store.audit_log()[-1]["detail"]
    assert detail["document"] == "planning.ruleset" and detail["changed"] == {"added": [], "removed": [],
                                                                               "changed": ["R1"]}


def test_a_bad_ruleset_is_refused_with_the_field_named_and_the_live_one_untouched(store):
    with pytest.raises(RulesetError) as caught:
        save_ruleset(store, edited(distance_m=-5), author="admin")
    assert caught.value.problems[0][0] == "rules[R1].params.distance_m"
    with pytest.raises(RulesetError):
        save_ruleset(store, "{not json", author="admin")
    assert load_ruleset(store).version == 0 and store.documents.version("planning.ruleset") == 0


def test_saving_the_same_rules_again_is_refused(store):
    with pytest.raises(RulesetError, match="nothing to save"):
        save_ruleset(store, DEFAULT, author="admin")


def test_a_save_over_someone_elses_is_a_conflict(store):
    save_ruleset(store, edited(distance_m=40), author="a", expected_version=0)
    with pytest.raises(Conflict):
        save_ruleset(store, edited(distance_m=35), author="b", expected_version=0)
    assert load_ruleset(store).get("R1").param("distance_m") == 40


def test_restoring_the_default_is_a_new_version(store):
    save_ruleset(store, edited(distance_m=40), author="a")
    restored = restore_ruleset(store, 0, author="a")
    assert restored.version == 2 and load_ruleset(store).get("R1").param("distance_m") == 30
    assert store.documents.get("planning.ruleset").restored_from == 0
    with pytest.raises(KeyError):
        restore_ruleset(store, 9, author="a")


def test_the_desk_checks_the_live_layers_and_records_their_versions(store):
    from webmap import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False})
    with app.app_context():
        from webmap.db import get_desk

        desk = get_desk()
        run = desk.check_all(as_of=dt.date(2026, 9, 30), week=dt.date(2026, 9, 9))
        assert run.data == {desk_mod.SITES: 1, desk_mod.PLACES: 1, desk_mod.COMPLAINTS: 1}
        assert len(run.results) == len(desk.layer(desk_mod.SITES)) > 0
        assert {v.rule_id for v in run.results[0].verdicts} == {"R1", "R2", "R3", "R4", "R5"}
        one = desk.check_site({"type": "Point", "coordinates": [120.38, 36.07]}, {"opening_hours": "24/7"})
        assert one.verdict("R4").status == "cannot_assess"
        with pytest.raises(ValueError, match="Qingdao|青岛"):
            desk.check_site({"type": "Point", "coordinates": [116.4, 39.9]}, {})
        assert all(z.area_m2 > 0 for z in desk.zones())


def test_a_desk_without_layers_cannot_assess_rather_than_pass(store):
    run = Desk(store, lambda _id: None).check_all(as_of=dt.date(2026, 9, 30))
    assert run.results == [] and run.data == {"outdoor_dining_pilots": 0, "sensitive_sites": 0, "complaints": 0}
    one = Desk(store, lambda _id: None).check_site({"type": "Point", "coordinates": [120.38, 36.07]},
                                                    {"opening_hours": "24/7", "clear_walkway_m": 2})
    assert one.verdict("R1").status == "cannot_assess" and "no protected places" in one.verdict("R1").reason
