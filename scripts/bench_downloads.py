"""Benchmark: what an anonymous request costs on a large layer, before and after the export cache and the
bounded HTML previews — side by side in one run.

  - Downloads of a synthetic point layer (outdoor-dining pilots, ``--points`` features) in each format:
    "uncached" is what every request did before (layers.export.export: GDAL writes the whole layer, the
    bytes are read into memory); "cached, first" is the first request through the app (it builds the file
    once, for this version and format); "cached, next" is every later request (the file streamed).
  - The OGC HTML page of one feature, a polygon of ``--vertices`` vertices: the preview map as it was
    (every vertex in the page) against the bounded preview (at most mapshell.PREVIEW_VERTEX_BUDGET).

Time is the best of ``--repeat`` runs; memory is the growth of the process's peak RSS during one run
(the peak is reset before each, through /proc/self/clear_refs, after freed memory went back to the system
with malloc_trim), so GDAL's own allocations count too. Responses are read as streams, not kept.

Usage: .venv/bin/python scripts/bench_downloads.py [--points 200000] [--vertices 1000000] [--repeat 3]
Prints Markdown tables (for BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import logging
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import shapely
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from layers import export  # noqa: E402
from layers.load import Layer  # noqa: E402
from webmap import create_app, mapshell  # noqa: E402

log = logging.getLogger("bench_downloads")


def _status(field: str) -> int:
    """A VmHWM/VmRSS line of /proc/self/status, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


_LIBC = ctypes.CDLL("libc.so.6")


def measure(repeat: int, func) -> tuple[float, int, object]:
    """(best time in s, peak RSS growth in bytes of the first run, the last result)."""
    times, peak, result = [], 0, None
    for i in range(repeat):
        gc.collect()
        _LIBC.malloc_trim(0)  # memory freed by earlier runs goes back to the system, so it is not reused unseen
        Path("/proc/self/clear_refs").write_text("5")  # resets the peak RSS to the current RSS
        before = _status("VmRSS")
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
        if i == 0:
            peak = max(0, _status("VmHWM") - before)
    return min(times), peak, result


def publish(app, layer_id: str, ids: list, geometries) -> None:
    """Make ``geometries`` the live version of ``layer_id`` (properties copied from its first feature)."""
    live = app.extensions["catalog"].get(layer_id)
    props = [dict(live.layer.properties[0], name=f"外摆点 {i}", capacity=10 + i % 50) for i in range(len(ids))]
    app.extensions["store"].publish(Layer(live.kind, list(ids), props, np.asarray(geometries, dtype=object)),
                                    author="bench")


def mb(n: int) -> str:
    return f"{n / 1e6:,.2f} MB"


def streamed(client, url: str) -> int:
    """GET ``url`` and read the body as the server streams it, counting the bytes."""
    response = client.get(url, buffered=False)
    try:
        return sum(len(chunk) for chunk in response.response)
    finally:
        response.close()


def downloads(app, points: int, repeat: int, formats: list[str]) -> list[str]:
    rng = np.random.default_rng(7)
    geoms = shapely.points(rng.uniform(120.15, 120.55, points), rng.uniform(35.95, 36.35, points))
    publish(app, "outdoor_dining_pilots", [f"p{i}" for i in range(points)], geoms)
    client = app.test_client()
    client.get("/api/layers")  # the catalog picks up the new version
    live = app.extensions["catalog"].get("outdoor_dining_pilots")
    rows = ["| format | file | uncached: per request | uncached: peak memory | cached: first request (builds) "
            "| cached: next requests | cached: peak memory |", "|---|---:|---:|---:|---:|---:|---:|"]
    url = "/api/layers/outdoor_dining_pilots/download?format="
    for fmt in formats:
        uncached_s, uncached_mem, (data, _, _) = measure(repeat, lambda fmt=fmt: export.export(
            [(live.kind, live.layer, np.arange(live.count))], fmt, "bench"))
        first_s, _, _ = measure(1, lambda fmt=fmt: streamed(client, url + fmt))
        cached_s, cached_mem, size = measure(repeat, lambda fmt=fmt: streamed(client, url + fmt))
        assert size == len(data) or fmt == "gpkg", (fmt, size, len(data))
        rows.append(f"| {fmt} | {mb(size)} | {uncached_s:.2f} s | {mb(uncached_mem)} | {first_s:.2f} s "
                    f"| {cached_s * 1000:.0f} ms | {mb(cached_mem)} |")
        log.info("%s done", fmt)
    return rows


