"""The ruleset page (/staff/planning/rules): staff read it, admins edit it through a confirmation, restore any
version; bad rulesets are refused field by field, a stale version is a conflict; editors write nothing."""

import html
import json
import re

import pytest

from layers.planning.desk import RULESET, load_ruleset, save_ruleset
from layers.planning.rules import DEFAULT
from webmap import create_app

from .conftest import password_hash
from .test_staff import PASSWORD, login, token

RULES = "/staff/planning/rules"


@pytest.fixture
def app(tmp_path):
    app = create_app({"TESTING": True, "BASEMAP": "none", "UPLOAD_DIR": str(tmp_path / "uploads")})
    store = app.extensions["store"]
    store.create_user("admin", password_hash(PASSWORD), "admin", [], actor="test")
    store.create_user("ed", password_hash(PASSWORD), "editor", ["outdoor_dining_pilots"], actor="test")
    return app


@pytest.fixture
def store(app):
    return app.extensions["store"]


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def hidden(page: str, name: str) -> str:
    return html.unescape(re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page).group(1))


def form_fields(page: str) -> dict:
    """The edit form as a browser would send it: every input, select and textarea, boxes ticked."""
    data: dict = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page):
        data[name] = html.unescape(value)
    for name, value in re.findall(r'<input type="text" name="([^"]+)" value="([^"]*)"', page):
        data[name] = html.unescape(value)
    for name, value in re.findall(r'<input type="checkbox" name="([^"]+)" value="([^"]*)" checked>', page):
        data.setdefault(name, []).append(value)
    for name, body in re.findall(r'<select name="([^"]+)">(.*?)</select>', page, re.S):
        data[name] = re.search(r'<option value="([^"]*)" selected>', body).group(1)
    for name, body in re.findall(r'<textarea name="([^"]+)">(.*?)</textarea>', page, re.S):
        data[name] = html.unescape(body)
    return data


def test_every_staff_member_reads_the_live_ruleset_with_its_rationale(app, store):
    anonymous = app.test_client().get(RULES)
    assert anonymous.status_code == 302 and "/staff/login" in anonymous.headers["Location"]
    page = text(login(app.test_client(), "ed").get(RULES))
    for rule in DEFAULT["rules"]:
        assert rule["id"] in page and rule["title"]["zh"] in page and rule["title"]["en"] in page
        assert rule["rationale"]["zh"] in page and rule["rationale"]["en"] in page
    assert "不通过 fail" in page and "提示 warn" in page
    assert "居民小区 30 米内，夜间（22:00-06:00）外摆营业" in page  # parameters in words
    assert load_ruleset(store).digest in page and "出厂默认" in page
    assert "修改规则 Edit" not in page and "Restore…" not in page
    assert login(app.test_client(), "admin").get(RULES).get_data(as_text=True).count("修改规则 Edit") == 1


def test_editors_get_403_on_every_write_and_nothing_changes(app, store):
    client = login(app.test_client(), "ed")
    csrf = token(client, RULES + "/versions/0")
    for path in ("/edit", "/restore/0"):
        assert client.get(RULES + path).status_code == 403
    for path in ("/edit", "/save", "/restore"):
        assert client.post(RULES + path, data={"csrf_token": csrf, "expected": "0", "version": "0"}).status_code == 403
    assert store.documents.version(RULESET) == 0


def test_admin_edits_a_rule_in_the_form_confirms_and_it_is_saved_audited_and_shown(app, store):
    client = login(app.test_client(), "admin")
    form = form_fields(client.get(RULES + "/edit").get_data(as_text=True))
    assert form["r0.distance_m"] == "30" and form["r0.categories"] == ["residential"]
    form.update({"r0.distance_m": "40", "r1.severity": "fail", "message": "收紧 R1"})
    preview = client.post(RULES + "/edit", data=form)
    page = text(preview)
    assert preview.status_code == 200 and "确认保存" in page
    assert "修改 changed: R1, R2" in page and "新增 added: —" in page
    assert re.search(r"<td>R1</td><td>距离（米） · distance \(m\)</td><td class=\"before\">30</td><td class=\"after\">40</td>", page)
    assert re.search(r"<td>R2</td><td>严重程度 · severity</td><td class=\"before\">提示 warn</td><td class=\"after\">不通过 fail</td>", page)
    assert store.documents.version(RULESET) == 0  # nothing saved before the confirmation
    body = preview.get_data(as_text=True)
    save = {name: hidden(body.split('rules/save')[1], name) for name in ("csrf_token", "ruleset", "expected", "message", "mode", "confirm")}
    assert client.post(RULES + "/save", data=dict(save, confirm="")).status_code == 400  # the confirmation is needed
    back = client.post(RULES + "/edit", data=dict(save, action="back")).get_data(as_text=True)
    assert form_fields(back)["r0.distance_m"] == "40" and form_fields(back)["message"] == "收紧 R1"
    done = client.post(RULES + "/save", data=save)
    assert done.status_code == 302
    live = load_ruleset(store)
    assert live.version == 1 and live.get("R1").param("distance_m") == 40 and live.get("R2").severity == "fail"
    page = text(client.get(RULES))
    assert "已保存规则第 1 版" in page and "收紧 R1" in page and "admin" in page and "40 米内" in page
    audit = [row for row in store.audit_log() if row["action"] == "document.save"]
    assert audit[-1]["actor"] == "admin" and audit[-1]["detail"]["changed"]["changed"] == ["R1", "R2"]
    old = text(client.get(RULES + "/versions/0"))
    assert "30 米内" in old and "这是旧版本" in old and "恢复此版本" in old


