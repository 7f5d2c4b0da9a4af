"""Benchmark: OGC API - Features bbox item requests, ours against pygeoapi and the stack's ceiling, and our
CQL2 filters beside our plain items.

Run through scripts/bench_ogc.sh (it installs wrk, PostGIS and pygeoapi). For each size (default 10^5 and
10^6 synthetic points over Qingdao) it serves the same layer with:
  - ours: gunicorn, 2 sync workers, --preload (the layer is read, indexed and serialized once), asked for
    plain bbox pages, then the same windows with CQL2 filters (an attribute comparison, a LIKE), a
    S_INTERSECTS polygon instead of the bbox, and an attribute filter on the whole layer;
  - with --baseline DIR: ours as checked out in DIR (e.g. a git worktree of the previous commit), plain bbox
    pages only, under the same gunicorn and .venv: whether the plain path got slower;
  - ceiling: a Flask endpoint under the same gunicorn returning a constant body of the same size;
  - pygeoapi, GeoJSON file provider (gunicorn, 2 workers);
  - pygeoapi, PostgreSQL provider on PostGIS with a GiST index (a throwaway cluster, run as the postgres user);
and drives each with wrk (loopback only, bounded duration) requesting random ~1 km bbox windows, limit=100.
Reports requests/s, p50/p95/p99 latency and the servers' memory (PSS of the gunicorn master and workers).

Usage: scripts/bench_ogc.sh [--sizes 100000 1000000] [--duration 15] [--connections 8] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("bench_ogc")
EXTENT = (120.15, 35.95, 120.55, 36.35)
WINDOW = (0.0111, 0.0090)  # about 1 km x 1 km at 36 N
LAYER = "outdoor_dining_pilots"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_points(n: int, geojson: Path, csv: Path, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """The synthetic layer, streamed to GeoJSON (ours, pygeoapi's file provider) and CSV (PostGIS); returns
    its longitudes and latitudes (feature i is named "外摆点 {i}" and seats 10 + i % 50)."""
    rng = np.random.default_rng(seed)
    lon = rng.uniform(EXTENT[0], EXTENT[2], n).round(6)
    lat = rng.uniform(EXTENT[1], EXTENT[3], n).round(6)
    hours = ["Mo-Su 10:00-22:00", "Fr,Sa 17:00-24:00", "Mo-Th 11:00-21:00; Fr-Su 11:00-23:00", "24/7"]
    with open(geojson, "w", encoding="utf-8") as gj, open(csv, "w", encoding="utf-8") as cv:
        gj.write('{"type":"FeatureCollection","features":[\n')
        cv.write("id,name,district,status,opening_hours,capacity,source,geom\n")
        for i in range(n):
            props = {"name": f"外摆点 {i}", "district": "市南区", "status": "pilot", "opening_hours": hours[i % 4],
                     "capacity": 10 + i % 50, "source": "sample"}
            feature = {"type": "Feature", "id": f"p{i}", "properties": props,
                       "geometry": {"type": "Point", "coordinates": [float(lon[i]), float(lat[i])]}}
            gj.write(("," if i else "") + json.dumps(feature, ensure_ascii=False) + "\n")
            cv.write(f'p{i},{props["name"]},市南区,pilot,"{hours[i % 4]}",{props["capacity"]},sample,'
                     f"SRID=4326;POINT({lon[i]} {lat[i]})\n")
        gj.write("]}\n")
    return lon, lat


def windows(count: int = 2000, seed: int = 5) -> list[str]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(EXTENT[0], EXTENT[2] - WINDOW[0], count)
    y = rng.uniform(EXTENT[1], EXTENT[3] - WINDOW[1], count)
    return [f"{a:.5f},{b:.5f},{a + WINDOW[0]:.5f},{b + WINDOW[1]:.5f}" for a, b in zip(x, y)]


def get(url: str, timeout: float = 600) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # loopback only
        return response.read()


class Server:
    """A gunicorn (or other) process group on a loopback port."""

    def __init__(self, name: str, argv: list[str], env: dict, port: int, probe: str, cwd=ROOT):
        self.name, self.port, self.base = name, port, f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(argv, env={**os.environ, **env}, cwd=cwd, start_new_session=True,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        started = time.monotonic()
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{name} exited: {self.process.stderr.read()[-3000:]}")
            try:
                get(self.base + probe, timeout=5)
                break
            except OSError:
                if time.monotonic() - started > 900:
                    raise RuntimeError(f"{name} did not answer within 15 minutes") from None
                time.sleep(0.5)
        self.startup_s = time.monotonic() - started

    def pss_mb(self) -> float:
        """Proportional set size of the process group (shared pages counted once across processes)."""
        total = 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                if os.getpgid(int(pid)) != self.process.pid:
                    continue
                with open(f"/proc/{pid}/smaps_rollup") as fh:
                    total += next(int(line.split()[1]) for line in fh if line.startswith("Pss:"))
            except (OSError, StopIteration, ProcessLookupError):
                continue
        return total / 1024

    def stop(self):
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)


def wrk(base: str, paths: list[str], duration: int, connections: int, timeout: int, tmp: Path) -> dict:
    """wrk asking for ``paths`` (path and query, URL-encoded) of ``base`` in random order."""
    script = tmp / "paths.lua"
    script.write_text(
        "local paths = {" + ",".join(f'"{p}"' for p in paths) + "}\n"
        "math.randomseed(42)\n"
        'request = function() return wrk.format("GET", paths[math.random(#paths)]) end\n'
        "done = function(s, latency, r)\n"
        '  io.write(string.format("RESULT %d %d %.3f %.3f %.3f %d %d\\n", s.requests, s.duration,\n'
        "    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,\n"
        "    s.errors.status, s.errors.timeout + s.errors.connect + s.errors.read))\n"
        "end\n")
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", f"--timeout={timeout}s",
                          "-s", str(script), base + "/"], capture_output=True, text=True,
                         timeout=duration + timeout + 60).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT"))
    requests, micros, p50, p95, p99, bad_status, failed = line.split()[1:]
    return {"rps": int(requests) / (int(micros) / 1e6), "requests": int(requests), "p50": float(p50),
            "p95": float(p95), "p99": float(p99), "errors": int(bad_status) + int(failed)}


def as_postgres(argv: list[str]) -> list[str]:
    return (["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []) + argv


@contextmanager
def postgis(csv: Path, tmp: Path):
    """A throwaway PostgreSQL 15 + PostGIS cluster holding the layer as table points, GiST-indexed."""
    pgdir = Path(tempfile.mkdtemp(prefix="bench-pg-", dir="/tmp"))
    os.chmod(pgdir, 0o777)
    if os.geteuid() == 0:
        shutil.chown(pgdir, "postgres")
    shutil.copy(csv, pgdir / "points.csv")
    os.chmod(pgdir / "points.csv", 0o644)
    port = free_port()
    psql = as_postgres(["psql", "-q", "-h", str(pgdir), "-p", str(port), "-v", "ON_ERROR_STOP=1"])
    subprocess.run(as_postgres([str(PG_BIN / "initdb"), "-D", str(pgdir / "data"), "-A", "trust", "-U", "postgres"]),
                   check=True, capture_output=True)
    subprocess.run(as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(pgdir / "data"), "-l", str(pgdir / "log"), "-w",
                                "-o", f"-p {port} -k {pgdir} -c listen_addresses=127.0.0.1", "start"]),
                   check=True, capture_output=True)
    try:
        subprocess.run(psql + ["-U", "postgres", "-c", "CREATE DATABASE bench"], check=True)
        started = time.monotonic()
        subprocess.run(psql + ["-U", "postgres", "-d", "bench", "-c", "CREATE EXTENSION postgis", "-c",
                               "CREATE TABLE points (id text PRIMARY KEY, name text, district text, status text, "
                               "opening_hours text, capacity integer, source text, geom geometry(Point, 4326))",
                               "-c", f"\\copy points FROM '{pgdir / 'points.csv'}' CSV HEADER",
                               "-c", "CREATE INDEX points_geom ON points USING GIST (geom)", "-c", "ANALYZE points"],
                       check=True)
        log.info("PostGIS loaded in %.1f s", time.monotonic() - started)
        yield port
    finally:
        subprocess.run(as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(pgdir / "data"), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(pgdir, ignore_errors=True)


PYGEOAPI_CONFIG = """
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  language: en-US
  limits: {{default_items: 100, max_items: 10000}}
  map: {{url: "https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png", attribution: OpenStreetMap}}
logging: {{level: ERROR}}
metadata:
  identification: {{title: bench, description: bench, keywords: [bench], keywords_type: theme,
                    terms_of_service: "https://example.org", url: "https://example.org"}}
  license: {{name: CC-BY 4.0, url: "https://creativecommons.org/licenses/by/4.0/"}}
  provider: {{name: bench, url: "https://example.org"}}
  contact: {{name: bench, position: bench, address: x, city: x, stateorprovince: x, postalcode: x, country: x,
            phone: x, fax: x, email: x, url: x, hours: x, instructions: x, role: pointOfContact}}
resources:
  points:
    type: collection
    title: points
    description: points
    keywords: [points]
    extents:
      spatial: {{bbox: [120.15, 35.95, 120.55, 36.35], crs: "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}}
    providers:
      - {provider}
"""


def pygeoapi(name: str, provider: str, tmp: Path) -> Server:
    port = free_port()
    config = tmp / f"{name}.yml"
    config.write_text(PYGEOAPI_CONFIG.format(port=port, provider=provider))
    bench = ROOT / ".venv-bench/bin"
    subprocess.run([str(bench / "pygeoapi"), "openapi", "generate", str(config), "--output-file",
                    str(tmp / f"{name}-openapi.yml")], check=True, capture_output=True)
    env = {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(tmp / f"{name}-openapi.yml")}
    return Server(name, [str(bench / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--timeout", "600",
                         "pygeoapi.flask_app:APP"], env, port, "/collections/points?f=json")


CONSTANT_APP = '''
from flask import Flask, Response
app = Flask(__name__)
BODY = open({path!r}, "rb").read()

@app.get("/<path:anything>")
def constant(anything):
    return Response(BODY, mimetype="application/geo+json")
'''


def measure(server: Server, paths: list[str], args, tmp, connections=None, timeout=10, name=None) -> dict:
    single = []
    for path in paths[:5]:  # warm up (and fail loudly on a broken answer); one request at a time
        started = time.perf_counter()
        json.loads(get(server.base + path))
        single.append(time.perf_counter() - started)
    result = wrk(server.base, paths, args.duration, connections or args.connections, timeout, tmp)
    result.update(name=name or server.name, memory_mb=server.pss_mb(), startup_s=server.startup_s,
                  single_ms=float(np.median(single)) * 1000)
    log.info("%s: %.0f req/s, p50 %.2f ms, p95 %.2f ms, %d errors, %.0f MB", result["name"], result["rps"],
             result["p50"], result["p95"], result["errors"], result["memory_mb"])
    return result


def diamond(box: str) -> str:
    """A WKT polygon (a diamond) inscribed in a bbox window: not a rectangle, so the exact predicate runs."""
    x0, y0, x1, y1 = map(float, box.split(","))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return f"POLYGON(({cx:.5f} {y0:.5f}, {x1:.5f} {cy:.5f}, {cx:.5f} {y1:.5f}, {x0:.5f} {cy:.5f}, {cx:.5f} {y0:.5f}))"


def filter_cases(boxes: list[str], lon: np.ndarray, lat: np.ndarray) -> list[tuple[str, list[str], object]]:
    """(name, paths, expected numberMatched of a path's window or None) of our CQL2 filter cases."""
    import shapely

    n = len(lon)
    index = np.arange(n)
    capacity = 10 + index % 50
    items = f"/ogc/collections/{LAYER}/items?f=json&limit=100"

    def q(text: str) -> str:
        return urllib.parse.quote(text, safe="")

    def in_box(box):
        x0, y0, x1, y1 = map(float, box.split(","))
        return (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)

    def in_diamond(box):
        return shapely.intersects_xy(shapely.from_wkt(diamond(box)), lon, lat)

    has7 = np.array(["7" in str(i) for i in range(n)])
    has1 = np.array(["1" in str(i) for i in range(n)])
    return [
        ("ours: bbox + filter capacity > 30", [f"{items}&bbox={b}&filter={q('capacity > 30')}" for b in boxes],
         lambda i: int((in_box(boxes[i]) & (capacity > 30)).sum())),
        ("ours: bbox + filter name LIKE '%7%'", [f"{items}&bbox={b}&filter={q(chr(39).join(['name LIKE ', '%7%', '']))}"
                                                 for b in boxes],
         lambda i: int((in_box(boxes[i]) & has7).sum())),
        ("ours: filter S_INTERSECTS(geometry, POLYGON) (no bbox)",
         [f"{items}&filter={q(f'S_INTERSECTS(geometry, {diamond(b)})')}" for b in boxes],
         lambda i: int(in_diamond(boxes[i]).sum())),
        ("ours: filter capacity = 37 AND name LIKE '%1%' (whole layer)",
         [f"{items}&offset={o}&filter={q(chr(39).join(['capacity = 37 AND name LIKE ', '%1%', '']))}"
          for o in range(0, 2000, 100)],
         lambda i: int(((capacity == 37) & has1).sum())),
    ]


def run_size(n: int, args, tmp: Path) -> list[dict]:
    data = tmp / "data"
    shutil.copytree(ROOT / "data", data, dirs_exist_ok=True)
    geojson, csv = data / f"{LAYER}.geojson", tmp / "points.csv"
    started = time.monotonic()
    lon, lat = write_points(n, geojson, csv)
    log.info("%d points written in %.1f s (%.0f MB GeoJSON)", n, time.monotonic() - started, geojson.stat().st_size / 1e6)
    boxes = windows()
    ours_prefix = f"/ogc/collections/{LAYER}/items?f=json&limit=100&bbox="
    plain = [ours_prefix + b for b in boxes]
    results = []

    def serve_ours(name: str, code: Path, store: str) -> Server:
        port = free_port()
        return Server(name, [str(ROOT / ".venv/bin/gunicorn"), "-w", "2", "--preload", "-b", f"127.0.0.1:{port}",
                             "webmap:create_app()"], {"SCENEMAP_DATA_DIR": str(data), "SCENEMAP_BASEMAP": "none",
                                                      "SCENEMAP_DATABASE_URL": f"sqlite:///{tmp}/{store}.sqlite"},
                      port, f"/ogc/collections/{LAYER}?f=json", cwd=code)

    ours = serve_ours("ours", ROOT, "store")
    try:
        sample = get(ours.base + plain[0])
        matched_ours = [json.loads(get(ours.base + p))["numberMatched"] for p in plain[:20]]
        results.append(measure(ours, plain, args, tmp, name="ours: plain items (bbox)"))
        for name, paths, expected in filter_cases(boxes, lon, lat):
            got = [json.loads(get(ours.base + p))["numberMatched"] for p in paths[:5]]
            if got != [expected(i) for i in range(5)]:
                raise RuntimeError(f"{name}: numberMatched {got}, brute force {[expected(i) for i in range(5)]}")
            results.append(measure(ours, paths, args, tmp, name=name))
        results.append(measure(ours, plain, args, tmp, name="ours: plain items (bbox), again after the filters"))
    finally:
        ours.stop()
    if args.baseline:
        commit = subprocess.run(["git", "-C", str(args.baseline), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip() or str(args.baseline)
        before = serve_ours(f"ours before (commit {commit}): plain items (bbox)", Path(args.baseline), "store-baseline")
        try:
            if [json.loads(get(before.base + p))["numberMatched"] for p in plain[:20]] != matched_ours:
                raise RuntimeError("the baseline and ours disagree on the matches")
            results.append(measure(before, plain, args, tmp))
        finally:
            before.stop()
    (tmp / "constant.bin").write_bytes(sample)
    (tmp / "constant_app.py").write_text(CONSTANT_APP.format(path=str(tmp / "constant.bin")))
    port = free_port()
    constant = Server("ceiling (constant response)", [str(ROOT / ".venv/bin/gunicorn"), "-w", "2", "-b",
                                                     f"127.0.0.1:{port}", "--chdir", str(tmp), "constant_app:app"],
                      {}, port, "/probe")
    try:
        results.append(measure(constant, ["/items?bbox=" + b for b in boxes], args, tmp))
    finally:
        constant.stop()
    if args.skip_pygeoapi:
        return results
    pg_prefix = "/collections/points/items?f=json&limit=100&bbox="
    pg_paths = [pg_prefix + b for b in boxes]
    if not args.skip_geojson_provider:
        server = pygeoapi("pygeoapi GeoJSON provider",
                          f'{{type: feature, name: GeoJSON, data: "{geojson}", id_field: id}}', tmp)
        try:
            slow = n >= 1_000_000
            results.append(measure(server, pg_paths, args, tmp, connections=2 if slow else None,
                                   timeout=300 if slow else 60))
        finally:
            server.stop()
    with postgis(csv, tmp) as pg_port:
        provider = (f"{{type: feature, name: PostgreSQL, data: {{host: 127.0.0.1, port: {pg_port}, dbname: bench, "
                    f"user: postgres, password: x, search_path: [public]}}, id_field: id, table: points, geom_field: geom}}")
        server = pygeoapi("pygeoapi PostgreSQL provider (PostGIS, GiST)", provider, tmp)
        try:
            matched_pg = [json.loads(get(server.base + p))["numberMatched"] for p in pg_paths[:20]]
            if matched_pg != matched_ours:
                raise RuntimeError(f"ours and pygeoapi disagree on the matches: {matched_ours} vs {matched_pg}")
            results.append(measure(server, pg_paths, args, tmp))
        finally:
            server.stop()
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="OGC API items: ours vs pygeoapi vs a constant response")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--duration", type=int, default=15, help="seconds of load per server")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--skip-geojson-provider", action="store_true")
    parser.add_argument("--skip-pygeoapi", action="store_true", help="ours and the ceiling only")
    parser.add_argument("--baseline", type=Path, help="a checkout of an earlier version of this project (e.g. "
                        "`git worktree add /tmp/base HEAD~1`), served the same way for plain bbox pages")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="bench-ogc-") as tmp:
            rows += [(n, r) for r in run_size(n, args, Path(tmp))]
    print(f"\nwrk -t2 -c{args.connections} -d{args.duration}s, random ~1 km windows, limit=100; "
          "2 gunicorn sync workers each\n")
    print("| points | server | requests/s | p50 | p95 | p99 | one request alone | errors | memory (PSS) | start-up |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, r in rows:
        print(f"| {n:,} | {r['name']} | {r['rps']:,.1f} | {r['p50']:.2f} ms | {r['p95']:.2f} ms | {r['p99']:.2f} ms "
              f"| {r['single_ms']:,.1f} ms | {r['errors']} | {r['memory_mb']:,.0f} MB | {r['startup_s']:.1f} s |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