def under_load(app, parallel: int) -> list[str]:
    """``parallel`` clients downloading the whole point layer as KML at once, over HTTP (werkzeug, one
    thread per request): how long they take, and how long the map page (GET /) waits meanwhile. A bbox that
    holds every feature makes the download a selection, built per request as every download was before."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    urllib.request.urlopen(base + "/").read()  # the page's shell, built once
    rows = ["| downloads | all downloads done | GET / while they run |", "|---|---:|---:|"]
    for title, query in (("built per request (as before)", "format=kml&bbox=119,35,122,37.5"),
                         ("from the export cache (now)", "format=kml")):
        urllib.request.urlopen(f"{base}/api/layers/outdoor_dining_pilots/download?format=kml").read()  # cache warm
        workers = [threading.Thread(target=lambda query=query: urllib.request.urlopen(
            f"{base}/api/layers/outdoor_dining_pilots/download?{query}").read()) for _ in range(parallel)]
        start = time.perf_counter()
        for worker in workers:
            worker.start()
        time.sleep(0.05)
        page_start = time.perf_counter()
        urllib.request.urlopen(base + "/").read()
        page_s = time.perf_counter() - page_start
        for worker in workers:
            worker.join()
        rows.append(f"| {parallel} × KML, {title} | {time.perf_counter() - start:.2f} s | {page_s * 1000:,.0f} ms |")
    server.shutdown()
    return rows


def html_preview(app, vertices: int, repeat: int) -> list[str]:
    angles = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    ring = np.column_stack([120.38 + 0.02 * np.cos(angles), 36.07 + 0.02 * np.sin(angles)])
    publish(app, "commercial_districts", ["big"], [shapely.Polygon(ring)])
    client = app.test_client()
    client.get("/api/layers")
    live = app.extensions["catalog"].get("commercial_districts")

    def preview(budget):
        with app.test_request_context():
            shell = mapshell.preview(live.kind, live.layer.geometries, budget=budget)
        return len(shell.html) + len(shell.script) + len(shell.header)

    old_s, old_mem, old_size = measure(repeat, lambda: preview(None))  # as it was: every vertex in the page
    new_s, new_mem, new_size = measure(repeat, lambda: preview(mapshell.PREVIEW_VERTEX_BUDGET))
    page_s, page_mem, page = measure(repeat, lambda: streamed(client, "/ogc/collections/commercial_districts/items/big?f=html"))
    return ["| preview map | size | time | peak memory |", "|---|---:|---:|---:|",
            f"| every vertex (before) | {mb(old_size)} | {old_s:.2f} s | {mb(old_mem)} |",
            f"| at most {mapshell.PREVIEW_VERTEX_BUDGET:,} vertices (now) | {mb(new_size)} | {new_s * 1000:.0f} ms "
            f"| {mb(new_mem)} |",
            f"| the whole page now (request) | {mb(page)} | {page_s * 1000:.0f} ms | {mb(page_mem)} |"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--vertices", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--formats", nargs="+", default=list(export.FORMATS), choices=list(export.FORMATS))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)
    with tempfile.TemporaryDirectory(prefix="bench-downloads-") as tmp:
        app = create_app({"TESTING": True, "BASEMAP": "none", "CATALOG_REFRESH_SECONDS": 0,
                          "EXPORT_CACHE_DIR": str(Path(tmp) / "exports"), "DOWNLOAD_RATE_LIMIT": "1000000 per minute",
                          "HTML_RATE_LIMIT": "1000000 per minute"})
        print(f"Downloads of {args.points:,} points\n")
        print("\n".join(downloads(app, args.points, args.repeat, args.formats)))
        print(f"\n{args.parallel} clients at once\n")
        print("\n".join(under_load(app, args.parallel)))
        print(f"\nOGC HTML page of one polygon of {args.vertices:,} vertices\n")
        print("\n".join(html_preview(app, args.vertices, args.repeat)))


if __name__ == "__main__":
    main()
