"""Accounts for admins (layers by checkbox, deactivation, password resets to a temporary password the user
must change), everyone's own password change, and the last active admin kept."""

from __future__ import annotations

import re

import pytest

from layers.registry import KINDS
from layers.store import Store

from .conftest import password_hash
from .test_auth import post_login
from .test_staff import PASSWORD, app, login, token  # noqa: F401 - the staff app fixture

NEW = "violet ferry window 42"


def store_of(app):
    return app.extensions["store"]


def csrf(client, path="/staff/password"):
    return token(client, path)


def test_the_accounts_list_shows_status_and_layers_are_checkboxes(app):
    admin = login(app.test_client(), "admin")
    store_of(app).update_account("ed2", actor="test", active=False)
    html = admin.get("/staff/users").get_data(as_text=True)
    assert "已停用 deactivated" in html and "北京时间" in html and 'href="/staff/users/ed"' in html
    assert html.count('type="checkbox" name="layers"') == len(KINDS)  # every kind, staff-only ones too
    page = admin.get("/staff/users/ed").get_data(as_text=True)
    assert 'name="layers" value="outdoor_dining_pilots" checked' in page and 'value="hq_clusters">' in page


def test_adding_a_layer_needs_no_confirmation_removing_one_does(app):
    admin = login(app.test_client(), "admin")
    form = {"csrf_token": csrf(admin, "/staff/users/ed"), "role": "editor",
            "layers": ["outdoor_dining_pilots", "hq_clusters"]}
    assert admin.post("/staff/users/ed", data=form).status_code == 302
    assert store_of(app).user("ed")["layers"] == ["outdoor_dining_pilots", "hq_clusters"]
    fewer = dict(form, layers=["hq_clusters"])
    page = admin.post("/staff/users/ed", data=fewer)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "不能再修改 May no longer change" in text and "外摆试点" in text
    assert store_of(app).user("ed")["layers"] == ["outdoor_dining_pilots", "hq_clusters"]  # not yet
    hidden = dict(re.findall(r'<input type="hidden" name="(role|confirmed)" value="([^"]*)"', text))
    assert hidden == {"role": "editor", "confirmed": "yes"}
    assert admin.post("/staff/users/ed", data=dict(fewer, confirmed="yes")).status_code == 302
    assert store_of(app).user("ed")["layers"] == ["hq_clusters"]
    audit = [a for a in store_of(app).audit_log() if a["action"] == "user-update"][-1]
    assert audit["actor"] == "admin" and audit["detail"]["before"]["layers"] == ["outdoor_dining_pilots", "hq_clusters"]
    assert audit["detail"]["after"]["layers"] == ["hq_clusters"]


@pytest.mark.parametrize("form, status", [({"role": "boss"}, 400), ({"role": "editor", "layers": ["nope"]}, 400)])
def test_bad_account_forms_are_400(app, form, status):
    admin = login(app.test_client(), "admin")
    response = admin.post("/staff/users/ed", data={"csrf_token": csrf(admin, "/staff/users/ed"), **form})
    assert response.status_code == status
    assert admin.get("/staff/users/nobody").status_code == 404


def test_only_admins_manage_accounts_and_every_form_needs_csrf(app):
    editor = login(app.test_client(), "ed")
    for path in ("/staff/users/ed2", "/staff/users/ed2/deactivate", "/staff/users/ed2/reset", "/staff/audit"):
        assert editor.get(path).status_code == 403
    assert editor.post("/staff/users/ed2/deactivate", data={"csrf_token": csrf(editor)}).status_code == 403
    admin = login(app.test_client(), "admin")
    assert admin.post("/staff/users/ed/deactivate").status_code == 400  # no CSRF token
    assert store_of(app).user("ed")["active"]


