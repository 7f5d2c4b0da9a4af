"""Benchmark: the map page's size and build time against folium's default embedding of the data.

For synthetic point layers of 10^3, 10^4 and 10^5 features (outdoor-dining pilots scattered over Qingdao)
it reports, side by side in one run:
  - ours: the time to read, check and pre-serialize the layer (once per layer version), the time to build
    the page, the page's HTML size (it does not contain the data), and the size of /api/layers/<id>
    (plain and gzip) that the browser fetches;
  - folium's default: folium.GeoJson(data) added to a Map and rendered to HTML — time and size.

Usage: .venv/bin/python scripts/bench_page.py [--sizes 1000 10000 100000] [--repeat 3]
Prints a Markdown table (for BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

import folium
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from webmap import create_app  # noqa: E402

log = logging.getLogger("bench_page")


def synthetic(n: int, seed: int = 7) -> dict:
    rng = np.random.default_rng(seed)
    lon = rng.uniform(120.15, 120.55, n).round(6)
    lat = rng.uniform(35.95, 36.35, n).round(6)
    hours = ["Mo-Su 10:00-22:00", "Fr,Sa 17:00-24:00", "Mo-Th 11:00-21:00; Fr-Su 11:00-23:00", "24/7"]
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": f"p{i}", "geometry": {"type": "Point", "coordinates": [float(lon[i]), float(lat[i])]},
         "properties": {"name": f"外摆点 {i}", "name_en": f"Terrace {i}", "district": "市南区", "status": "pilot",
                        "opening_hours": hours[i % 4], "capacity": int(10 + i % 50), "source": "sample"}}
        for i in range(n)]}


def best_of(repeat: int, func):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), result


def ours(data_dir: Path, repeat: int) -> dict:
    load_s, app = best_of(1, lambda: create_app({"TESTING": True, "BASEMAP": "none", "DATA_DIR": str(data_dir)}))

    def page():
        app.extensions["map_shells"].clear()  # build the shell afresh each time
        return app.test_client().get("/").data

    page_s, html = best_of(repeat, page)
    client = app.test_client()
    plain = client.get("/api/layers/outdoor_dining_pilots").data
    zipped = client.get("/api/layers/outdoor_dining_pilots", headers={"Accept-Encoding": "gzip"}).data
    return {"load_s": load_s, "page_s": page_s, "html": len(html), "api": len(plain), "api_gz": len(zipped)}


def folium_default(fc: dict, repeat: int) -> dict:
    def render():
        fmap = folium.Map(location=(36.09, 120.38), zoom_start=12)
        folium.GeoJson(fc, name="outdoor_dining_pilots").add_to(fmap)
        return fmap.get_root().render()

    page_s, html = best_of(repeat, render)
    return {"page_s": page_s, "html": len(html.encode())}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="page size and build time, ours vs folium's default embedding")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    rows = []
    for n in args.sizes:
        fc = synthetic(n)
        with tempfile.TemporaryDirectory() as tmp:
            data_dir = Path(tmp) / "data"
            shutil.copytree(ROOT / "data", data_dir)
            (data_dir / "outdoor_dining_pilots.geojson").write_text(json.dumps(fc, ensure_ascii=False), "utf-8")
            mine = ours(data_dir, args.repeat)
        theirs = folium_default(fc, args.repeat)
        rows.append((n, mine, theirs))
    print("| points | ours: page HTML | ours: page build | ours: load + check + serialize (once) "
          "| ours: /api/layers (plain / gzip) | folium default: page HTML | folium default: build + render |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n, mine, theirs in rows:
        print(f"| {n:,} | {mine['html'] / 1024:,.1f} KiB | {mine['page_s'] * 1000:,.1f} ms | {mine['load_s']:,.2f} s "
              f"| {mine['api'] / 1e6:,.2f} MB / {mine['api_gz'] / 1e6:,.2f} MB | {theirs['html'] / 1e6:,.2f} MB "
              f"| {theirs['page_s'] * 1000:,.0f} ms |")


if __name__ == "__main__":
    main()
