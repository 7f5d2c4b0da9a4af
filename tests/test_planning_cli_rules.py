"""flask --app webmap planning rules show|history|export|set|restore: the ruleset from the command line, through
the same desk service as the page (checked, versioned, audited; changes printed and confirmed first)."""

import json

from layers.planning.desk import RULESET, load_ruleset, save_ruleset
from layers.planning.rules import DEFAULT


def rules(runner, *args, stdin=None):
    return runner.invoke(args=["planning", "rules", *args], input=stdin)


def test_show_history_and_export_of_the_shipped_default(runner):
    shown = rules(runner, "show")
    assert shown.exit_code == 0 and "ruleset version 0 (现行 live)" in shown.stdout and "出厂默认" in shown.stdout
    assert "R1  [不通过 fail]  居民小区 30 米内夜间外摆" in shown.stdout and "GB 3096-2008" in shown.stdout
    assert "近 90 天内 50 米内（或指明本点）噪声扰民投诉不少于 3 件" in shown.stdout
    exported = rules(runner, "export").stdout
    assert json.loads(exported)["rules"][0]["params"]["distance_m"] == 30
    assert rules(runner, "show", "--json").stdout == exported
    assert "* v0" in rules(runner, "history").stdout
    missing = rules(runner, "show", "--version", "7")
    assert missing.exit_code == 1 and "no version 7" in missing.stderr


def test_set_prints_the_changes_asks_and_saves_with_yes(app, runner, tmp_path):
    store = app.extensions["store"]
    data = json.loads(rules(runner, "export").stdout)
    data["rules"][0]["params"]["distance_m"] = 35
    data["rules"][3]["severity"] = "warn"
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    asked = rules(runner, "set", str(path), "-m", "R1 35 m")
    assert asked.exit_code == 1 and "--yes" in asked.stderr and store.documents.version(RULESET) == 0
    assert "~ 修改 changed R1 距离（米） · distance (m): 30 → 35" in asked.stdout
    assert "~ 修改 changed R4 严重程度 · severity: 不通过 fail → 提示 warn" in asked.stdout
    done = rules(runner, "set", str(path), "-m", "R1 35 m", "--author", "planner", "--yes")
    assert done.exit_code == 0 and "saved ruleset version 1" in done.stdout
    live = load_ruleset(store)
    assert live.version == 1 and live.get("R1").param("distance_m") == 35
    history = rules(runner, "history").stdout
    assert "* v1" in history and "planner" in history and "R1 35 m" in history
    # export, set back: the export is accepted as it is (and the same rules again are refused as no change)
    again = tmp_path / "again.json"
    again.write_text(rules(runner, "export").stdout, "utf-8")
    same = rules(runner, "set", str(again), "--yes")
    assert same.exit_code == 1 and "the same as the live version 1" in same.stderr
    assert store.audit_log()[-1]["action"] == "document.save" and store.audit_log()[-1]["actor"] == "planner"


def test_a_bad_file_is_refused_with_every_field_named_on_stderr(app, runner, tmp_path):
    data = json.loads(json.dumps(DEFAULT))
    data["rules"][0]["params"]["distance_m"] = -3
    data["rules"][0]["params"]["categories"] = ["residential", "castle"]
    data["rules"][1]["params"]["window"] = "Mo-Fr 7 to 5"
    data["rules"][2]["severity"] = "maybe"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), "utf-8")
    refused = rules(runner, "set", str(path), "--yes")
    assert refused.exit_code == 1 and "4 problems" in refused.stderr
    for where in ("rules[R1].params.distance_m", "rules[R1].params.categories", "rules[R2].params.window",
                  "rules[R3].severity"):
        assert where in refused.stderr
    path.write_text("{oops", "utf-8")
    assert "not valid JSON" in rules(runner, "set", str(path), "--yes").stderr
    assert app.extensions["store"].documents.version(RULESET) == 0


def test_a_file_exported_before_another_save_is_refused(app, runner, tmp_path):
    store = app.extensions["store"]
    first = json.loads(json.dumps(DEFAULT))
    first["rules"][0]["params"]["distance_m"] = 31
    save_ruleset(store, first, author="a", expected_version=0)
    stale = json.loads(rules(runner, "export").stdout)  # version 1
    second = json.loads(json.dumps(first))
    second["rules"][0]["params"]["distance_m"] = 32
    save_ruleset(store, second, author="b", expected_version=1)
    stale["rules"][4]["params"]["days"] = 30
    path = tmp_path / "stale.json"
    path.write_text(json.dumps(stale), "utf-8")
    refused = rules(runner, "set", str(path), "--yes")
    assert refused.exit_code == 1 and "exported from version 1" in refused.stderr and "version 2" in refused.stderr
    assert load_ruleset(store).version == 2


def test_restore_prints_what_changes_and_makes_a_new_version(app, runner):
    store = app.extensions["store"]
    data = json.loads(json.dumps(DEFAULT))
    data["rules"].pop()
    save_ruleset(store, data, author="a", expected_version=0)
    asked = rules(runner, "restore", "0")
    assert asked.exit_code == 1 and "+ 新增 added R5" in asked.stdout and store.documents.version(RULESET) == 1
    done = rules(runner, "restore", "0", "--yes", "--author", "planner")
    assert done.exit_code == 0 and "restored version 0 as version 2" in done.stdout
    assert load_ruleset(store).digest == load_ruleset(store, 0).digest
    assert "(restores v0)" in rules(runner, "history").stdout
    assert rules(runner, "restore", "2", "--yes").exit_code == 1  # the same as the live one
    assert "no version 9" in rules(runner, "restore", "9", "--yes").stderr


def test_a_changed_value_still_written_in_the_titles_is_pointed_out_before_saving():
    import json as _json

    from layers.planning.rules import DEFAULT, Ruleset
    from webmap.planning import rules_form

    data = _json.loads(_json.dumps(DEFAULT))
    data["rules"][0]["params"].update(distance_m=40, window="23:00-06:00")
    warnings = rules_form.stale_wording(Ruleset.from_dict(DEFAULT), Ruleset.from_dict(data))
    assert len(warnings) == 2
    assert warnings[0].startswith("R1 的标题（中文）、标题（英文）仍写着「30」") and "now 40.0" not in warnings[0]
    assert "still say '22:00'" in warnings[1] and "时段说明（中文）" in warnings[1]
    data["rules"][0]["title"] = {"zh": "居民小区 40 米内夜间外摆", "en": "Seating open in quiet hours within 40 m of homes"}
    assert len(rules_form.stale_wording(Ruleset.from_dict(DEFAULT), Ruleset.from_dict(data))) == 1
    assert "! 注意 check: R1" in "\n".join(rules_form.difference_lines(Ruleset.from_dict(DEFAULT), Ruleset.from_dict(data)))
