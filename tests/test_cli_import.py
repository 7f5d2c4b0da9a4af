"""flask --app webmap layers import|history|rollback|export|quarantine and users create, as a person runs them."""

import json
import os
import signal
import subprocess
import sys
import time
import traceback

import flask.cli
import pyogrio
import pytest
from click.testing import CliRunner

from layers import coords

from .conftest import ROOT, feature_collection, point


@pytest.fixture
def flask_cli(tmp_path, monkeypatch):
    """``flask --app webmap ARGS``: the same command line (flask's own command group, which finds the app and
    makes it from the SCENEMAP_* environment, a fresh app each time), run in this process by click's
    CliRunner rather than in a new Python each time; stdin is not a terminal, as in a script. The test
    that needs a real process (to kill it) starts one with ``run.env``."""
    env = {"SCENEMAP_DATABASE_URL": f"sqlite:///{tmp_path}/store.sqlite", "SCENEMAP_AUTHOR": "tester"}
    monkeypatch.chdir(ROOT)

    def run(*args, stdin=None, check=True):
        result = CliRunner().invoke(flask.cli.cli, ["--app", "webmap", *args], input=stdin, env=env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            pytest.fail("".join(traceback.format_exception(*result.exc_info)))  # a real run prints a Traceback
        done = subprocess.CompletedProcess(["flask", "--app", "webmap", *args], result.exit_code, result.stdout,
                                           result.stderr)
        assert "Traceback" not in done.stderr + done.stdout, done.stderr
        if check:
            assert done.returncode == 0, done.stdout + done.stderr
        return done

    run.env = dict(os.environ, **env)
    return run


def test_import_history_rollback_export(flask_cli, tmp_path):
    x, y = coords.wgs84_to_bd09(120.3933, 36.0589)
    path = tmp_path / "new.geojson"
    path.write_text(feature_collection([point("od-new", float(x), float(y), name="新外摆点")]), "utf-8")
    out = flask_cli("layers", "import", "outdoor_dining_pilots", str(path), "--crs", "bd09", "--mode", "append").stdout
    assert "published outdoor_dining_pilots version 2: +1 added" in out
    history = flask_cli("layers", "history", "outdoor_dining_pilots").stdout.splitlines()
    assert "北京时间" in history[0]
    assert history[1].startswith("  v1") and "seed" in history[1] and "outdoor_dining_pilots.geojson" in history[1]
    assert "/data/" not in history[1]  # the file's name, not the server's folders
    assert history[2].startswith("* v2") and "tester" in history[2] and "new.geojson (append)" in history[2]
    exported = tmp_path / "out.gpkg"
    flask_cli("layers", "export", "outdoor_dining_pilots", "-f", "gpkg", "-o", str(exported))
    meta, _, geometry, fields = pyogrio.raw.read(exported)
    names = list(fields[list(meta["fields"]).index("name")])
    assert "新外摆点" in names and len(names) == 14
    import shapely

    new = shapely.from_wkb(geometry)[names.index("新外摆点")]
    assert abs(new.x - 120.3933) < 1e-7 and abs(new.y - 36.0589) < 1e-7  # BD-09 converted back to WGS-84
    refused = flask_cli("layers", "rollback", "outdoor_dining_pilots", "1", check=False)
    assert refused.returncode == 1 and "  remove od-new: 新外摆点" in refused.stdout and "--yes" in refused.stderr
    assert "restores version 1" in flask_cli("layers", "rollback", "outdoor_dining_pilots", "1", "--yes").stdout
    assert "13" in flask_cli("layers", "list").stdout.split("outdoor_dining_pilots")[1].splitlines()[0]


def test_dry_run_and_refusals_change_nothing(flask_cli, tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_text(feature_collection([point("a", 36.07, 120.38)]), "utf-8")
    done = flask_cli("layers", "import", "outdoor_dining_pilots", str(bad), check=False)
    assert done.returncode == 1 and "not published: no feature was accepted" in done.stderr
    assert "out of range" in done.stdout
    quarantine = tmp_path / "q.geojson"
    flask_cli("layers", "quarantine", "outdoor_dining_pilots", "-o", str(quarantine))
    refused = json.loads(quarantine.read_text("utf-8"))["features"]
    assert len(refused) == 1 and "out of range" in refused[0]["properties"]["_refused"][0]
    good = tmp_path / "good.geojson"
    good.write_text(feature_collection([point("z", 120.38, 36.07)]), "utf-8")
    dry = flask_cli("layers", "import", "outdoor_dining_pilots", str(good), "--dry-run", "--mode", "replace").stdout
    assert "dry run" in dry and "will add 1, update 0, remove 13 existing features" in dry
    assert "  remove od-licun: 李村商圈咖啡外摆" in dry
    html = tmp_path / "page.geojson"
    html.write_text("<!DOCTYPE html><html></html>", "utf-8")
    assert flask_cli("layers", "import", "hq_clusters", str(html), check=False).returncode == 1
    assert "v1 " in flask_cli("layers", "list").stdout.split("outdoor_dining_pilots")[1]
    strict = tmp_path / "mixed.geojson"
    strict.write_text(feature_collection([point("z", 120.38, 36.07), point("y", 0, 0)]), "utf-8")
    done = flask_cli("layers", "import", "outdoor_dining_pilots", str(strict), "--strict", check=False)
    assert done.returncode == 1 and "--strict" in done.stderr


def test_a_replace_that_removes_features_needs_yes(flask_cli, tmp_path):
    good = tmp_path / "one.geojson"
    good.write_text(feature_collection([point("z", 120.38, 36.07)]), "utf-8")
    appended = flask_cli("layers", "import", "outdoor_dining_pilots", str(good)).stdout  # append by default
    assert "will add 1, update 0, remove 0" in appended and "version 2" in appended
    done = flask_cli("layers", "import", "outdoor_dining_pilots", str(good), "--mode", "replace", check=False)
    assert done.returncode == 1 and "would update 0 and remove 13 existing features" in done.stderr
    assert "v2 " in flask_cli("layers", "list").stdout.split("outdoor_dining_pilots")[1]  # nothing removed
    done = flask_cli("layers", "import", "outdoor_dining_pilots", str(good), "--mode", "replace", "--yes")
    assert "-13 removed" in done.stdout


def test_gbk_shapefile_and_epsg_4549(flask_cli, tmp_path):
    import zipfile

    import numpy as np
    import pyproj
    import shapely

    to_gk = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True)
    x, y = to_gk.transform(120.3933, 36.0589)
    shp = tmp_path / "gbk" / "sites.shp"
    shp.parent.mkdir()
    fields = ["id", "name", "district", "source", "open_hours"]
    data = [np.array(["g1"], dtype=object), np.array(["奥帆外摆"], dtype=object), np.array(["市南区"], dtype=object),
            np.array(["sample"], dtype=object), np.array(["Mo-Su 10:00-22:00"], dtype=object)]
    pyogrio.raw.write(str(shp), shapely.to_wkb(np.array([shapely.Point(x, y)])), data, fields, driver="ESRI Shapefile",
                      geometry_type="Point", crs="EPSG:4549", encoding="GBK")
    (shp.parent / "sites.cpg").unlink(missing_ok=True)  # like many files in the wild: GBK, no .cpg
    archive = tmp_path / "sites.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in shp.parent.iterdir():
            z.write(part, part.name)
    done = flask_cli("layers", "import", "outdoor_dining_pilots", str(archive), "--encoding", "gb18030",
                     "--mode", "append")
    assert "+1 added" in done.stdout
    out = tmp_path / "out.geojson"
    flask_cli("layers", "export", "outdoor_dining_pilots", "-o", str(out))
    feature = next(f for f in json.loads(out.read_text("utf-8"))["features"] if f["id"] == "g1")
    assert feature["properties"]["name"] == "奥帆外摆" and feature["properties"]["opening_hours"] == "Mo-Su 10:00-22:00"
    assert feature["geometry"]["coordinates"] == pytest.approx([120.3933, 36.0589], abs=1e-7)


def test_zip_bombs_and_zip_slip_are_refused(flask_cli, tmp_path):
    import zipfile

    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.shp", b"\0" * (50 * 1024 * 1024))
    done = flask_cli("layers", "import", "hq_clusters", str(bomb), check=False)
    assert done.returncode == 1 and "zip bomb" in done.stdout
    slip = tmp_path / "slip.zip"
    with zipfile.ZipFile(slip, "w") as z:
        z.writestr("../../evil.shp", b"x")
    done = flask_cli("layers", "import", "hq_clusters", str(slip), check=False)
    assert done.returncode == 1 and "zip slip" in done.stdout
    assert not (tmp_path.parent / "evil.shp").exists()


def test_users_create_reads_the_password_from_stdin(flask_cli):
    assert "created editor alice" in flask_cli("users", "create", "alice", "--role", "editor", "--layers",
                                               "hq_clusters", stdin="correct horse battery\n").stdout
    again = flask_cli("users", "create", "alice", "--role", "admin", stdin="x" * 12 + "\n", check=False)
    assert again.returncode == 1 and "exists already" in again.stderr
    short = flask_cli("users", "create", "bob", "--role", "admin", stdin="short\n", check=False)
    assert short.returncode == 1 and "at least 10" in short.stderr


def test_a_killed_import_leaves_the_previous_version_live(flask_cli, tmp_path):
    import numpy as np

    flask_cli("layers", "list")  # seeds the store
    rng = np.random.default_rng(1)
    # large enough that publishing takes about a second here, so the kill lands inside the transaction
    big = [point(f"k{i}", float(x), float(y)) for i, (x, y) in
           enumerate(zip(rng.uniform(120.2, 120.5, 80_000), rng.uniform(36.0, 36.3, 80_000)))]
    path = tmp_path / "big.geojson"
    path.write_text(feature_collection(big), "utf-8")
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "webmap", "layers", "import",
                                "outdoor_dining_pilots", str(path)], cwd=ROOT, env=flask_cli.env,
                               stdout=subprocess.PIPE, text=True)
    for line in process.stdout:  # wait until the publishing transaction has begun
        if line.startswith("publishing"):
            break
    time.sleep(0.3)
    assert process.poll() is None, "the import finished before it could be killed: make the file larger"
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    listing = flask_cli("layers", "list").stdout
    assert "outdoor_dining_pilots    v1          13" in listing
    history = flask_cli("layers", "history", "outdoor_dining_pilots").stdout.strip().splitlines()
    assert len(history) == 2  # the line saying times are Beijing time, and version 1
