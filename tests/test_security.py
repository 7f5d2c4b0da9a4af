"""webmap.security: security headers on every response, a nonce for the one inline script, tile origins in the
policy, and absolute links that no Host or forwarded header can point elsewhere."""

from __future__ import annotations

import re

import pytest

from webmap import create_app
from webmap.basemaps import BASEMAPS, Basemap
from webmap.security import tile_sources


@pytest.fixture
def app():
    return create_app({"TESTING": True, "BASEMAP": "osm"})


def csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part for part in (p.strip() for p in policy.split(";")) if part}


@pytest.mark.parametrize("path", ["/", "/staff/login", "/ogc/?f=html", "/ogc/collections/hq_clusters/items?f=html",
                                  "/api/layers", "/vendor/leaflet/dist/leaflet.js", "/static/js/scenemap.js"])
def test_every_response_carries_the_headers(app, path):
    response = app.test_client().get(path)
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    policy = csp(response)
    assert policy["frame-ancestors"] == "frame-ancestors 'none'" and policy["object-src"] == "object-src 'none'"
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]


def test_staff_pages_are_not_stored_by_browsers_or_proxies(app):
    client = app.test_client()
    assert client.get("/staff/login").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/api/layers/hq_clusters").headers.get("Cache-Control", "")


@pytest.mark.parametrize("path", ["/", "/ogc/collections/hq_clusters/items?f=html"])
def test_each_inline_script_carries_the_responses_nonce(app, path):
    client = app.test_client()
    first, second = client.get(path), client.get(path)
    nonce = re.search(r"'nonce-([^']+)'", csp(first)["script-src"]).group(1)
    assert nonce != re.search(r"'nonce-([^']+)'", csp(second)["script-src"]).group(1)  # fresh for each response
    html = first.get_data(as_text=True)
    inline = re.findall(r"<script( [^>]*)?>(?!</script>)", html)
    executable = [attrs for attrs in inline if "src=" not in (attrs or "") and "application/json" not in (attrs or "")]
    bodies = re.findall(r"<script>(.*?)</script>", html, re.S)  # folium's switches: allowed by their hash
    assert len([a for a in executable if f'nonce="{nonce}"' in (a or "")]) == 1
    assert len(executable) == 1 + len(bodies)


def test_tiles_are_allowed_from_the_basemaps_hosts_only(app):
    policy = csp(app.test_client().get("/"))["img-src"]
    assert "https://tile.openstreetmap.org" in policy and "https://*.is.autonavi.com" in policy
    custom = {"c": Basemap("c", "c", "c", "http://tiles.{s}.intranet.qd:8080/{z}/{x}/{y}.png"),
              "local": Basemap("local", "l", "l", "/tiles/{z}/{x}/{y}.png"), **BASEMAPS}
    assert "http://*.intranet.qd:8080" in tile_sources(custom)


def test_staff_pages_cannot_be_framed_and_an_injected_script_does_not_run(app, serve, browser):
    server = serve(app)
    page = browser.new_page()
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server.url) else r.abort())
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-layers-loaded=true]", timeout=20000)
    ran = page.evaluate("""() => { const s = document.createElement('script');
        s.textContent = 'window.__injected = 1'; document.body.appendChild(s); return window.__injected === 1; }""")
    assert ran is False
    page.set_content(f'<iframe src="{server.url}/staff/login"></iframe>')
    page.wait_for_timeout(500)  # let the frame load or be blocked (not an assertion)
    frame = page.frames[-1]
    assert frame.url in ("", "about:blank", "chrome-error://chromewebdata/") or not frame.query_selector("form")
    page.close()


def test_links_follow_the_public_url_whatever_the_host_header(tmp_path):
    app = create_app({"TESTING": True, "PUBLIC_URL": "https://map.example.gov.cn"})
    doc = app.test_client().get("/ogc/?f=json", headers={"Host": "evil.example"}).get_json()
    assert {urlsplit_host(link["href"]) for link in doc["links"]} == {"https://map.example.gov.cn"}
    items = app.test_client().get("/ogc/collections/hq_clusters/items?limit=1",
                                  headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"}).get_json()
    assert all(link["href"].startswith("https://map.example.gov.cn/") for link in items["links"])


def test_forwarded_host_is_ignored_without_a_trusted_proxy_and_believed_with_one():
    plain = create_app({"TESTING": True})
    doc = plain.test_client().get("/ogc/?f=json", headers={"X-Forwarded-Host": "evil.example"}).get_json()
    assert "evil.example" not in str(doc["links"])
    proxied = create_app({"TESTING": True, "TRUSTED_PROXIES": 1})
    doc = proxied.test_client().get("/ogc/?f=json", headers={"X-Forwarded-Host": "map.example.gov.cn",
                                                              "X-Forwarded-Proto": "https"}).get_json()
    assert doc["links"][0]["href"].startswith("https://map.example.gov.cn/ogc")


def test_a_public_url_with_a_path_is_refused_at_start():
    with pytest.raises(SystemExit, match="PUBLIC_URL"):
        create_app({"TESTING": True, "PUBLIC_URL": "https://map.example.gov.cn/sub/path"})


def urlsplit_host(href: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(href)
    return f"{parts.scheme}://{parts.netloc}"
