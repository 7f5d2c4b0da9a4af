"""webmap.auth: where log-in may send you, sessions that really end, log-in that tells nothing by its timing,
limits that one attacker cannot turn against all staff, and the account rules on the web and the CLI."""

from __future__ import annotations

import time
from urllib.parse import quote, urlsplit

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from werkzeug.security import generate_password_hash

from webmap import auth, create_app

from .conftest import password_hash
from .test_staff import PASSWORD, login, token

OPEN_REDIRECTS = ["/\t/evil.example/x", "//evil.example/x", "/\\evil.example/x", "\\\\evil.example/x",
                  "https://evil.example/x", "http:evil.example", " //evil.example", "/\r\n/evil.example",
                  "/\u3000/evil.example", "/\uff0f/evil.example", "\u2215\u2215evil.example", "/%09/evil.example/x",
                  "javascript:alert(1)", "/\x00/evil.example"]


def make_app(tmp_path, **config):
    app = create_app({"TESTING": True, "BASEMAP": "none", "UPLOAD_DIR": str(tmp_path / "uploads"), **config})
    store = app.extensions["store"]
    store.create_user("admin", password_hash(PASSWORD), "admin", [], actor="test")
    store.create_user("ed", password_hash(PASSWORD), "editor", ["hq_clusters"], actor="test")
    return app


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


def post_login(client, name, password=PASSWORD, next_=None, **headers):
    path = "/staff/login" + (f"?next={quote(next_, safe='')}" if next_ is not None else "")
    return client.post(path, data={"name": name, "password": password, "csrf_token": token(client, "/staff/login")},
                       headers=headers)


@pytest.mark.parametrize("target", OPEN_REDIRECTS, ids=repr)
def test_log_in_never_sends_you_off_the_site(app, target):
    response = post_login(app.test_client(), "admin", next_=target)
    location = response.headers["Location"]
    assert response.status_code == 302 and location == "/staff/", location


def test_log_in_returns_you_to_the_page_you_asked_for(app):
    response = post_login(app.test_client(), "admin", next_="/staff/layers/hq_clusters/history?x=1")
    assert response.headers["Location"] == "/staff/layers/hq_clusters/history?x=1"


