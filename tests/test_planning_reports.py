"""The desk's tables and printable reports (layers.planning.tables / .reports): rows, filters and sorting; the
static map drawn without tiles; the PDF (text extracted and page 1 rendered with pypdfium2); and the PDF
maker fetching nothing but data: URIs, whatever names a report carries."""

import datetime as dt
import http.server
import io
import threading

import numpy as np
import pypdfium2 as pdfium
import pytest
from flask import render_template
from PIL import Image

from layers.load import read_layer
from layers.planning import reports, tables
from layers.planning.results import GRAVITY, STATUSES
from layers.registry import REGISTRY
from webmap import create_app

from .conftest import feature_collection, password_hash, point

PASSWORD = "correct horse battery"
AS_OF, WEEK = dt.date(2026, 11, 21), dt.date(2026, 9, 9)
EVIL = '<img src="http://127.0.0.1:9/evil.png">'


@pytest.fixture(scope="module")
def app():
    app = create_app({"TESTING": True, "BASEMAP": "none", "CATALOG_REFRESH_SECONDS": 0})
    store = app.extensions["store"]
    store.create_user("ed", password_hash(PASSWORD), "editor", [], actor="test")
    hostile = point("x-evil", 120.3805, 36.0705, name=EVIL, district="市北区", capacity=8, status="pilot",
                    opening_hours="Mo-Su 10:00-20:00", clear_walkway_m=2.0, operator="<script>alert(1)</script>")
    layer = read_layer(feature_collection([hostile]).encode(), REGISTRY["outdoor_dining_pilots"], source="x.geojson")
    assert not layer.report.errors, layer.report.errors
    store.publish(layer, author="test", mode="append")
    app.test_client().get("/api/layers")  # the catalog takes the new version at a request
    return app


@pytest.fixture(scope="module")
def desk(app):
    with app.app_context():
        from webmap.db import get_desk

        return get_desk()


@pytest.fixture(scope="module")
def report(desk):
    return tables.check_all(desk, as_of=AS_OF, week=WEEK)


def test_the_rows_are_the_runs_sites_with_their_permit_facts(report, desk):
    assert [r.result for r in report.sites] == report.run.results
    props = dict(zip(desk.layer("outdoor_dining_pilots").ids, desk.layer("outdoor_dining_pilots").properties))
    for row in report.sites:
        assert (row.seats, row.hours, row.walkway) == (props[row.id].get("capacity"), props[row.id].get("opening_hours"),
                                                       props[row.id].get("clear_walkway_m"))
    assert report.data == {"outdoor_dining_pilots": 2, "sensitive_sites": 1, "complaints": 1, "night_economy_zones": 1}
    assert [z.id for z in report.zones] == desk.layer("night_economy_zones").ids
    about = dict(report.about())
    assert about["规则集摘要 Ruleset digest"] == report.run.ruleset.digest and about["规则 R1 fail"].startswith("居民小区")


def test_select_and_sort(report):
    fails = tables.select(report.sites, status="fail")
    assert fails and all(r.status == "fail" for r in fails)
    assert tables.select(report.sites, district="市北区", rule="R4", rule_status="fail") == \
        [r for r in report.sites if r.district == "市北区" and r.result.verdict("R4").status == "fail"]
    assert tables.select(report.sites, district="nowhere") == []
    by_status = tables.sort(report.sites, "status", descending=True)
    assert [GRAVITY.index(r.status) for r in by_status] == sorted((GRAVITY.index(r.status) for r in report.sites),
                                                                   reverse=True)
    seats = [r.seats for r in tables.sort(report.sites, "seats")]
    assert seats == sorted(seats)


def test_the_site_map_is_a_drawn_png_of_the_expected_size(report, desk):
    row = next(r for r in report.sites if r.id == "od-taidong-residential")
    png = reports.site_map(row, report.geometries[row.id], report, desk.layer("sensitive_sites"),
                           desk.layer("districts"))
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == reports.MAP_SIZE
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    assert len(np.unique(pixels.astype(int) @ [65536, 256, 1])) > 50  # not blank: lines, fills, labels
    assert (np.abs(pixels.astype(int) - [0xD0, 0x00, 0x00]).sum(axis=1) < 30).sum() > 10  # the failing site, red
    assert (np.abs(pixels.astype(int) - [238, 211, 143]).sum(axis=1) < 12).sum() > 5000  # a residential compound (75 % fill)
    district = reports.district_map(report.sites, report, desk.layer("districts"), None)
    assert Image.open(io.BytesIO(district)).size == reports.MAP_SIZE


