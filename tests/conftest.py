"""Shared fixtures: the app (Flask tutorial style), a live server on loopback, a real Chromium."""

from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from webmap import create_app

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
#: The read-only material beside the project (../shared), or where SCENEMAP_SHARED points.
SHARED = Path(os.environ.get("SCENEMAP_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "corpus" / "geojsonhint"


@functools.cache
def password_hash(password: str) -> str:
    """The hash of ``password`` for an account a test puts straight into the store: made once per password
    and session, and cheap to check (PBKDF2 with 1,000 rounds), so that setting up accounts and logging in
    cost a test milliseconds, not scrypt's tenth of a second each. Only such test accounts have it: the app's
    own hashing (accounts made on the web or the CLI, resets, password changes, the decoy hash checked for an
    unknown name) is werkzeug's scrypt, and the tests of it go through the app."""
    return generate_password_hash(password, method="pbkdf2:sha256:1000")


@pytest.fixture(scope="session", autouse=True)
def _sample_data_read_once():
    """Every test app seeds its fresh store from data/, which is read and checked the same way each time
    (half of what starting an app costs). In the tests, ``Catalog.read_directory(data/)`` reads it for real
    once per session and then hands out deep copies of that result; any other folder (a test's modified copy
    of data/) or other arguments are read as always."""
    from layers.catalog import Catalog

    real = Catalog.__dict__["read_directory"]
    read, cache = real.__func__, {}

    def read_directory(cls, directory, *args, **kwargs):
        if cls is not Catalog or args or kwargs or Path(directory).resolve() != DATA.resolve():
            return read(cls, directory, *args, **kwargs)
        key = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(DATA.iterdir()))
        if key not in cache:
            cache[key] = read(cls, directory)
        return copy.deepcopy(cache[key])

    Catalog.read_directory = classmethod(read_directory)
    yield
    Catalog.read_directory = real


@pytest.fixture
def app():
    return create_app({"TESTING": True, "BASEMAP": "none"})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def data_copy(tmp_path):
    """A writable copy of data/; tests change one file and start an app on it."""
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    return target


def feature_collection(features: list[dict]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)


def point(fid, lon, lat, **props) -> dict:
    base = {"name": f"测试点 {fid}", "district": "市南区", "source": "sample", "opening_hours": "Mo-Su 10:00-22:00"}
    base.update(props)
    return {"type": "Feature", "id": fid, "properties": base, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


class LiveServer:
    """The app served by werkzeug on a loopback port, in a thread."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        # shutdown() waits for the loop to look at its flag: every 50 ms, not werkzeug's default 0.5 s
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join(10)


class ProcessServer:
    """The app in its own process (``flask run`` on a free loopback port): for clients such as GDAL that
    hold the interpreter lock while they wait for the network, and would starve a server thread."""

    def __init__(self, env: dict | None = None, wait: bool = True):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "webmap", "run", "--port", str(self.port), "--no-reload"],
            cwd=ROOT, env={**os.environ, "SCENEMAP_BASEMAP": "none", "SCENEMAP_DATABASE_URL": "sqlite://", **(env or {})},
            # its log goes to a file: a pipe nobody reads fills up after a few hundred requests, and the
            # server then blocks writing its log line
            stdout=subprocess.DEVNULL, stderr=self.log)
        if wait:
            self.wait()

    @classmethod
    def several(cls, count: int, env: dict | None = None) -> list[ProcessServer]:
        """``count`` servers on the same settings, started side by side (each takes a second or two to start)."""
        servers = [cls(env, wait=False) for _ in range(count)]
        try:
            for server in servers:
                server.wait()
        except Exception:
            for server in servers:
                server.stop()
            raise
        return servers

    def wait(self):
        for _ in range(300):  # wait up to ~30 s for the port to answer
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"the server exited: {self.log.read().decode(errors='replace')[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start listening")

    def stop(self):
        self.process.terminate()
        self.process.wait(10)
        self.log.close()


@pytest.fixture
def serve():
    """Call serve(app) to get a LiveServer; all are stopped at the end of the test."""
    servers = []

    def _serve(app):
        servers.append(LiveServer(app))
        return servers[-1]

    yield _serve
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL cluster for the session (see tests/postgres.py)."""
    from .postgres import Cluster

    cluster = Cluster()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def redis_server():
    """A throwaway Redis for the session (see tests/redis_server.py)."""
    from .redis_server import RedisServer

    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed: run scripts/test as root, or apt-get install chromium")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=executable, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        yield instance
        instance.close()


@pytest.fixture(scope="session")
def server():
    """One server process on the sample data, shared by the tests of read-only clients (GDAL, OWSLib)."""
    live = ProcessServer()
    yield live
    live.stop()