def test_a_bad_ruleset_is_refused_field_by_field_keeping_what_was_typed(app, store):
    client = login(app.test_client(), "admin")
    form = form_fields(client.get(RULES + "/edit").get_data(as_text=True))
    form.update({"r0.distance_m": "-5", "r1.window": "Mo-Fr 25:99-26:00", "r4.days": "abc", "r0.categories": []})
    refused = client.post(RULES + "/edit", data=form)
    page = text(refused)
    assert refused.status_code == 400 and "未保存" in page and "现行规则未改变" in page
    for where in ("rules[R1].params.distance_m", "rules[R2].params.window", "rules[R5].params.days",
                  "rules[R1].params.categories"):
        assert where in page
    assert "距离不能为负" in page and 'value="-5"' in page and 'value="abc"' in page and "25:99" in page
    assert store.documents.version(RULESET) == 0
    # the advanced mode: JSON with an unknown category and a bad severity, each named
    data = json.loads(json.dumps(DEFAULT))
    data["rules"][2]["params"]["categories"] = ["hospital", "moon_base"]
    data["rules"][3]["severity"] = "fatal"
    typed = json.dumps(data, ensure_ascii=False)
    refused = client.post(RULES + "/edit", data={"csrf_token": form["csrf_token"], "expected": "0", "mode": "json",
                                                 "ruleset": typed})
    page = text(refused)
    assert refused.status_code == 400 and "rules[R3].params.categories" in page and "moon_base" in page
    assert "rules[R4].severity" in page and "fatal" in page and typed in page
    assert client.post(RULES + "/edit", data={"csrf_token": form["csrf_token"], "expected": "0", "mode": "json",
                                              "ruleset": "{not json"}).status_code == 400
    assert store.documents.version(RULESET) == 0


def test_no_changes_is_said_and_nothing_is_saved(app, store):
    client = login(app.test_client(), "admin")
    form = form_fields(client.get(RULES + "/edit").get_data(as_text=True))
    page = text(client.post(RULES + "/edit", data=form))
    assert "没有改动" in page and store.documents.version(RULESET) == 0


def test_a_stale_version_is_a_conflict_and_nothing_is_saved(app, store):
    client = login(app.test_client(), "admin")
    form = form_fields(client.get(RULES + "/edit").get_data(as_text=True))
    form["r0.distance_m"] = "45"
    preview = client.post(RULES + "/edit", data=form).get_data(as_text=True)
    save = {name: hidden(preview.split('rules/save')[1], name) for name in ("csrf_token", "ruleset", "expected", "message", "mode", "confirm")}
    other = json.loads(json.dumps(DEFAULT))
    other["rules"][3]["params"]["minimum"] = 2.0
    save_ruleset(store, other, author="someone-else", expected_version=0)  # another admin saved first
    late = client.post(RULES + "/save", data=save)
    assert late.status_code == 409 and "第 1 版" in text(late) and "nothing was saved" in text(late)
    assert load_ruleset(store).version == 1 and load_ruleset(store).get("R1").param("distance_m") == 30
    assert client.post(RULES + "/edit", data=form).status_code == 409  # the preview says so too


def test_restore_an_old_version_and_the_default_through_a_confirmation(app, store):
    data = json.loads(json.dumps(DEFAULT))
    data["rules"][0]["params"]["distance_m"] = 60
    data["rules"].pop()  # R5 removed
    save_ruleset(store, data, author="admin", message="v1", expected_version=0)
    client = login(app.test_client(), "admin")
    confirm = client.get(RULES + "/restore/0")
    page = text(confirm)
    assert confirm.status_code == 200 and "新增 added: R5" in page and "60" in page and "30" in page
    assert store.documents.version(RULESET) == 1
    assert client.get(RULES + "/restore/9").status_code == 404
    csrf = hidden(confirm.get_data(as_text=True), "csrf_token")
    assert client.post(RULES + "/restore", data={"version": "0", "expected": "1"}).status_code == 400  # no CSRF
    assert client.post(RULES + "/restore", data={"csrf_token": csrf, "version": "0", "expected": "0"}).status_code == 409
    done = client.post(RULES + "/restore", data={"csrf_token": csrf, "version": "0", "expected": "1"})
    assert done.status_code == 302
    live = load_ruleset(store)
    assert live.version == 2 and live.digest == load_ruleset(store, 0).digest
    history = text(client.get(RULES)).split("<h2>历史 History</h2>")[1]
    assert "v2" in history and "restored version 0" in history and "<td>v0</td>" in history
    assert client.post(RULES + "/restore", data={"csrf_token": csrf, "version": "0", "expected": "2"}).status_code == 400


def test_rule_text_is_text_not_html(app, store):
    data = json.loads(json.dumps(DEFAULT))
    data["rules"][0]["title"]["zh"] = "<script>alert(1)</script>"
    save_ruleset(store, data, author="admin", expected_version=0)
    page = login(app.test_client(), "ed").get(RULES).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
