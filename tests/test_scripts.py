"""scripts/: the data builder reproduces data/ exactly; the benchmark runs."""

import subprocess
import sys

from .conftest import DATA, ROOT, SHARED


def test_build_sample_data_reproduces_data_dir(tmp_path):
    done = subprocess.run([sys.executable, "scripts/build_sample_data.py", "--shared", str(SHARED), "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "largest boundary move" in done.stderr
    for path in DATA.glob("*.geojson"):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_page_benchmark_runs_and_compares_both(tmp_path):
    done = subprocess.run([sys.executable, "scripts/bench_page.py", "--sizes", "200", "--repeat", "1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    row = [line for line in done.stdout.splitlines() if line.startswith("| 200 |")]
    assert len(row) == 1 and row[0].count("|") == 8
