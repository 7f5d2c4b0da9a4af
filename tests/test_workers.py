"""Two gunicorn workers (as scripts/run serves): a publish made through one is served by every worker on its
next request, not CATALOG_REFRESH_SECONDS later (the change stamp, webmap/db.py)."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from webmap import create_app
from webmap.ratelimits import default_uri

from .conftest import ROOT, password_hash
from .test_no_data_loss import CLERK_CSV, LAYER

PASSWORD = "correct horse battery"


@pytest.fixture
def gunicorn(tmp_path):
    database = f"sqlite:///{tmp_path}/store.sqlite"
    seeded = create_app({"TESTING": True, "BASEMAP": "none", "DATABASE_URL": database})  # seed, add a clerk
    seeded.extensions["store"].create_user("clerk", password_hash(PASSWORD), "editor", [LAYER], actor="test")
    seeded.extensions["store"].engine.dispose()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "access.log"
    env = {**os.environ, "SCENEMAP_BASEMAP": "none", "SCENEMAP_DATABASE_URL": database,
           "SCENEMAP_SECRET_KEY": "test-secret-of-this-test-only", "SCENEMAP_SECURE_COOKIES": "false",
           "SCENEMAP_CATALOG_REFRESH_SECONDS": "3600",  # only the stamp can explain a fresh answer
           "SCENEMAP_UPLOAD_DIR": str(tmp_path / "uploads"), "SCENEMAP_EXPORT_CACHE_DIR": str(tmp_path / "exports"),
           # the default kind of limits store (a file both workers share), but this test's own: log-ins of
           # earlier runs within the minute must not count
           "SCENEMAP_RATELIMIT_STORAGE_URI": default_uri(SimpleNamespace(testing=False, instance_path=str(tmp_path)))}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--preload",
         "--access-logfile", str(log), "--access-logformat", "%(p)s %(r)s %(s)s", "webmap:create_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {process.stderr.read()[-2000:]}")
        try:
            requests.get(url + "/api/layers", timeout=2)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    for _ in range(50):  # one worker answers; wait (up to ~20 s) until the other one has booted too
        if len(counts_by_worker(url, log, 8)) == 2:
            break
    yield url, log
    # killed, master and workers at once: a graceful stop waits seconds for each worker's interpreter to
    # wind down, and nothing here tests how gunicorn stops
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def counts_by_worker(url: str, log: Path, requests_count: int = 40) -> dict[str, set[int]]:
    """GET /api/layers many times at once (sync workers take one each); the layer's count each worker served."""
    start = len(log.read_text().splitlines()) if log.exists() else 0

    def one(i):
        return requests.get(f"{url}/api/layers?n={i}", timeout=10).json()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(requests_count)))
    time.sleep(0.3)  # the access log is written after the response
    lines = log.read_text().splitlines()[start:]
    served = {}
    for line in lines:
        match = re.match(r"<?(\d+)>? GET /api/layers\?n=(\d+) ", line)
        if match is None:
            continue
        pid, n = match.groups()
        layer = next(item for item in answers[int(n)]["layers"] if item["id"] == LAYER)
        served.setdefault(pid, set()).add(layer["count"])
    return served


def test_a_publish_is_served_by_every_worker_at_once(gunicorn):
    url, log = gunicorn
    before = counts_by_worker(url, log)
    assert len(before) == 2 and set().union(*before.values()) == {13}, before  # both workers warm, both at 13
    clerk = requests.Session()
    page = clerk.get(f"{url}/staff/login").text
    csrf = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    assert clerk.post(f"{url}/staff/login", data={"name": "clerk", "password": PASSWORD, "csrf_token": csrf}).ok
    form = clerk.get(f"{url}/staff/layers/{LAYER}/import").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    preview = clerk.post(f"{url}/staff/layers/{LAYER}/import", data={"csrf_token": csrf, "mode": "append"},
                         files={"file": ("外摆.csv", CLERK_CSV.encode())}).text
    fields = {name: re.search(rf'name="{name}" value="([^"]*)"', preview).group(1)
              for name in ("csrf_token", "token", "expected")}
    done = clerk.post(f"{url}/staff/layers/{LAYER}/publish", data=fields, allow_redirects=False)
    assert done.status_code == 302
    after = counts_by_worker(url, log)
    assert len(after) == 2 and set().union(*after.values()) == {19}, after