def test_the_site_maps_labels_do_not_overprint_each_other(report, desk):
    """The site's name and the numbered places (威海路居民小区 at 6 m) are drawn apart, the distances are in the
    sheet's table; the 6 m line is drawn as a solid line with an arrowed number."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    row = next(r for r in report.sites if r.id == "od-taidong-residential")
    matplotlib = reports._matplotlib()
    with reports._DRAW, matplotlib.rc_context({"font.family": reports.FONT}):
        fig = reports.site_figure(row, report.geometries[row.id], report, desk.layer("sensitive_sites"),
                                  desk.layer("districts"))
        renderer = FigureCanvasAgg(fig).get_renderer()
        fig.draw(renderer)
        texts = {t.get_text(): t for t in fig.axes[0].texts}
        labels = [texts[row.name], texts["1"], texts["2"]]
        boxes = [t.get_window_extent(renderer) for t in labels]
        boxes += [t.get_bbox_patch().get_window_extent(renderer) for t in labels[1:]]
    assert not any(name in t for t in texts for name in ("威海路居民小区", " m 6", "6.0 m"))  # no on-map distances
    site_box = boxes[0]
    assert not any(site_box.overlaps(b) for b in boxes[1:]), boxes
    assert any(a.arrow_patch is not None for a in labels[1:] if hasattr(a, "arrow_patch"))


def test_a_district_with_no_sites_has_an_empty_summary_and_the_report_links_its_pdf(app):
    client = _login(app)
    empty = client.get("/staff/planning/report.html?district=崂山区")
    page = empty.get_data(as_text=True)
    assert empty.status_code == 200 and 'id="no-sites"' in page and "崂山区目前没有外摆点" in page
    assert "外摆点 Sites (0)" in page
    assert client.get("/staff/planning/report.pdf?district=崂山区").status_code == 200
    missing = client.get("/staff/planning/report.html?district=火星区")
    assert missing.status_code == 404 and "没有此区市" in missing.get_data(as_text=True)
    page = client.get("/staff/planning/report.html?district=市北区").get_data(as_text=True)
    assert 'href="/staff/planning/report.pdf?district=%E5%B8%82%E5%8C%97%E5%8C%BA"' in page and "下载 PDF · PDF" in page
    assert "data-print" in page and "js/planning-print.js" in page and '<link rel="icon" href="data:,">' in page
    assert page.index("<h1>") < page.index('id="stamp"')  # the title first, then the ruleset line
    assert "/staff/planning/sites/od-taidong-residential/report.html" in page  # links in the HTML
    pdf = pdfium.PdfDocument(client.get("/staff/planning/report.pdf?district=市北区").data)
    pages = [pdf[i] for i in range(len(pdf))]
    assert [pdfium.raw.FPDFPage_GetAnnotCount(p.raw) for p in pages] == [0] * len(pages)  # no link annotations


def test_the_check_sheet_puts_the_title_first_and_ends_with_an_office_block(app):
    client = _login(app)
    page = client.get("/staff/planning/sites/od-taidong-residential/report.html").get_data(as_text=True)
    assert page.index("<h1>") < page.index('id="stamp"') and "下载 PDF · PDF" in page
    office = page[page.index('id="office"'):]
    assert all(word in office for word in ("审核意见", "经办人", "日期")) and page.index('id="office"') > page.index('id="about"') - 10**6
    pdf = pdfium.PdfDocument(client.get("/staff/planning/sites/od-taidong-residential/report.pdf").data)
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert "审核意见" in text and "经办人" in text and text.index("外摆核查单") < text.index("Ruleset v")


def _login(app):
    import re

    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    assert client.post("/staff/login", data={"name": "ed", "password": PASSWORD, "csrf_token": csrf}).status_code == 302
    return client


def test_a_site_report_as_pdf_names_the_site_the_verdicts_and_the_ruleset(app, report):
    client = _login(app)
    response = client.get(f"/staff/planning/sites/od-taidong-residential/report.pdf?as_of={AS_OF}&week={WEEK}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "check-od-taidong-residential-20261121.pdf" in response.headers["Content-Disposition"]
    pdf = pdfium.PdfDocument(response.data)
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    flat = text.replace("\r", "").replace("\n", "")
    row = next(r for r in report.sites if r.id == "od-taidong-residential")
    assert row.name in flat and "不通过 fail" in text.replace("\r\n", " ")
    assert f"Ruleset v{report.run.ruleset.version}" in flat and report.run.ruleset.digest in flat
    assert "2026-09-07/2026-09-13" in flat and "2026-11-21" in flat and "威海路居民小区" in flat
    assert "外摆 22:00 收摊" in flat  # R1's suggested condition
    images = [o for i in range(len(pdf)) for o in pdf[i].get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE])]
    assert len(images) == 1  # the map, embedded as a data: URI
    bitmap = pdf[0].render(scale=1).to_pil().convert("L")
    assert abs(bitmap.size[0] - 595) <= 1 and abs(bitmap.size[1] - 842) <= 1  # A4 at 72 dpi
    grey = np.asarray(bitmap)
    assert grey.min() < 60 and 0.02 < (grey < 200).mean() < 0.6  # text and a map on white, not blank
    html = client.get(f"/staff/planning/sites/od-taidong-residential/report.html?as_of={AS_OF}&week={WEEK}")
    assert html.status_code == 200 and row.name in html.get_data(as_text=True)
    assert 'src="data:image/png;base64,' in html.get_data(as_text=True)


def test_unknown_sites_and_districts_are_bilingual_404s(app):
    client = _login(app)
    missing = client.get("/staff/planning/sites/nope/report.pdf")
    assert missing.status_code == 404 and "没有此外摆点" in missing.get_data(as_text=True)
    assert "There is no outdoor-dining site" in missing.get_data(as_text=True)
    assert client.get("/staff/planning/report.html?district=火星区").status_code == 404
    summary = client.get("/staff/planning/report.html?district=市北区").get_data(as_text=True)
    assert "台东居民楼下烧烤外摆" in summary and "劈柴院巷口咖啡外摆" not in summary


class _Counting(http.server.BaseHTTPRequestHandler):
    hits: list = []

    def do_GET(self):  # noqa: N802
        self.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def bait():
    """A loopback HTTP server that counts every request a PDF maker might make."""
    server = http.server.HTTPServer(("127.0.0.1", 0), _Counting)
    _Counting.hits = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def test_a_hostile_name_is_text_and_the_pdf_fetches_nothing(app, report, desk, bait):
    name = f'<img src="{bait}/name.png"><link rel="stylesheet" href="{bait}/x.css">'
    row = next(r for r in report.sites if r.id == "x-evil")
    row.result = row.result._replace(name=name)
    try:
        sheet = reports.site_report(report, "x-evil", desk.layer("sensitive_sites"), desk.layer("districts"))
        with app.test_request_context():
            html = render_template("planning/desk_report_site.html", sheet=sheet, report=report,
                                   map_uri=reports.data_uri(sheet.map_png), statuses=STATUSES,
                                   categories=reports.CATEGORIES)
    finally:
        row.result = row.result._replace(name=EVIL)
    assert f'<img src="{bait}' not in html and "&lt;img src=" in html
    fetcher = reports.data_only_fetcher()
    pdf = pdfium.PdfDocument(reports.pdf(html, fetcher))
    text = pdf[0].get_textpage().get_text_range().replace("\r", "").replace("\n", "")
    assert f'<img src="{bait}/name.png">' in text  # shown as text
    assert fetcher.refused == [] and _Counting.hits == []
    # and were a URL to reach the PDF maker (a template mistake), it is refused, not fetched
    fetcher = reports.data_only_fetcher()
    pdf_bytes = reports.pdf(f'<p>x</p><img src="{bait}/a.png"><img src="file:///etc/hostname">'
                            f'<link rel="stylesheet" href="{bait}/b.css"><img src="{reports.data_uri(sheet.map_png)}">',
                            fetcher)
    assert pdf_bytes.startswith(b"%PDF")
    assert sorted(fetcher.refused) == sorted([f"{bait}/a.png", "file:///etc/hostname", f"{bait}/b.css"])
    assert _Counting.hits == []
