"""The planning checks against a real PostGIS: the same places within each rule's distance, the same
edge-to-edge distances and the same complaint counts (the queries of scripts/bench_planning.py)."""

import sys
from pathlib import Path

import pytest

from layers.planning import engine, rules

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import bench_planning  # noqa: E402


def test_ours_and_postgis_agree_on_synthetic_data(postgres):
    if not list(Path("/usr/share/postgresql").glob("*/extension/postgis.control")):
        pytest.fail("PostGIS is not installed: scripts/setup.sh test installs postgresql-15-postgis-3")
    sites, places, complaints = bench_planning.synthesize(2000, 20000, 20000, seed=11)
    result = engine.check_all(sites, places, complaints, week=bench_planning.WEEK, as_of=bench_planning.AS_OF)
    assert result.counts()["fail"] and result.counts()["warn"] and result.counts()["pass"]
    conn = bench_planning.postgis_setup(postgres, sites, places, complaints)
    try:
        answers = bench_planning.postgis_queries(conn, rules.default())
    finally:
        conn.close()
    assert answers["R1"][0], "no pairs within 30 m: the data would test nothing"
    bench_planning.cross_check(result, answers, rules.default())