def test_chromium_stays_on_the_site_after_log_in(app, serve, browser):
    server = serve(app)
    page = browser.new_page()
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server.url) else r.abort())
    page.goto(server.url + "/staff/login?next=/%09/evil.example/x")
    page.fill("input[name=name]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert urlsplit(page.url).netloc == urlsplit(server.url).netloc and urlsplit(page.url).path == "/staff/"
    page.close()


def stolen_copy(app, client):
    """Another client holding the same session cookie (as a thief would)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def test_log_out_ends_every_session_of_the_user_even_a_stolen_one(app):
    client = login(app.test_client(), "ed")
    thief, other_device = stolen_copy(app, client), login(app.test_client(), "ed")
    assert thief.get("/staff/").status_code == 200
    client.post("/staff/logout", data={"csrf_token": token(client, "/staff/")})
    for c in (client, thief, other_device):
        assert c.get("/staff/").status_code == 302
    assert login(app.test_client(), "ed").get("/staff/").status_code == 200  # logging in again works


@pytest.mark.parametrize("change", ["password", "deactivate"])
def test_a_password_change_or_deactivation_ends_sessions(app, change):
    client = login(app.test_client(), "ed")
    store = app.extensions["store"]
    if change == "password":
        store.set_password("ed", generate_password_hash("another long passphrase"), actor="admin")
    else:
        store.set_active("ed", False, actor="admin")
    assert client.get("/staff/").status_code == 302
    assert post_login(app.test_client(), "ed").status_code == 401


def _session_cookie(app, client, age_s: float) -> str:
    """The client's session, signed as if ``age_s`` seconds ago."""
    with client.session_transaction() as sess:
        data = dict(sess)
    current = app.session_interface.get_signing_serializer(app)

    class Then(TimestampSigner):
        def get_timestamp(self):
            return int(time.time() - age_s)

    then = URLSafeTimedSerializer(app.secret_key, salt=current.salt, serializer=current.serializer,
                                  signer=Then, signer_kwargs=current.signer_kwargs)
    return then.dumps(data)


def test_sessions_end_after_idle_time_and_after_the_working_day(app):
    assert app.permanent_session_lifetime.total_seconds() == 60 * 60
    client = login(app.test_client(), "ed")
    assert "Expires=" in client.get("/staff/").headers.get("Set-Cookie", "")  # refreshed on every request
    for age, status in ((60, 200), (61 * 60, 302)):
        other = app.test_client()
        other.set_cookie("session", _session_cookie(app, client, age))
        assert other.get("/staff/").status_code == status
    with client.session_transaction() as sess:
        sess["login_at"] = int(time.time()) - 13 * 3600  # busy all day, still: 12 hours after log-in it ends
    assert client.get("/staff/").status_code == 302


@pytest.mark.parametrize("name", ["nobody", "ed"])
def test_unknown_and_inactive_names_cost_a_password_hash_too(app, monkeypatch, name):
    app.extensions["store"].set_active("ed", False, actor="test")
    checked = []
    real = auth.check_password_hash

    def spy(pwhash, password):
        checked.append(pwhash.split("$")[0])
        return real(pwhash, password)

    monkeypatch.setattr(auth, "check_password_hash", spy)
    assert post_login(app.test_client(), name, password="wrong password 1").status_code == 401
    assert checked and checked[0].startswith("scrypt:")  # the same work as for a real account


def test_log_in_limits_count_per_address_and_name_so_one_attacker_locks_out_nobody_else(app):
    attacker, colleague = app.test_client(), app.test_client()
    for _ in range(5):
        assert post_login(attacker, "admin", password="guess guess guess").status_code == 401
    assert post_login(attacker, "admin").status_code == 429
    # the same address (no proxy configured: everyone is 127.0.0.1 here) may still log in as someone else
    assert post_login(colleague, "ed").status_code == 302


def test_forwarded_addresses_are_ignored_unless_a_proxy_is_trusted(tmp_path):
    app = make_app(tmp_path)  # TRUSTED_PROXIES = 0: X-Forwarded-For is the client's own claim
    client = app.test_client()
    for i in range(5):
        post_login(client, "admin", password="guess guess guess", **{"X-Forwarded-For": f"203.0.113.{i}"})
    assert post_login(client, "admin", **{"X-Forwarded-For": "203.0.113.99"}).status_code == 429

    proxied = make_app(tmp_path, TRUSTED_PROXIES=1)
    client = proxied.test_client()
    for _ in range(5):
        post_login(client, "admin", password="guess guess guess", **{"X-Forwarded-For": "203.0.113.7"})
    assert post_login(client, "admin", **{"X-Forwarded-For": "203.0.113.7"}).status_code == 429
    assert post_login(client, "admin", **{"X-Forwarded-For": "198.51.100.1"}).status_code == 302


def test_an_address_trying_many_names_is_limited(tmp_path):
    app = make_app(tmp_path, LOGIN_ADDRESS_RATE_LIMIT="8 per minute")
    client = app.test_client()
    for i in range(8):
        assert post_login(client, f"user{i}", password="guess guess guess").status_code == 401
    assert post_login(client, "admin").status_code == 429


WEAK = ["aaaaaaaaaa", "          ", "Password123!", "qingdao2026", "admin12345678", "short"]


@pytest.mark.parametrize("password", WEAK)
def test_weak_passwords_are_refused_on_the_web_and_the_cli(app, password):
    admin = login(app.test_client(), "admin")
    page = admin.post("/staff/users", data={"csrf_token": token(admin, "/staff/users"), "name": "newbie",
                                           "password": password, "role": "editor"})
    assert page.status_code == 200 and app.extensions["store"].user("newbie") is None
    assert "密码" in page.get_data(as_text=True)
    result = app.test_cli_runner().invoke(args=["users", "create", "newbie", "--role", "editor"], input=password + "\n")
    assert result.exit_code == 1 and app.extensions["store"].user("newbie") is None


@pytest.mark.parametrize("name", ["", "x", "<b>boss</b>", "a b", "-admin", "x" * 65, "admin\n"])
def test_bad_user_names_are_refused_on_the_web_and_the_cli(app, name):
    admin = login(app.test_client(), "admin")
    before = len(app.extensions["store"].users())
    admin.post("/staff/users", data={"csrf_token": token(admin, "/staff/users"), "name": name,
                                    "password": "a long unguessable passphrase", "role": "editor"})
    result = app.test_cli_runner().invoke(args=["users", "create", name, "--role", "editor"],
                                          input="a long unguessable passphrase\n")
    assert result.exit_code != 0 and len(app.extensions["store"].users()) == before


def test_good_names_and_passwords_are_accepted(app):
    result = app.test_cli_runner().invoke(args=["users", "create", "王芳.zhang", "--role", "editor",
                                                "--layers", "hq_clusters"], input="tide harbour lantern 9\n")
    assert result.exit_code == 0, result.output
    assert post_login(app.test_client(), "王芳.zhang", password="tide harbour lantern 9").status_code == 302


def test_the_cli_changes_passwords_and_deactivates(app):
    client = login(app.test_client(), "ed")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "deactivate", "ed"]).exit_code == 0
    assert client.get("/staff/").status_code == 302 and post_login(app.test_client(), "ed").status_code == 401
    assert runner.invoke(args=["users", "activate", "ed"]).exit_code == 0
    assert runner.invoke(args=["users", "password", "ed"], input="12345678910\n").exit_code == 1
    assert runner.invoke(args=["users", "password", "ed"], input="quiet river stone lamp\n").exit_code == 0
    assert post_login(app.test_client(), "ed", password="quiet river stone lamp").status_code == 302
    actions = [a["action"] for a in app.extensions["store"].audit_log()]
    assert {"user-deactivate", "user-activate", "user-password"} <= set(actions)


