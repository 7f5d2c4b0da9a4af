"""The planning ruleset as data: validation naming the field, the defaults, stable JSON with a version."""

import copy
import json

import pytest

from layers.planning import rules


def broken(change):
    data = copy.deepcopy(rules.DEFAULT)
    change(data)
    with pytest.raises(rules.RulesetError) as caught:
        rules.Ruleset.from_dict(data)
    return caught.value


def test_the_default_ruleset_is_the_issues():
    ruleset = rules.default()
    assert [r.id for r in ruleset] == ["R1", "R2", "R3", "R4", "R5"]
    r1 = ruleset.get("R1")
    assert (r1.severity, r1.param("categories"), r1.param("distance_m"), r1.param("window")) == \
        ("fail", ("residential",), 30.0, "22:00-06:00")
    assert ruleset.get("R2").param("categories") == ("school", "kindergarten") and ruleset.get("R2").severity == "warn"
    assert ruleset.get("R3").param("window") is None and ruleset.get("R3").param("distance_m") == 50
    assert ruleset.get("R4").params == {"property": "clear_walkway_m", "minimum": 1.5}
    assert ruleset.get("R5").params == {"categories": ("noise",), "distance_m": 50.0, "days": 90, "min_count": 3}
    for rule in ruleset:
        assert rule.title_zh and rule.title_en and rule.rationale_zh and rule.rationale_en


def test_the_defaults_say_they_are_other_cities_practice():
    assert "非青岛规定" in rules.default().get("R1").rationale_zh
    assert "not Qingdao's rules" in rules.default().get("R1").rationale_en


@pytest.mark.parametrize("change, field, words", [
    (lambda d: d["rules"][0]["params"].update(categories=["residential", "hotel"]), "rules[R1].params.categories",
     "'hotel' is not a sensitive-site category"),
    (lambda d: d["rules"][1]["params"].update(distance_m=-5), "rules[R2].params.distance_m", "cannot be negative"),
    (lambda d: d["rules"][0]["params"].update(window="22:00 till late"), "rules[R1].params.window",
     "not an OSM opening_hours value"),
    (lambda d: d["rules"][2].update(severity="fatal"), "rules[R3].severity", "'fatal' is not a severity"),
    (lambda d: d["rules"][4]["params"].update(categories=["loud"]), "rules[R5].params.categories",
     "not a complaint category"),
    (lambda d: d["rules"][3]["params"].update(property="name"), "rules[R4].params.property", "not a number field"),
    (lambda d: d["rules"][0]["params"].update(distanc_m=3), "rules[R1].params.distanc_m", "no parameter"),
    (lambda d: d["rules"][0]["params"].pop("distance_m"), "rules[R1].params.distance_m", "is required"),
    (lambda d: d["rules"][1].update(id="R1"), "rules[1].id", "used twice"),
    (lambda d: d["rules"][0].update(kind="magic"), "rules[R1].kind", "not a kind of rule"),
    (lambda d: d["rules"][4]["params"].update(days=0), "rules[R5].params.days", "from 1"),
    (lambda d: d["rules"][0]["title"].pop("en"), "rules[R1].title.en", "is required"),
])
def test_a_bad_ruleset_is_refused_naming_the_field(change, field, words):
    error = broken(change)
    assert any(where == field and words in message for where, message in error.problems), error.problems
    assert field in str(error)
    for _, message in error.problems:
        assert "·" in message  # Chinese, then English


def test_every_problem_is_named_at_once():
    def several(d):
        d["rules"][0]["params"]["distance_m"] = -1
        d["rules"][2]["severity"] = "?"
    assert {w for w, _ in broken(several).problems} == {"rules[R1].params.distance_m", "rules[R3].severity"}


def test_not_json_or_not_a_ruleset_is_refused():
    with pytest.raises(rules.RulesetError, match="not valid JSON"):
        rules.Ruleset.from_json("{")
    with pytest.raises(rules.RulesetError, match="non-empty list"):
        rules.Ruleset.from_dict({"rules": []})


def test_json_is_stable_versioned_and_round_trips():
    ruleset = rules.default()
    text = ruleset.to_json()
    assert json.loads(text)["format"] == rules.FORMAT and json.loads(text)["version"] == 0
    again = rules.Ruleset.from_json(text)
    assert again == ruleset and again.to_json() == text
    data = json.loads(text)
    data["version"] = 7
    seven = rules.Ruleset.from_dict(data)
    assert seven.version == 7 and seven.digest == ruleset.digest  # the digest is of the rules, not the number
    data["rules"][0]["params"]["distance_m"] = 40
    assert rules.Ruleset.from_dict(data).digest != ruleset.digest


def test_a_rule_may_name_a_category_as_a_single_word_and_no_window():
    data = copy.deepcopy(rules.DEFAULT)
    data["rules"].append({"id": "R6", "kind": "near_during", "severity": "fail",
                          "title": {"zh": "幼儿园 100 米内", "en": "Within 100 m of a kindergarten"},
                          "params": {"categories": "kindergarten", "distance_m": 100}})
    assert rules.Ruleset.from_dict(data).get("R6").param("categories") == ("kindergarten",)
