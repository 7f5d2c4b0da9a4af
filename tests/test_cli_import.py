"""flask --app webmap layers import|history|rollback|export|quarantine and users create, as a person runs them;
and the import service they share with the staff pages (layers.imports): both paths agree."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import traceback
from html import unescape

import flask.cli
import pyogrio
import pytest
from click.testing import CliRunner

from layers import coords
from layers.imports import Importer, ImportFile, OptionError, Options
from webmap import create_app

from .conftest import ROOT, feature_collection, password_hash, point
from .test_staff import PASSWORD, login, publish_form, upload


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
    assert "Published Outdoor-dining pilots version 2: +1 added" in out
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
    assert done.returncode == 1 and "Not published: no feature was accepted" in done.stderr
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


# -- one import service: the command line and the staff pages agree ---------------------------------------------
# The same file with the same options, imported by `flask --app webmap layers import` (CliRunner, in-process)
# into one app and through the staff pages (upload → preview → publish) into another: the same counts, the same
# refusals, the same quarantine, the same words.

DINING = "outdoor_dining_pilots"


def fresh_app(tmp_path, name):
    app = create_app({"TESTING": True, "BASEMAP": "none", "UPLOAD_DIR": str(tmp_path / f"uploads-{name}")})
    app.extensions["store"].create_user("ed", password_hash(PASSWORD), "admin", [], actor="test")
    return app


def by_cli(tmp_path, layer_id, content: bytes, filename: str, *args, where="cli"):
    app = fresh_app(tmp_path, where)
    path = tmp_path / where / filename
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content)
    result = app.test_cli_runner().invoke(args=["layers", "import", layer_id, str(path), "--author", "ed", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return app, result


def by_web(tmp_path, layer_id, content: bytes, filename: str, finish=True, **form):
    """Upload, preview and publish (or end the import: the preview's one form) as a person does."""
    app = fresh_app(tmp_path, "web")
    client = login(app.test_client(), "ed")
    preview = upload(client, layer_id, content, filename=filename, **form)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200, html[:500]
    if not finish:
        return app, unescape(html), None
    done = client.post(f"/staff/layers/{layer_id}/publish", data=publish_form(html), follow_redirects=True)
    assert done.status_code == 200
    flashes = [unescape(m) for m in re.findall(r'<p class="flash" role="status">(.*?)</p>', done.get_data(as_text=True),
                                                re.S)]
    return app, unescape(html), flashes


def state(app, layer_id):
    """What the store holds after the import: the live version and features, and each quarantined import."""
    store = app.extensions["store"]
    layer = store.load(app.extensions["catalog"].get(layer_id).kind)
    kept = [(q["mode"], q["version"], q["refused"], q["author"],
             store.quarantine_collection(layer_id, q["id"])["features"]) for q in store.quarantine_imports(layer_id)]
    return store.live_versions()[layer_id], sorted(map(str, layer.ids)), kept


MIXED = feature_collection([point("od-new", 120.39, 36.06, name="新外摆"), point("bad", 36.06, 120.39),
                            point("worse", 120.39, 36.06, status="open")]).encode()


def test_a_file_with_refusals_publishes_the_same_and_keeps_the_same_quarantine(tmp_path):
    cli_app, result = by_cli(tmp_path, DINING, MIXED, "mixed.geojson", "--mode", "append")
    web_app, html, flashes = by_web(tmp_path, DINING, MIXED, "mixed.geojson", mode="append")
    assert result.exit_code == 0
    assert state(cli_app, DINING) == state(web_app, DINING)
    version, ids, kept = state(web_app, DINING)
    assert version == 2 and "od-new" in ids and "bad" not in ids
    [(mode, published, refused, author, features)] = kept
    assert (mode, published, refused, author) == ("append", 2, 2, "ed") and [f["id"] for f in features] == ["bad", "worse"]
    import_id = web_app.extensions["store"].last_quarantine(DINING)
    assert import_id == cli_app.extensions["store"].last_quarantine(DINING)
    assert flashes == ["已发布外摆试点第 2 版 · Published Outdoor-dining pilots version 2: +1 added, ~0 changed, -0 removed, "
                       "14 in all", f"2 个被拒绝的要素已隔离保存（导入 {import_id}）· 2 refused features are kept in "
                       f"quarantine (import {import_id})"]
    for message in flashes:
        assert message in result.output
    assert "mixed.geojson: 1 accepted (0 repairs, 0 warnings), 2 refused" in result.output
    assert "<strong>1</strong> 个要素可发布" in html and "<strong>2</strong> 个被拒绝" in html


def test_nothing_accepted_keeps_the_refusals_on_both_paths(tmp_path):
    refused = feature_collection([point("a", 36.07, 120.38), point("b", 0, 0)]).encode()
    cli_app, result = by_cli(tmp_path, DINING, refused, "bad.geojson")
    web_app, html, flashes = by_web(tmp_path, DINING, refused, "bad.geojson")
    assert result.exit_code == 1
    assert "没有可发布的要素" in html and "End this import: keep the\n      2 refused features in quarantine" in html
    assert state(cli_app, DINING) == state(web_app, DINING)
    version, _, [(mode, published, count, _, features)] = state(web_app, DINING)
    assert (version, mode, published, count) == (1, "refused", None, 2) and [f["id"] for f in features] == ["a", "b"]
    assert flashes[0] == ("未发布：没有可发布的要素，外摆试点未改变 · Not published: no feature was accepted; "
                          "Outdoor-dining pilots is unchanged")
    assert flashes[1].startswith("2 个被拒绝的要素已隔离保存")
    assert flashes[0] in result.stderr and flashes[1] in result.output
    # the clerk sees it on the history page and downloads it, as the command line writes it
    client = login(web_app.test_client(), "ed")
    history = client.get(f"/staff/layers/{DINING}/history").get_data(as_text=True)
    assert "未发布 not published" in history and "bad.geojson" in history
    link = re.search(rf'href="(/staff/layers/{DINING}/quarantine/\d+\.geojson)"', history).group(1)
    assert [f["id"] for f in json.loads(client.get(link).data)["features"]] == ["a", "b"]
    listing = cli_app.test_cli_runner().invoke(args=["layers", "quarantine", DINING, "--list"]).output
    assert "2 refused  not published" in listing and "bad.geojson" in listing


def test_an_empty_file_keeps_nothing_on_both_paths(tmp_path):
    empty = feature_collection([]).encode()
    cli_app, result = by_cli(tmp_path, DINING, empty, "empty.geojson")
    web_app, html, _ = by_web(tmp_path, DINING, empty, "empty.geojson", finish=False)
    assert result.exit_code == 1 and "Not published: no feature was accepted" in result.stderr
    assert "没有可发布的要素" in html and "<form" not in html.split("<main")[1]  # nothing to publish, nothing to keep
    assert state(cli_app, DINING) == state(web_app, DINING) and state(web_app, DINING)[2] == []


def test_strict_publishes_nothing_and_keeps_the_refusals_on_both_paths(tmp_path):
    cli_app, result = by_cli(tmp_path, DINING, MIXED, "mixed.geojson", "--strict")
    web_app, html, flashes = by_web(tmp_path, DINING, MIXED, "mixed.geojson", strict="1")
    assert result.exit_code == 1 and "确认发布" not in html and "strict mode (--strict)" in html
    assert state(cli_app, DINING) == state(web_app, DINING)
    version, ids, [(mode, published, count, _, _)] = state(web_app, DINING)
    assert (version, "od-new" in ids, mode, published, count) == (1, False, "refused", None, 2)
    assert flashes[0].startswith("未发布：严格模式下有 2 个要素被拒绝") and flashes[0] in result.stderr


def test_a_dry_run_and_a_preview_keep_nothing(tmp_path):
    cli_app, result = by_cli(tmp_path, DINING, MIXED, "mixed.geojson", "--dry-run")
    web_app, _, _ = by_web(tmp_path, DINING, MIXED, "mixed.geojson", finish=False)
    assert result.exit_code == 0 and "dry run" in result.output
    assert state(cli_app, DINING) == state(web_app, DINING) == (1, state(web_app, DINING)[1], [])


@pytest.mark.parametrize("option, value, field", [("--crs", "EPSG:abc", "crs"), ("--crs", "mars", "crs"),
                                                  ("--encoding", "latin-1", "encoding"),
                                                  ("--encoding", "big5", "encoding")])
def test_bad_options_are_refused_with_the_same_message(tmp_path, option, value, field):
    good = feature_collection([point("a", 120.38, 36.07)]).encode()
    cli_app, result = by_cli(tmp_path, DINING, good, "a.geojson", option, value)
    with pytest.raises(OptionError) as info:
        Options.check(**{field: value})
    message = str(info.value)
    assert result.exit_code == 2 and message in " ".join(result.output.split())
    assert message.startswith(("坐标系", "编码")) and any(c.isascii() and c.isalpha() for c in message)  # bilingual
    web = fresh_app(tmp_path, "web")
    page = upload(login(web.test_client(), "ed"), DINING, good, filename="a.geojson", **{field: value})
    assert page.status_code == 400 and message in unescape(page.get_data(as_text=True))
    assert state(cli_app, DINING) == state(web, DINING) == (1, state(web, DINING)[1], [])


def test_gbk_and_gb2312_are_read_as_gb18030_on_both_paths(tmp_path):
    assert Options.check(encoding="GBK").encoding == Options.check(encoding="gb2312").encoding == "gb18030"
    rows = "名称,经度,纬度,所在区,状态,业态,数据来源\n台东咖啡外摆,120.3480,36.0870,市北区,试点,咖啡店,实地调查\n"
    cli_app, result = by_cli(tmp_path, DINING, rows.encode("gbk"), "外摆.csv", "--encoding", "gbk")
    web_app, _, _ = by_web(tmp_path, DINING, rows.encode("gbk"), "外摆.csv", encoding="gbk")
    assert result.exit_code == 0 and state(cli_app, DINING) == state(web_app, DINING)
    assert "台东咖啡外摆" in [p["name"] for p in web_app.extensions["store"].load(
        web_app.extensions["catalog"].get(DINING).kind).properties]


def zipped_shapefile(tmp_path, names, encoding="UTF-8", cpg=False) -> bytes:
    import zipfile

    import numpy as np
    import shapely

    folder = tmp_path / f"shp-{encoding}-{cpg}"
    folder.mkdir()
    shp = folder / "sites.shp"
    count = len(names)
    data = [np.array([f"s{i}" for i in range(count)], dtype=object), np.array(names, dtype=object),
            np.array(["市南区"] * count, dtype=object), np.array(["sample"] * count, dtype=object)]
    points = shapely.to_wkb(np.array([shapely.Point(120.38 + i * 0.001, 36.06) for i in range(count)]))
    pyogrio.raw.write(str(shp), points, data, ["id", "name", "district", "source"], driver="ESRI Shapefile",
                      geometry_type="Point", crs="EPSG:4326", encoding=encoding)
    if not cpg:
        (folder / "sites.cpg").unlink(missing_ok=True)
    archive = tmp_path / f"sites-{encoding}-{cpg}.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in folder.iterdir():
            z.write(part, part.name)
    return archive.read_bytes()


def test_a_utf8_shapefile_without_a_cpg_is_read_as_utf8_on_both_paths(tmp_path):
    """GDAL reads a Shapefile that declares no encoding as Latin-1: Chinese names arrived as mojibake (the web's
    default did so; the command line only with --encoding utf-8). Now both read it as UTF-8, and say so."""
    archive = zipped_shapefile(tmp_path, ["奥帆外摆", "栈桥外摆"])
    cli_app, result = by_cli(tmp_path, DINING, archive, "sites.zip")
    web_app, html, _ = by_web(tmp_path, DINING, archive, "sites.zip")
    assert result.exit_code == 0 and state(cli_app, DINING) == state(web_app, DINING)
    notice = "The Shapefile does not declare its encoding (no .cpg): read as UTF-8"
    assert notice in result.output and notice in html
    live = web_app.extensions["store"].load(web_app.extensions["catalog"].get(DINING).kind)
    assert {"奥帆外摆", "栈桥外摆"} <= {p["name"] for p in live.properties}


def test_a_shapefile_that_declares_its_encoding_is_read_in_it(tmp_path):
    from layers.registry import get

    importer = Importer(create_app({"TESTING": True, "BASEMAP": "none"}).extensions["store"])
    path = tmp_path / "gbk.zip"
    path.write_bytes(zipped_shapefile(tmp_path, ["奥帆外摆"], encoding="GBK", cpg=True))
    checked = importer.check(get(DINING), ImportFile(path, "gbk.zip"), Options())
    assert checked.notices == [] and [p["name"] for p in checked.layer.properties] == ["奥帆外摆"]


def test_a_geopackage_ignores_a_chosen_encoding_and_says_so(tmp_path):
    import numpy as np
    import shapely

    gpkg = tmp_path / "a.gpkg"
    data = [np.array(["g1"], dtype=object), np.array(["奥帆外摆"], dtype=object), np.array(["市南区"], dtype=object),
            np.array(["sample"], dtype=object)]
    pyogrio.raw.write(str(gpkg), shapely.to_wkb(np.array([shapely.Point(120.39, 36.06)])), data,
                      ["id", "name", "district", "source"], driver="GPKG", geometry_type="Point", crs="EPSG:4326")
    cli_app, result = by_cli(tmp_path, DINING, gpkg.read_bytes(), "a.gpkg", "--encoding", "gb18030")
    web_app, html, _ = by_web(tmp_path, DINING, gpkg.read_bytes(), "a.gpkg", encoding="gb18030")
    notice = "GeoPackage text is UTF-8 by definition: the chosen encoding gb18030 was not used"
    assert result.exit_code == 0 and notice in result.output and notice in html
    assert state(cli_app, DINING) == state(web_app, DINING) and "g1" in state(web_app, DINING)[1]


def test_swapping_rows_on_the_command_line_is_the_preview_s_fix(tmp_path):
    from .test_clerk import HEADER, ROWS

    content = (HEADER + "".join(r + "\n" for r in ROWS)).encode()
    suggested = by_cli(tmp_path, DINING, content, "外摆.csv", "--dry-run", where="first")[1]
    assert "修正 fix: --swap 3 " in suggested.output  # row 3 of the spreadsheet (the header is row 1)
    cli_app, result = by_cli(tmp_path, DINING, content, "外摆.csv", "--swap", "3")
    web_app = fresh_app(tmp_path, "web")
    client = login(web_app.test_client(), "ed")
    html = upload(client, DINING, content, filename="外摆.csv").get_data(as_text=True)
    form = dict(re.findall(r'name="(\w+)" value="([^"]*)"', html[html.index('name="fix" value="swap"') - 600:]
                           .split("</form>")[0]))
    fixed = client.post(f"/staff/layers/{DINING}/reread", data=form).get_data(as_text=True)
    assert client.post(f"/staff/layers/{DINING}/publish", data=publish_form(fixed)).status_code == 302
    assert result.exit_code == 0 and state(cli_app, DINING)[:2] == state(web_app, DINING)[:2]
    assert "3 accepted" in result.output and "--swap" not in result.output.split("accepted")[1]
    assert by_cli(tmp_path, DINING, content, "x.csv", "--swap", "1", where="header")[1].exit_code == 2  # the header


def test_repair_is_an_option_of_both_paths(tmp_path):
    bowtie = feature_collection([{"type": "Feature", "id": "hq-bow", "properties": {
        "name": "领结", "district": "市南区", "source": "sample"}, "geometry": {"type": "Polygon", "coordinates": [[
            [120.38, 36.06], [120.39, 36.07], [120.39, 36.06], [120.38, 36.07], [120.38, 36.06]]]}}]).encode()
    refused = by_cli(tmp_path, "hq_clusters", bowtie, "bow.geojson", where="first")[1]
    assert refused.exit_code == 1 and "invalid geometry" in refused.output and "修正 fix: --repair" in refused.output
    cli_app, result = by_cli(tmp_path, "hq_clusters", bowtie, "bow.geojson", "--repair")
    web_app, html, flashes = by_web(tmp_path, "hq_clusters", bowtie, "bow.geojson", repair="1")
    assert result.exit_code == 0 and state(cli_app, "hq_clusters") == state(web_app, "hq_clusters")
    assert "hq-bow" in state(web_app, "hq_clusters")[1] and "已自动修复" in html and flashes[0] in result.output
    assert "修正 fix" not in result.output and 'value="repair"' not in html
    # the preview offers the repair where the report asks for it; re-read so, it publishes the same
    offered = fresh_app(tmp_path, "offered")
    client = login(offered.test_client(), "ed")
    page = upload(client, "hq_clusters", bowtie, filename="bow.geojson").get_data(as_text=True)
    form = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page[page.index('name="fix" value="repair"') - 600:]
                           .split("</form>")[0]))
    fixed = client.post("/staff/layers/hq_clusters/reread", data=form).get_data(as_text=True)
    assert "已自动修复" in fixed and 'name="fix" value="repair"' not in fixed
    assert client.post("/staff/layers/hq_clusters/publish", data=publish_form(fixed)).status_code == 302
    assert state(offered, "hq_clusters")[:2] == state(cli_app, "hq_clusters")[:2]
