"""Benchmark: the planning desk's "check all" — ours (shapely STRtree in EPSG:4549) against PostGIS.

Synthetic data over a 60 km × 50 km area around Qingdao: N sites (outdoor seating: 90 % points, 10 % drawn
areas) with opening hours from a set of 14 expressions (one unparsable, some missing), 10^5 protected
polygons (compounds and campuses 20-120 m a side, seven categories) and 10^5 complaints over the last year.

Ours: :func:`layers.planning.engine.check_all` with the default ruleset (all five rules: three distance rules
with hours windows over a real week, the walkway minimum, noise complaints in 90 days), verdicts with reasons
built for every site. Protected places and complaints are projected and indexed once per layer version
("prepare", timed apart); each run projects the sites and starts with empty hours caches.

PostGIS: the same spatial questions in SQL on a throwaway cluster (tests/postgres.py), geometries stored
projected (EPSG:4549) with GiST indexes, ANALYZEd: per distance rule the places within the distance (ST_DWithin,
with ST_Distance), the nearest within 200 m (KNN ``<->``) for sites with none, and the noise complaints within
50 m or naming the site in the last 90 days; rows fetched by psycopg2. PostGIS cannot evaluate OSM opening
hours or write the verdicts: it does less than ours. Before timing, the script checks both find the same pairs.

Usage: .venv/bin/python scripts/bench_planning.py [--sites 10000] [--places 100000] [--complaints 100000]
       [--repeat 3] [--no-postgis]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from layers import area  # noqa: E402
from layers.load import Layer  # noqa: E402
from layers.planning import engine, hours, rules  # noqa: E402
from layers.planning.kinds import (  # noqa: E402
    CATEGORIES,
    COMPLAINTS,
    SENSITIVE_SITES,
    outdoor_dining_kind,
)

log = logging.getLogger("bench_planning")
TO_DEG = Transformer.from_crs(area.METRIC_CRS, "EPSG:4326", always_xy=True)
X0, Y0 = Transformer.from_crs("EPSG:4326", area.METRIC_CRS, always_xy=True).transform(120.2, 36.0)
WIDTH, HEIGHT = 60_000, 50_000
HOURS = ["Mo-Su 10:00-22:00", "Mo-Su 09:00-21:00", "Mo-Su 17:00-23:30", "Mo-Su 17:00-01:00", "Mo-Su 16:00-02:00",
         "Mo-Fr 08:00-20:00; Sa,Su 09:00-21:00", "Th-Sa 18:00-24:00", "Sa,Su 10:00-21:00", "24/7",
         "Mo-Su 10:00-22:00; PH 10:00-24:00", "Jun-Sep Mo-Su 17:00-24:00", "Mo-Su 06:30-10:00,17:00-21:30",
         "每天晚上", None]
WEEK = dt.date(2026, 7, 15)
AS_OF = dt.date(2026, 11, 30)


def _degrees(geoms):
    return shapely.transform(geoms, lambda c: np.column_stack(TO_DEG.transform(c[:, 0], c[:, 1])))


def synthesize(n_sites: int, n_places: int, n_complaints: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    # protected places: rectangles 20-120 m a side
    px, py = X0 + rng.uniform(0, WIDTH, n_places), Y0 + rng.uniform(0, HEIGHT, n_places)
    w, h = rng.uniform(20, 120, n_places), rng.uniform(20, 120, n_places)
    places_m = shapely.box(px, py, px + w, py + h)
    cats = rng.choice(list(CATEGORIES), n_places, p=[0.6, 0.1, 0.08, 0.05, 0.05, 0.08, 0.04])
    # sites: points, one in ten a drawn 6 m × 4 m seating area
    sx, sy = X0 + rng.uniform(0, WIDTH, n_sites), Y0 + rng.uniform(0, HEIGHT, n_sites)
    sites_m = shapely.points(sx, sy)
    areas = rng.random(n_sites) < 0.1
    sites_m[areas] = shapely.box(sx[areas], sy[areas], sx[areas] + 6, sy[areas] + 4)
    site_hours = rng.choice(len(HOURS), n_sites)
    walkway = np.round(rng.uniform(0.8, 4.0, n_sites), 1)
    # complaints: points, dates over the year before AS_OF, one in ten naming a site
    cx, cy = X0 + rng.uniform(0, WIDTH, n_complaints), Y0 + rng.uniform(0, HEIGHT, n_complaints)
    complaints_m = shapely.points(cx, cy)
    ccat = rng.choice(["noise", "litter", "obstruction", "odour", "other"], n_complaints, p=[0.5, 0.2, 0.1, 0.1, 0.1])
    received = (np.datetime64(AS_OF) - rng.integers(0, 365, n_complaints).astype("timedelta64[D]")).astype(str)
    named = np.where(rng.random(n_complaints) < 0.1, rng.integers(0, n_sites, n_complaints), -1)

    site_ids = [f"s{i}" for i in range(n_sites)]
    site_props = []
    for i in range(n_sites):
        props = {"name": f"外摆 {i}", "district": "市南区", "clear_walkway_m": float(walkway[i])}
        if HOURS[site_hours[i]] is not None:
            props["opening_hours"] = HOURS[site_hours[i]]
        site_props.append(props)
    sites = Layer(kind=outdoor_dining_kind(), ids=site_ids, properties=site_props, geometries=_degrees(sites_m))
    places = Layer(kind=SENSITIVE_SITES, ids=[f"p{i}" for i in range(n_places)],
                   properties=[{"name": f"小区 {i}", "category": c, "source": "sample"} for i, c in enumerate(cats)],
                   geometries=_degrees(places_m))
    complaint_props = []
    for i in range(n_complaints):
        props = {"received": received[i], "category": ccat[i], "source": "sample"}
        if named[i] >= 0:
            props["site_id"] = site_ids[named[i]]
        complaint_props.append(props)
    complaints = Layer(kind=COMPLAINTS, ids=[f"c{i}" for i in range(n_complaints)], properties=complaint_props,
                       geometries=_degrees(complaints_m))
    return sites, places, complaints


def run_ours(sites, places, complaints, repeat: int):
    start = time.perf_counter()
    prepared_places, prepared_complaints = engine.prepare_places(places), engine.prepare_complaints(complaints)
    for group in (("residential",), ("school", "kindergarten"), ("hospital", "elderly_care")):
        prepared_places.tree(group)
    prepare_s = time.perf_counter() - start
    times, result = [], None
    for _ in range(repeat):
        hours._schedule.cache_clear()
        start = time.perf_counter()
        result = engine.check_all(sites, prepared_places, prepared_complaints, week=WEEK, as_of=AS_OF)
        times.append(time.perf_counter() - start)
    return prepare_s, times, result


def interactive(sites, places, complaints, n: int = 200) -> list[float]:
    prepared_places, prepared_complaints = engine.prepare_places(places), engine.prepare_complaints(complaints)
    out = []
    for i in range(n):
        geometry, props = sites.geometries[i], sites.properties[i]
        start = time.perf_counter()
        engine.check_site(geometry, props, prepared_places, prepared_complaints, site_id=sites.ids[i], week=WEEK,
                          as_of=AS_OF)
        out.append(time.perf_counter() - start)
    return out


# --- PostGIS ---------------------------------------------------------------------------------------------

NEAR_SQL = """
SELECT s.id, p.id, ST_Distance(s.geom, p.geom) FROM sites s
JOIN places p ON ST_DWithin(s.geom, p.geom, %(d)s) WHERE p.category = ANY(%(cats)s)"""
NEAREST_SQL = """
SELECT s.id, n.id, n.d FROM sites s CROSS JOIN LATERAL (
  SELECT p.id, ST_Distance(s.geom, p.geom) AS d FROM places p
  WHERE p.category = ANY(%(cats)s) AND ST_DWithin(s.geom, p.geom, 200) ORDER BY s.geom <-> p.geom LIMIT 1) n
