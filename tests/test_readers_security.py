"""Hostile uploads: a file is opened only by the driver of its declared format, never one its content picks;
nothing in a file makes the server read another file or the network; GeoPackage bombs are refused before
they are read. Each attack is tried through read_file, the staff upload page and the CLI."""

from __future__ import annotations

import io
import logging
import socket
import sqlite3
import threading
import zipfile
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely

from layers import gdalpolicy
from layers.readers import check_crs, read_file
from layers.registry import get

from .test_staff import app, login, upload  # noqa: F401 - the staff app fixture and helpers

SECRET = "SECRET-b7c1e9-DO-NOT-SHOW"
DINING = get("outdoor_dining_pilots")
SUFFIXES = [".csv", ".kml", ".gpkg", ".geojson", ".json", ".zip"]


class Listener:
    """A loopback TCP server that counts the connections it receives (an SSRF would be one)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.05)  # how often the loop looks at self.running: stop() waits up to this long
        self.port, self.hits, self.running = self.sock.getsockname()[1], [], True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.hits.append(conn.recv(4096))
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/csv\r\n\r\nname,status\nSSRF,x\n")
            conn.close()

    def stop(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.csv"
    path.write_text(f"name,status\n{SECRET},{SECRET}\n", "utf-8")
    return path


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.stop()


def vrt(source: str, layer: str = "secret") -> bytes:
    return (f"<OGRVRTDataSource><OGRVRTLayer name=\"x\"><SrcDataSource>{source}</SrcDataSource>"
            f"<SrcLayer>{layer}</SrcLayer></OGRVRTLayer></OGRVRTDataSource>").encode()


def disguise(content: bytes, suffix: str) -> bytes:
    """``content`` as a file named ``*suffix``: as it is, or as the .shp of a zip."""
    if suffix != ".zip":
        return content
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("evil.shp", content)
        archive.writestr("evil.dbf", content)
    return buffer.getvalue()


def test_gdal_keeps_only_our_drivers_and_no_network_file_systems():
    assert gdalpolicy.drivers() == set(gdalpolicy.DRIVERS)
    assert gdalpolicy.filesystems() == ["/vsimem/"]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_vrt_disguised_as_any_format_reads_no_other_file(tmp_path, secret_file, suffix, caplog):
    caplog.set_level(logging.DEBUG)
    path = tmp_path / f"upload{suffix}"
    path.write_bytes(disguise(vrt(str(secret_file)), suffix))
    layer = read_file(path, DINING)
    text = layer.report.text()
    assert not layer.report.ok and len(layer) == 0
    assert SECRET not in text and SECRET not in caplog.text
    assert str(tmp_path) not in text  # no server path in what the sender sees


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_vrt_naming_a_url_makes_no_request(tmp_path, listener, suffix):
    path = tmp_path / f"upload{suffix}"
    path.write_bytes(disguise(vrt(f"/vsicurl/http://127.0.0.1:{listener.port}/x.csv", "x"), suffix))
    layer = read_file(path, DINING)
    assert not layer.report.ok and "SSRF" not in layer.report.text()
    assert listener.hits == []


def test_a_vrt_sent_to_the_staff_page_shows_nothing_of_the_server(app, secret_file, listener, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    client = login(app.test_client(), "admin")
    for suffix in SUFFIXES:
        for content in (vrt(str(secret_file)), vrt(f"/vsicurl/http://127.0.0.1:{listener.port}/x.csv", "x")):
            page = upload(client, "outdoor_dining_pilots", disguise(content, suffix), filename=f"data{suffix}")
            html = page.get_data(as_text=True)
            assert page.status_code == 200 and "拒绝 refused" in html, html[-1500:]
            assert SECRET not in html and "SSRF" not in html and app.instance_path not in html
            assert app.config["UPLOAD_DIR"] not in html
    assert listener.hits == [] and SECRET not in caplog.text


def test_the_cli_check_and_import_refuse_a_vrt(runner, tmp_path, secret_file):
    path = tmp_path / "sites.csv"
    path.write_bytes(vrt(str(secret_file)))
    for args in (["layers", "check", "outdoor_dining_pilots", str(path)],
                 ["layers", "import", "outdoor_dining_pilots", str(path)]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1 and SECRET not in result.output
        assert "holds XML, not CSV text" in result.output


def _gpkg(path: Path, n: int = 1) -> Path:
    pyogrio.raw.write(str(path), shapely.to_wkb(np.array([shapely.Point(120.38, 36.06)] * n)),
                      [np.array([f"p{i}" for i in range(n)], dtype=object),
                       np.array(["测试"] * n, dtype=object), np.array(["市南区"] * n, dtype=object),
                       np.array(["sample"] * n, dtype=object)],
                      ["id", "name", "district", "source"], driver="GPKG", geometry_type="Point", crs="EPSG:4326",
                      layer="sites")
    return path


def _tamper(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def test_a_geopackage_whose_feature_table_is_a_recursive_view_is_refused_unread(tmp_path):
    path = _gpkg(tmp_path / "bomb.gpkg")
    _tamper(path, "DROP TABLE IF EXISTS gpkg_ogr_contents",
            "CREATE VIEW boom AS WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) "
            "SELECT i AS fid, (SELECT geom FROM sites) AS geom FROM r",
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
            "VALUES ('boom', 'features', 'boom', 4326)",
            "INSERT INTO gpkg_geometry_columns VALUES ('boom', 'geom', 'POINT', 4326, 0, 0)")
    report = read_file(path, DINING).report.text()
    assert "views are not accepted" in report and "boom" in report


@pytest.mark.parametrize("statement, expected", [
    ("CREATE TRIGGER evil AFTER INSERT ON sites BEGIN DELETE FROM sites; END", "trigger 'evil'"),
    ("CREATE VIRTUAL TABLE files USING fts5(x)", "virtual table 'files'"),
])
def test_geopackage_triggers_and_virtual_tables_of_our_own_are_refused(tmp_path, statement, expected):
    path = _gpkg(tmp_path / "odd.gpkg")
    _tamper(path, statement)
    assert expected in read_file(path, DINING).report.text()


def test_a_standard_geopackage_with_its_rtree_and_triggers_is_read(tmp_path):
    path = _gpkg(tmp_path / "ok.gpkg", 3)
    kinds = {r[0] for r in sqlite3.connect(path).execute("SELECT type FROM sqlite_master")}
    assert "trigger" in kinds  # GDAL's R-tree index comes with triggers; they are the standard ones
    layer = read_file(path, DINING)
    assert layer.report.ok and len(layer) == 3


def test_rows_are_counted_before_reading(tmp_path, monkeypatch):
    from layers import readers

    monkeypatch.setattr(readers, "MAX_FEATURES", 5)
    assert "holds 6 features" in read_file(_gpkg(tmp_path / "many.gpkg", 6), DINING).report.text()
    csv = tmp_path / "many.csv"
    csv.write_text("name,district,source,lon,lat\n" + "点,市南区,sample,120.38,36.06\n" * 6, "utf-8")
    assert "more than 5 features" in read_file(csv, DINING).report.text()


def test_a_kml_with_an_external_entity_or_a_network_link_is_refused(tmp_path, secret_file, listener):
    xxe = tmp_path / "xxe.kml"
    xxe.write_text(f'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY s SYSTEM "file://{secret_file}">]>'
                   '<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&s;</name>'
                   '<Point><coordinates>120.38,36.06</coordinates></Point></Placemark></kml>', "utf-8")
    text = read_file(xxe, DINING).report.text()
    assert "DTDs and entities are not accepted" in text and SECRET not in text
    link = tmp_path / "link.kml"
    link.write_text('<kml xmlns="http://www.opengis.net/kml/2.2"><NetworkLink><Link>'
                    f'<href>http://127.0.0.1:{listener.port}/x.kml</href></Link></NetworkLink></kml>', "utf-8")
    assert "NetworkLink" in read_file(link, DINING).report.text() and listener.hits == []
    other = tmp_path / "other.kml"
    other.write_text("<gpx><wpt lat='36.06' lon='120.38'/></gpx>", "utf-8")
    assert "root is not <kml>" in read_file(other, DINING).report.text()


def test_a_shapefile_prj_must_be_wkt(tmp_path):
    path = _shapefile_zip(tmp_path, "+proj=longlat +init=/etc/passwd")
    assert "not a WKT coordinate system" in read_file(path, DINING).report.text()


@pytest.mark.parametrize("value", ["EPSG:abc", "EPSG:4326 +init=x", "+proj=longlat", "epsg:", "EPSG:43264326"])
def test_a_crs_is_wgs84_gcj02_bd09_or_epsg_digits(value, tmp_path):
    with pytest.raises(ValueError, match="Unknown coordinate system"):
        check_crs(value)
    path = tmp_path / "a.csv"
    path.write_text("name,lon,lat\nx,120.38,36.06\n", "utf-8")
    assert "Unknown coordinate system" in read_file(path, DINING, crs=value).report.text()
    assert check_crs("epsg:4549") == "EPSG:4549" and check_crs("gcj02") == "gcj02"


def test_gdal_errors_reach_the_sender_without_server_paths(app, tmp_path):  # noqa: F811
    client = login(app.test_client(), "admin")
    broken = b"\x00\x01" * 10
    page = upload(client, "outdoor_dining_pilots", disguise(b"not a shapefile" * 10, ".zip"), filename="x.zip")
    html = page.get_data(as_text=True)
    assert "拒绝 refused" in html and app.config["UPLOAD_DIR"] not in html and "/tmp/" not in html
    page = upload(client, "outdoor_dining_pilots", broken, filename="x.csv")
    assert app.config["UPLOAD_DIR"] not in page.get_data(as_text=True)


def test_a_geopackage_with_several_feature_tables_is_never_guessed(tmp_path):
    path = _gpkg(tmp_path / "two.gpkg", 3)
    pyogrio.raw.write(str(path), shapely.to_wkb(np.array([shapely.Point(120.38, 36.06)])),
                      [np.array(["d1"], dtype=object)], ["id"], driver="GPKG", geometry_type="Point",
                      crs="EPSG:4326", layer="a_draft", append=True)
    text = read_file(path, DINING).report.text()
    assert "holds 2 feature tables (a_draft, sites)" in text and "outdoor_dining_pilots" in text
    named = _gpkg(tmp_path / "named.gpkg", 2)
    pyogrio.raw.write(str(named), shapely.to_wkb(np.array([shapely.Point(120.38, 36.06)] * 4)),
                      [np.array([f"q{i}" for i in range(4)], dtype=object), np.array(["名"] * 4, dtype=object),
                       np.array(["市南区"] * 4, dtype=object), np.array(["sample"] * 4, dtype=object)],
                      ["id", "name", "district", "source"], driver="GPKG", geometry_type="Point", crs="EPSG:4326",
                      layer="outdoor_dining_pilots", append=True)
    layer = read_file(named, DINING)
    assert layer.report.ok and layer.ids == ["q0", "q1", "q2", "q3"]  # the table named like the layer


def test_a_zip_from_macos_finder_is_read(tmp_path):
    from layers.catalog import Catalog
    from layers.export import export

    from .conftest import DATA

    live = Catalog.from_directory(DATA).get("outdoor_dining_pilots")
    data, _, _ = export([(live.kind, live.layer, np.arange(live.count))], "shp", "x")
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buffer, "w") as dst:
        for member in src.infolist():
            dst.writestr(f"folder/{member.filename}", src.read(member))
            dst.writestr(f"__MACOSX/folder/._{member.filename}", b"\0\5\26\7 resource fork")
    path = tmp_path / "finder.zip"
    path.write_bytes(buffer.getvalue())
    layer = read_file(path, DINING)
    assert layer.report.ok and len(layer) == live.count


def test_a_gbk_csv_read_as_utf8_says_which_encoding_to_choose(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("name,district,source,lon,lat\n咖啡外摆,市南区,survey,120.38,36.06\n".encode("gb18030"))
    text = read_file(path, DINING).report.text()
    assert "choose that encoding" in text and "gb18030" in text
    assert read_file(path, DINING, encoding="gb18030").report.ok


@pytest.mark.parametrize("statement", [
    "CREATE VIRTUAL TABLE sneaky USING fts5(a) /* USING rtree( */",
    'CREATE VIRTUAL TABLE "x USING rtree(" USING fts5(a)',
])
def test_only_the_rtree_index_may_be_a_virtual_table(tmp_path, statement):
    path = _gpkg(tmp_path / "v.gpkg")
    _tamper(path, statement)
    assert "virtual table" in read_file(path, DINING).report.text()


def test_a_file_reading_virtual_table_smuggled_into_the_schema_is_refused(tmp_path, secret_file):
    """As the attack was built: gpkg_data_columns (which GDAL queries on open) rewritten in sqlite_master as a
    SpatiaLite VirtualText table over a server file, dressed up with an rtree comment."""
    path = _gpkg(tmp_path / "vt.gpkg")
    sql = (f"CREATE VIRTUAL TABLE gpkg_data_columns USING VirtualText('{secret_file}','UTF-8',0,POINT,NONE,',') "
           "/* USING rtree( */")
    _tamper(path, "DROP TABLE IF EXISTS gpkg_data_columns", "PRAGMA writable_schema=ON",
            f"INSERT INTO sqlite_master VALUES ('table', 'gpkg_data_columns', 'gpkg_data_columns', 0, \"{sql}\")")
    text = read_file(path, DINING).report.text()
    assert "virtual table 'gpkg_data_columns'" in text and SECRET not in text


def test_generated_columns_are_refused_before_anything_is_computed(tmp_path):
    path = _gpkg(tmp_path / "gen.gpkg", 3)
    _tamper(path, "ALTER TABLE sites ADD COLUMN note TEXT GENERATED ALWAYS AS (printf('%.*c', 25000000, 'x')) VIRTUAL")
    assert "generated (computed) columns" in read_file(path, DINING).report.text()


def _shapefile_zip(tmp_path, prj: str) -> Path:
    from layers.catalog import Catalog
    from layers.export import export

    from .conftest import DATA

    live = Catalog.from_directory(DATA).get("outdoor_dining_pilots")
    data, _, _ = export([(live.kind, live.layer, np.arange(live.count))], "shp", "x")
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buffer, "w") as dst:
        for member in src.infolist():
            dst.writestr(member, prj.encode() if member.filename.endswith(".prj") else src.read(member))
    path = tmp_path / "shp.zip"
    path.write_bytes(buffer.getvalue())
    return path


GEOG = ('GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],'
        'UNIT["degree",0.0174532925199433]')


@pytest.mark.parametrize("extension", ['EXTENSION["PROJ4","+proj=longlat +init=/etc/passwd:x"]',
                                       'EXTENSION["PROJ4_GRIDS","/etc/passwd"]',
                                       'EXTENSION["PROJ4","+proj=longlat +nadgrids=/etc/passwd"]'])
def test_a_crs_that_would_make_proj_open_files_is_refused_not_a_500(tmp_path, extension, app):  # noqa: F811
    path = _shapefile_zip(tmp_path, f"{GEOG},{extension}]")
    assert "carries PROJ extensions" in read_file(path, DINING).report.text()
    client = login(app.test_client(), "admin")
    page = upload(client, "outdoor_dining_pilots", path.read_bytes(), filename="x.zip")
    assert page.status_code == 200 and "carries PROJ extensions" in page.get_data(as_text=True)
    gpkg = _gpkg(tmp_path / "srs.gpkg")
    _tamper(gpkg, f"UPDATE gpkg_spatial_ref_sys SET definition = '{GEOG},{extension}]' WHERE srs_id = 4326")
    assert "carries PROJ extensions" in read_file(gpkg, DINING).report.text()


def test_old_gdal_web_mercator_with_the_null_grid_is_still_read(tmp_path):
    import pyproj

    prj = pyproj.CRS.from_epsg(3857).to_wkt("WKT1_GDAL")
    prj = prj[:-1] + ',EXTENSION["PROJ4","+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 ' \
                     '+units=m +nadgrids=@null +wktext +no_defs"]]'
    assert check_crs_ok(prj)


def check_crs_ok(text: str) -> bool:
    from layers.readers import Refused, check_crs_text

    try:
        check_crs_text(text)
    except Refused:
        return False
    return True