def test_deactivation_is_confirmed_ends_sessions_and_can_be_undone(app):
    admin, editor = login(app.test_client(), "admin"), login(app.test_client(), "ed")
    page = admin.get("/staff/users/ed/deactivate").get_data(as_text=True)
    assert "every session of theirs ends now" in page and store_of(app).user("ed")["active"]
    assert admin.post("/staff/users/ed/deactivate", data={"csrf_token": csrf(admin)}).status_code == 302
    assert not store_of(app).user("ed")["active"]
    assert editor.get("/staff/").status_code == 302 and post_login(app.test_client(), "ed").status_code == 401
    assert admin.post("/staff/users/ed/activate", data={"csrf_token": csrf(admin)}).status_code == 302
    assert post_login(app.test_client(), "ed").status_code == 302
    actions = [a["action"] for a in store_of(app).audit_log()]
    assert "user-deactivate" in actions and "user-activate" in actions


def test_admins_cannot_deactivate_or_reset_themselves_nor_leave_no_active_admin(app):
    admin = login(app.test_client(), "admin")
    assert admin.get("/staff/users/admin/deactivate").status_code == 400
    assert admin.post("/staff/users/admin/reset", data={"csrf_token": csrf(admin)}).status_code == 400
    demote = {"csrf_token": csrf(admin), "role": "editor", "layers": ["hq_clusters"], "confirmed": "yes"}
    response = admin.post("/staff/users/admin", data=demote)
    assert response.status_code == 409 and "no active admin" in response.get_data(as_text=True)
    assert store_of(app).user("admin")["role"] == "admin"
    # with a second admin, demoting yourself is allowed (after the confirmation)
    store_of(app).create_user("boss2", password_hash(PASSWORD), "admin", [], actor="test")
    page = admin.post("/staff/users/admin", data=dict(demote, confirmed=""))
    assert page.status_code == 200 and "No longer an admin" in page.get_data(as_text=True)
    assert admin.post("/staff/users/admin", data=demote).status_code == 302
    assert store_of(app).user("admin")["role"] == "editor"