@pytest.mark.parametrize("storage", ["sqlite-default", "redis"])
def test_two_servers_count_log_in_attempts_together(tmp_path, request, storage):
    """Two server processes (as two gunicorn workers, or two machines behind a load balancer) count in one
    store: the default SQLite file under instance/, or Redis. Five failures spread over both lock the sixth
    attempt on either."""
    import re as regex

    import requests

    from layers.store import Store

    from .conftest import ProcessServer

    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    store = Store(url)
    store.upgrade()
    store.create_user("admin", password_hash(PASSWORD), "admin", [], actor="test")
    if storage == "redis":
        limits_uri = request.getfixturevalue("redis_server").url
    else:  # what a served app uses when RATELIMIT_STORAGE_URI is not set (tests otherwise count in memory)
        from webmap.ratelimits import default_uri

        limits_uri = default_uri(type("App", (), {"testing": False, "instance_path": str(tmp_path)})())
    env = {"SCENEMAP_DATABASE_URL": url, "SCENEMAP_RATELIMIT_STORAGE_URI": limits_uri,
           "SCENEMAP_SECRET_KEY": "shared-test-key", "SCENEMAP_SECURE_COOKIES": "false",
           "SCENEMAP_UPLOAD_DIR": str(tmp_path / "uploads")}
    servers = ProcessServer.several(2, env)
    try:
        def attempt(server, password):
            with requests.Session() as http:
                page = http.get(server.url + "/staff/login", timeout=10).text
                csrf = regex.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
                return http.post(server.url + "/staff/login", data={"name": "admin", "password": password,
                                 "csrf_token": csrf}, allow_redirects=False, timeout=10).status_code

        assert [attempt(servers[i % 2], "guess guess guess") for i in range(5)] == [401] * 5
        assert attempt(servers[0], PASSWORD) == 429 and attempt(servers[1], PASSWORD) == 429
    finally:
        for server in servers:
            server.stop()


def test_user_names_are_unique_whatever_the_letter_case(app):
    result = app.test_cli_runner().invoke(args=["users", "create", "ADMIN", "--role", "editor"],
                                          input="a long unguessable passphrase\n")
    assert result.exit_code == 1 and "exists already" in result.output
    admin = login(app.test_client(), "admin")
    admin.post("/staff/users", data={"csrf_token": token(admin, "/staff/users"), "name": "Ed",
                                    "password": "a long unguessable passphrase", "role": "editor"})
    assert app.extensions["store"].user("Ed") is None
