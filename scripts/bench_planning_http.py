"""Benchmark: one interactive site check through HTTP (POST /staff/planning/check.json, what the check page
sends) with 10^5 protected places and 10^5 complaints loaded, against two anchors measured in the same run.

Set-up: a store (SQLite in a temporary folder) seeded from data/ like a first start, then the synthetic
protected places and complaints of scripts/bench_planning.py (10^5 polygons 20-120 m a side, seven categories;
10^5 complaints over a year, over 60 km x 50 km around Qingdao) published as the live ``sensitive_sites`` and
``complaints`` layers, and a staff account. The app is served by gunicorn as scripts/run serves it (2 sync
workers, ``--preload``); the client (requests) logs in, reads the page's CSRF token and POSTs checks of
synthetic sites (90 % points, 10 % drawn 6 m x 4 m seating areas, hours and walkway widths as in
bench_planning) one after another, measuring each round trip. Each worker prepares the places the first time
it checks (projection and STRtrees, once per layer version): the first checks are timed apart, then the rest.

Anchors, each on the same data and the same sites:
- PostGIS, the same one-site questions without HTTP (psycopg2 to a throwaway cluster, tests/postgres.py, as
  the postgres user when run as root; geometries stored projected in EPSG:4549 with GiST indexes, ANALYZEd):
  per distance rule the places of its categories within 200 m with their distance, nearest first (ST_DWithin
  and KNN ``<->``), and the noise complaints within 50 m in the last 90 days — four queries per site;
- the same server's cheapest useful read: GET /ogc/collections/sensitive_sites/items with a 200 m bbox
  around the site (limit 10), i.e. the HTTP and framework cost of this stack with the same 10^5 places.

Usage: .venv/bin/python scripts/bench_planning_http.py [--places 100000] [--complaints 100000] [--checks 500]
       [--workers 2] [--no-postgis]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_planning  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from layers.load import Layer  # noqa: E402
from layers.planning import engine, rules  # noqa: E402
from layers.planning.kinds import COMPLAINTS, SENSITIVE_SITES  # noqa: E402
from webmap import create_app  # noqa: E402

log = logging.getLogger("bench_planning_http")
USER = "bench-planner"
WARM = 20  # first checks timed apart (each worker prepares the places at its first)


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def load_store(url: str, secret: str, password: str, places: Layer, complaints: Layer) -> None:
    """Seed a store at ``url`` from data/ (as a first start does) and publish the synthetic layers."""
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": secret, "BASEMAP": "none"})
    store = app.extensions["store"]
    for layer in (places, complaints):
        start = time.perf_counter()
        version = store.publish(layer, author="bench", mode="replace", source="bench_planning_http.py",
                                message="synthetic benchmark data")
        log.info("published %s version %d (%d features) in %.1f s", layer.kind.id, version.number, len(layer),
                 time.perf_counter() - start)
    store.create_user(USER, generate_password_hash(password, method="pbkdf2:sha256:1000"), "admin", [],
                      actor="bench")


def serve(url: str, secret: str, workers: int, folder: Path):
    port = _port()
    # plain HTTP on loopback: the session cookie may travel without TLS (requests, unlike browsers, does not
    # treat 127.0.0.1 as a secure origin)
    env = {**os.environ, "SCENEMAP_DATABASE_URL": url, "SCENEMAP_SECRET_KEY": secret, "SCENEMAP_BASEMAP": "none",
           "SCENEMAP_SECURE_COOKIES": "false"}
    logfile = open(folder / "gunicorn.log", "wb")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}",
                                "--workers", str(workers), "--preload", "--timeout", "120",
                                "webmap:create_app()"], cwd=ROOT, env=env, stdout=logfile, stderr=logfile)
    for _ in range(600):
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited; see {folder / 'gunicorn.log'}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, f"http://127.0.0.1:{port}", logfile
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("gunicorn did not start listening")


def log_in(base: str, password: str) -> tuple[requests.Session, str]:
    session = requests.Session()
    page = session.get(base + "/staff/login").text
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    answer = session.post(base + "/staff/login", data={"name": USER, "password": password, "csrf_token": token},
                          allow_redirects=False)
    assert answer.status_code == 302, answer.status_code
    page = session.get(base + "/staff/planning/check").text
    return session, re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def bodies(sites: Layer) -> list[dict]:
    out = []
    for props, geom in zip(sites.properties, sites.geometries):
        shown = {k: v for k, v in props.items() if k in ("name", "opening_hours", "clear_walkway_m")}
        out.append({"geometry": json.loads(shapely.to_geojson(geom)), "properties": shown})
    return out


def time_checks(session, base: str, csrf: str, requests_: list[dict]) -> tuple[list[float], dict]:
    times, counts = [], {}
    headers = {"Content-Type": "application/json", "X-CSRFToken": csrf}
    for body in requests_:
        data = json.dumps(body, ensure_ascii=False).encode()
        start = time.perf_counter()
        answer = session.post(base + "/staff/planning/check.json", data=data, headers=headers)
        times.append(time.perf_counter() - start)
        if answer.status_code != 200:
            raise RuntimeError(f"check answered {answer.status_code}: {answer.text[:300]}")
        status = answer.json()["overall"]["status"]
        counts[status] = counts.get(status, 0) + 1
    return times, counts


def time_ogc(session, base: str, sites: Layer) -> list[float]:
    times = []
    for geom in sites.geometries:
        x, y = shapely.get_coordinates(geom)[0]
        dx, dy = 200 / 90_000, 200 / 111_000  # about 200 m at 36 degrees north
        bbox = f"{x - dx:.6f},{y - dy:.6f},{x + dx:.6f},{y + dy:.6f}"
        start = time.perf_counter()
        answer = session.get(base + "/ogc/collections/sensitive_sites/items", params={"bbox": bbox, "limit": 10},
                             headers={"Accept": "application/geo+json"})
        times.append(time.perf_counter() - start)
        if answer.status_code != 200:
            raise RuntimeError(f"OGC items answered {answer.status_code}")
    return times


ONE_SITE_NEAR = """SELECT id, ST_Distance(geom, s.g) FROM places, (SELECT ST_GeomFromEWKB(%(site)s) AS g) s
WHERE category = ANY(%(cats)s) AND ST_DWithin(geom, s.g, 200) ORDER BY geom <-> s.g LIMIT 6"""
ONE_SITE_COMPLAINTS = """SELECT count(*) FROM complaints, (SELECT ST_GeomFromEWKB(%(site)s) AS g) s
WHERE category = 'noise' AND ST_DWithin(geom, s.g, 50) AND received > %(since)s AND received <= %(until)s"""


def time_postgis(places: Layer, complaints: Layer, sites: Layer) -> tuple[float, list[float]]:
    sys.path.insert(0, str(ROOT / "tests"))
    import psycopg2
    from postgres import Cluster

    cluster = Cluster()
    try:
        start = time.perf_counter()
        conn = bench_planning.postgis_setup(cluster, sites, places, complaints)
        setup = time.perf_counter() - start
        cur = conn.cursor()
        metric = engine.to_metric(sites.geometries)
        ewkb = shapely.to_wkb(shapely.set_srid(metric, 4549), include_srid=True)
        groups = [list(r.param("categories")) for r in rules.default() if r.kind == "near_during"]
        until = np.datetime64(bench_planning.AS_OF)
        since = str(until - np.timedelta64(90, "D"))
        times = []
        for site in ewkb:
            start = time.perf_counter()
            for cats in groups:
                cur.execute(ONE_SITE_NEAR, {"site": psycopg2.Binary(site), "cats": cats})
                cur.fetchall()
            cur.execute(ONE_SITE_COMPLAINTS, {"site": psycopg2.Binary(site), "since": since, "until": str(until)})
            cur.fetchall()
            times.append(time.perf_counter() - start)
        conn.close()
        return setup, times
    finally:
        cluster.stop()


def percentiles(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[max(0, int(round(len(ordered) * 0.95)) - 1)]
    return f"{statistics.median(ordered) * 1000:.1f} / {p95 * 1000:.1f} / {ordered[-1] * 1000:.1f}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="planning: one site check through HTTP, with anchors")
    parser.add_argument("--places", type=int, default=100_000)
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--checks", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-postgis", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("layers").setLevel(logging.WARNING)

    sites, places, complaints = bench_planning.synthesize(WARM + args.checks, args.places, args.complaints)
    places = Layer(kind=SENSITIVE_SITES, ids=places.ids, properties=places.properties, geometries=places.geometries)
    complaints = Layer(kind=COMPLAINTS, ids=complaints.ids, properties=complaints.properties,
                       geometries=complaints.geometries)
    secret, password = secrets.token_hex(16), secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="bench-planning-http-") as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'store.sqlite'}"
        load_store(url, secret, password, places, complaints)
        process, base, logfile = serve(url, secret, args.workers, folder)
        try:
            session, csrf = log_in(base, password)
            requests_ = bodies(sites)
            first, _ = time_checks(session, base, csrf, requests_[:WARM])
            warm, counts = time_checks(session, base, csrf, requests_[WARM:])
            ogc = time_ogc(session, base, Layer(kind=sites.kind, ids=sites.ids[WARM:],
                                                properties=sites.properties[WARM:],
                                                geometries=sites.geometries[WARM:]))
        finally:
            process.terminate()
            process.wait(30)
            logfile.close()
    rows = [(f"ours: POST /staff/planning/check.json, first {WARM} (each worker prepares the places once)",
             percentiles(first)),
            (f"ours: POST /staff/planning/check.json, next {len(warm)}", percentiles(warm)),
            (f"anchor: GET /ogc/collections/sensitive_sites/items, 200 m bbox, same server, {len(ogc)}",
             percentiles(ogc))]
    if not args.no_postgis:
        check_sites = Layer(kind=sites.kind, ids=sites.ids[WARM:], properties=sites.properties[WARM:],
                            geometries=sites.geometries[WARM:])
        setup, postgis = time_postgis(places, complaints, check_sites)
        rows.append((f"anchor: PostGIS, the same one-site queries in process (4 per site), {len(postgis)}; "
                     f"load + index {setup:.1f} s", percentiles(postgis)))
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{args.places:,} protected places, {args.complaints:,} complaints loaded; gunicorn, {args.workers} "
          f"workers; verdicts of the timed checks {counts}; load average at the end {load} "
          f"({os.cpu_count()} CPUs)\n")
    print("| request | p50 / p95 / max (ms) |\n|---|---:|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