def test_the_store_keeps_an_active_admin(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/s.sqlite")
    store.upgrade()
    store.create_user("a1", "x", "admin", [], actor="t")
    with pytest.raises(ValueError, match="no active admin"):
        store.update_account("a1", actor="t", active=False)
    store.create_user("a2", "x", "admin", [], actor="t")
    store.update_account("a1", actor="t", active=False)
    with pytest.raises(ValueError):
        store.update_account("a2", actor="t", role="editor")
    assert store.update_account("nobody", actor="t", active=True) is None


def test_a_reset_ends_sessions_and_the_user_must_change_the_temporary_password(app):
    admin, editor = login(app.test_client(), "admin"), login(app.test_client(), "ed")
    assert "temporary password" in admin.get("/staff/users/ed/reset").get_data(as_text=True)
    done = admin.post("/staff/users/ed/reset", data={"csrf_token": csrf(admin), "password": ""})
    temporary = re.search(r'id="temporary-password">([^<]+)<', done.get_data(as_text=True)).group(1)
    assert done.status_code == 200 and store_of(app).user("ed")["must_change_password"]
    assert editor.get("/staff/").status_code == 302  # the old session ended
    assert post_login(app.test_client(), "ed").status_code == 401  # the old password is gone
    user = app.test_client()
    assert post_login(user, "ed", password=temporary).status_code == 302
    for path in ("/staff/", "/staff/layers/outdoor_dining_pilots/import", "/staff/layers/hq_clusters/history"):
        response = user.get(path)
        assert response.status_code == 302 and response.headers["Location"].endswith("/staff/password"), path
    assert "An admin reset your password" in user.get("/staff/password").get_data(as_text=True)
    weak = user.post("/staff/password", data={"csrf_token": csrf(user), "current": temporary, "new": "password123",
                                              "again": "password123"})
    assert weak.status_code == 400 and store_of(app).user("ed")["must_change_password"]
    same = user.post("/staff/password", data={"csrf_token": csrf(user), "current": temporary, "new": temporary,
                                              "again": temporary})
    assert same.status_code == 400 and "must differ" in same.get_data(as_text=True)
    ok = user.post("/staff/password", data={"csrf_token": csrf(user), "current": temporary, "new": NEW, "again": NEW})
    assert ok.status_code == 302 and not store_of(app).user("ed")["must_change_password"]
    assert user.get("/staff/layers/outdoor_dining_pilots/import").status_code == 200  # this session goes on
    assert post_login(app.test_client(), "ed", password=NEW).status_code == 302
    actions = [(a["actor"], a["action"]) for a in store_of(app).audit_log()]
    assert ("admin", "user-password-reset") in actions and ("ed", "user-password") in actions
    assert temporary not in str(store_of(app).audit_log())


def test_an_admin_may_choose_the_temporary_password_but_not_a_weak_one(app):
    admin = login(app.test_client(), "admin")
    weak = admin.post("/staff/users/ed/reset", data={"csrf_token": csrf(admin), "password": "qingdao2026"})
    assert weak.status_code == 400 and not store_of(app).user("ed")["must_change_password"]
    chosen = admin.post("/staff/users/ed/reset", data={"csrf_token": csrf(admin), "password": "amber crane river 7"})
    assert chosen.status_code == 200 and "temporary-password" not in chosen.get_data(as_text=True)
    assert post_login(app.test_client(), "ed", password="amber crane river 7").status_code == 302


def test_everyone_changes_their_own_password_with_the_current_one(app):
    editor, other_device = login(app.test_client(), "ed"), login(app.test_client(), "ed")
    wrong = editor.post("/staff/password", data={"csrf_token": csrf(editor), "current": "not it at all",
                                                 "new": NEW, "again": NEW})
    assert wrong.status_code == 400 and "current password is wrong" in wrong.get_data(as_text=True)
    differ = editor.post("/staff/password", data={"csrf_token": csrf(editor), "current": PASSWORD,
                                                  "new": NEW, "again": NEW + "x"})
    assert differ.status_code == 400
    assert editor.post("/staff/password", data={"current": PASSWORD, "new": NEW, "again": NEW}).status_code == 400
    ok = editor.post("/staff/password", data={"csrf_token": csrf(editor), "current": PASSWORD, "new": NEW, "again": NEW})
    assert ok.status_code == 302 and editor.get("/staff/").status_code == 200
    assert other_device.get("/staff/").status_code == 302
    assert post_login(app.test_client(), "ed", password=NEW).status_code == 302
    assert "user-password-failed" in [a["action"] for a in store_of(app).audit_log()]


def test_password_guesses_on_the_change_page_are_limited(app):
    editor = login(app.test_client(), "ed")
    form = {"csrf_token": csrf(editor), "current": "guess guess guess", "new": NEW, "again": NEW}
    assert [editor.post("/staff/password", data=form).status_code for _ in range(5)] == [400] * 5
    assert editor.post("/staff/password", data=form).status_code == 429


def test_chromium_reset_then_forced_change_then_log_in_with_the_new_password(app, serve, browser):
    server = serve(app)

    def page_for():
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(8000)
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server.url) else r.abort())
        return context, page

    def log_in(page, name, password):
        page.goto(server.url + "/staff/login")
        page.fill("input[name=name]", name)
        page.fill("input[name=password]", password)
        page.click("main button[type=submit]")
        page.wait_for_load_state()

    admin_context, admin = page_for()
    user_context, user = page_for()
    try:
        log_in(admin, "admin", PASSWORD)
        admin.goto(server.url + "/staff/users")
        admin.click("a[href='/staff/users/ed']")
        admin.click("text=重置密码… Reset the password…")
        admin.click("main button[type=submit]")
        temporary = admin.inner_text("#temporary-password").strip()
        assert re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){3}", temporary)

        log_in(user, "ed", temporary)
        assert user.url.endswith("/staff/password") and "An admin reset your password" in user.content()
        user.goto(server.url + "/staff/layers/outdoor_dining_pilots/history")
        assert user.url.endswith("/staff/password")  # nothing else until the password is changed
        user.fill("input[name=current]", temporary)
        user.fill("input[name=new]", NEW)
        user.fill("input[name=again]", NEW)
        user.click("main button[type=submit]")
        user.wait_for_load_state()
        assert user.url.endswith("/staff/") and "Your password is changed" in user.content()
        user.click("text=退出 ed · Log out")
        user.wait_for_load_state()
        log_in(user, "ed", NEW)
        assert user.url.endswith("/staff/") and "图层管理 Layers" in user.content()
    finally:
        admin_context.close()
        user_context.close()