WHERE NOT EXISTS (SELECT 1 FROM places q WHERE q.category = ANY(%(cats)s) AND ST_DWithin(s.geom, q.geom, %(d)s))"""
COMPLAINTS_SQL = """
SELECT sid, count(*), array_agg(cid) FROM (
  SELECT s.id AS sid, c.id AS cid FROM sites s JOIN complaints c ON ST_DWithin(s.geom, c.geom, %(d)s)
  WHERE c.category = ANY(%(cats)s) AND c.received > %(since)s AND c.received <= %(until)s
  UNION
  SELECT s.id, c.id FROM sites s JOIN complaints c ON c.site_id = s.id
  WHERE c.category = ANY(%(cats)s) AND c.received > %(since)s AND c.received <= %(until)s) x
GROUP BY sid"""
WALKWAY_SQL = "SELECT id, walkway FROM sites WHERE walkway IS NULL OR walkway < %(minimum)s"


def _copy(cur, table: str, columns: list[str], rows) -> None:
    import io

    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
    buffer.seek(0)
    cur.copy_from(buffer, table, columns=columns)


def postgis_setup(cluster, sites, places, complaints):
    import psycopg2

    url = cluster.new_database()
    conn = psycopg2.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname=url.rsplit("/", 1)[1])
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("CREATE EXTENSION postgis")
    cur.execute("CREATE TABLE sites (id text PRIMARY KEY, walkway float8, geom geometry(Geometry, 4549))")
    cur.execute("CREATE TABLE places (id text PRIMARY KEY, name text, category text, geom geometry(Polygon, 4549))")
    cur.execute("CREATE TABLE complaints (id text PRIMARY KEY, category text, received date, site_id text, "
                "geom geometry(Point, 4549))")

    def ewkb(geoms):
        return shapely.to_wkb(shapely.set_srid(engine.to_metric(geoms), 4549), hex=True, include_srid=True)

    _copy(cur, "sites", ["id", "walkway", "geom"],
          zip(sites.ids, [p.get("clear_walkway_m") for p in sites.properties], ewkb(sites.geometries)))
    _copy(cur, "places", ["id", "name", "category", "geom"],
          zip(places.ids, [p["name"] for p in places.properties], [p["category"] for p in places.properties],
              ewkb(places.geometries)))
    _copy(cur, "complaints", ["id", "category", "received", "site_id", "geom"],
          zip(complaints.ids, [p["category"] for p in complaints.properties],
              [p["received"] for p in complaints.properties], [p.get("site_id") for p in complaints.properties],
              ewkb(complaints.geometries)))
    for table in ("sites", "places", "complaints"):
        cur.execute(f"CREATE INDEX ON {table} USING gist (geom)")
    cur.execute("CREATE INDEX ON complaints (site_id)")
    cur.execute("ANALYZE")
    return conn


def postgis_queries(conn, ruleset, timings: dict | None = None) -> dict:
    cur = conn.cursor()
    out = {}
    for rule in ruleset:
        start = time.perf_counter()
        if rule.kind == "near_during":
            params = {"d": rule.param("distance_m"), "cats": list(rule.param("categories"))}
            cur.execute(NEAR_SQL, params)
            pairs = cur.fetchall()
            cur.execute(NEAREST_SQL, params)
            out[rule.id] = (pairs, cur.fetchall())
        elif rule.kind == "complaints_near":
            until = np.datetime64(AS_OF)
            cur.execute(COMPLAINTS_SQL, {"d": rule.param("distance_m"), "cats": list(rule.param("categories")),
                                         "since": str(until - np.timedelta64(rule.param("days"), "D")),
                                         "until": str(until)})
            out[rule.id] = cur.fetchall()
        else:
            cur.execute(WALKWAY_SQL, {"minimum": rule.param("minimum")})
            out[rule.id] = cur.fetchall()
        if timings is not None:
            timings[rule.id] = time.perf_counter() - start
    return out


def cross_check(result, answers, ruleset) -> None:
    """Both find the same places within each rule's distance and the same complaint counts."""
    ours = {r.id: r for r in result.results}
    for rule in ruleset:
        if rule.kind == "near_during":
            pairs, _ = answers[rule.id]
            theirs: dict[str, int] = {}
            for sid, _pid, _d in pairs:
                theirs[sid] = theirs.get(sid, 0) + 1
            mine = {sid: r.verdict(rule.id).measured.get("within", 0) for sid, r in ours.items()
                    if r.verdict(rule.id).measured.get("within")}
            assert mine == theirs, f"{rule.id}: {len(mine)} sites vs {len(theirs)}"
            nearest: dict[str, float] = {}
            for sid, _pid, d in pairs:
                nearest[sid] = min(d, nearest.get(sid, d))
            for sid, d in nearest.items():  # the same edge-to-edge distance, to the rounding of 0.1 m
                assert abs(ours[sid].verdict(rule.id).measured["distance_m"] - d) <= 0.051, (rule.id, sid, d)
        elif rule.kind == "complaints_near":
            theirs = {sid: count for sid, count, _ in answers[rule.id]}
            mine = {sid: r.verdict(rule.id).measured["count"] for sid, r in ours.items()
                    if r.verdict(rule.id).measured["count"]}
            assert mine == theirs, f"{rule.id}: complaint counts differ"
    log.info("cross-check: ours and PostGIS find the same pairs and counts")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="planning check-all: ours against PostGIS")
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--places", type=int, default=100_000)
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-postgis", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("layers").setLevel(logging.WARNING)

    sites, places, complaints = synthesize(args.sites, args.places, args.complaints)
    ruleset = rules.default()
    prepare_s, ours, result = run_ours(sites, places, complaints, args.repeat)
    single = sorted(interactive(sites, places, complaints))
    counts = result.counts()
    rows = [("ours: prepare places + complaints (once per layer version)", prepare_s),
            *((f"ours: check all, run {i + 1}", t) for i, t in enumerate(ours))]
    if not args.no_postgis:
        sys.path.insert(0, str(ROOT / "tests"))
        from postgres import Cluster

        cluster = Cluster()
        try:
            start = time.perf_counter()
            conn = postgis_setup(cluster, sites, places, complaints)
            rows.append(("PostGIS: load + GiST indexes + ANALYZE (once)", time.perf_counter() - start))
            answers = postgis_queries(conn, ruleset)  # warm the cache once
            cross_check(result, answers, ruleset)
            per_rule: dict[str, float] = {}
            for i in range(args.repeat):
                start = time.perf_counter()
                postgis_queries(conn, ruleset, per_rule)
                rows.append((f"PostGIS: same spatial queries, run {i + 1}", time.perf_counter() - start))
            rows.append(("PostGIS: last run by rule " + ", ".join(f"{k} {v:.3f}" for k, v in per_rule.items()),
                         sum(per_rule.values())))
            conn.close()
        finally:
            cluster.stop()
    print(f"\n{args.sites:,} sites, {args.places:,} protected polygons, {args.complaints:,} complaints; "
          f"{len(ruleset)} rules; verdicts {counts}\n")
    print("| step | seconds |\n|---|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} |")
    print(f"| ours: best check all | {min(ours):.3f} |")
    if not args.no_postgis:
        best = min(t for n, t in rows if n.startswith("PostGIS: same"))
        print(f"| PostGIS: best | {best:.3f} |")
    print(f"| ours: one site (check_site, in process), p50 / p95 of {len(single)} | "
          f"{statistics.median(single) * 1000:.1f} ms / {single[int(len(single) * 0.95) - 1] * 1000:.1f} ms |")


if __name__ == "__main__":
    main()
