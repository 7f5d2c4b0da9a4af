"""Benchmark: importing point layers — read, convert (GCJ-02 to WGS-84), check and publish to the store.

Each size runs in a fresh process (so peak memory is its own) against a fresh SQLite store: the same
path as `flask --app webmap layers import outdoor_dining_pilots FILE --crs gcj02`.

Usage: .venv/bin/python scripts/bench_import.py [--sizes 100000 1000000]
Prints a Markdown table (for BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one(n: int) -> dict:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_ogc import write_points

    from layers.readers import read_file
    from layers.registry import get
    from layers.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "points.geojson"
        write_points(n, path, Path(tmp) / "points.csv")
        store = Store(f"sqlite:///{tmp}/store.sqlite")
        store.upgrade()
        start = time.perf_counter()
        layer = read_file(path, get("outdoor_dining_pilots"), crs="gcj02")
        checked = time.perf_counter()
        version = store.publish(layer, author="bench", source=str(path))
        done = time.perf_counter()
        assert version.total == n and layer.report.ok
        return {"n": n, "read_check_s": checked - start, "publish_s": done - checked, "total_s": done - start,
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "mb": path.stat().st_size / 1e6}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="import speed: read + convert + check + publish")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.one)))
        return
    rows = []
    for n in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print("| features | file | read + convert + check | publish (SQLite) | total | per 10^5 | peak memory |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['n']:,} | {r['mb']:,.0f} MB | {r['read_check_s']:.1f} s | {r['publish_s']:.1f} s "
              f"| {r['total_s']:.1f} s | {r['total_s'] / r['n'] * 1e5:.2f} s | {r['peak_mb']:,.0f} MB |")


if __name__ == "__main__":
    main()
