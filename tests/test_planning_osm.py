"""Protected places from an OpenStreetMap extract: GDAL's OSM driver in a child process, one mapping table."""

import json

import pytest

from layers import gdalpolicy
from layers.load import read_layer
from layers.planning import osm
from layers.planning.kinds import SENSITIVE_SITES
from layers.readers import read_file
from layers.registry import REGISTRY

from .test_cli_import import flask_cli  # noqa: F401  (a fixture)

LAT, LON = 36.06, 120.38


def node(nid, dlon, dlat, **tags):
    inner = "".join(f'<tag k="{k.replace("_", ":", 1) if k.startswith("name_") else k}" v="{v}"/>'
                    for k, v in tags.items())
    return f'<node id="{nid}" version="1" lat="{LAT + dlat:.6f}" lon="{LON + dlon:.6f}">{inner}</node>'


def closed_way(wid, first_node, dlon, dlat, size, **tags):
    """Four nodes and a closed way around them (a square of ``size`` degrees)."""
    corners = [(0, 0), (size, 0), (size, size), (0, size)]
    nodes = [node(first_node + i, dlon + x, dlat + y) for i, (x, y) in enumerate(corners)]
    refs = "".join(f'<nd ref="{first_node + i}"/>' for i in range(4)) + f'<nd ref="{first_node}"/>'
    inner = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
    return nodes, f'<way id="{wid}" version="1">{refs}{inner}</way>'


def write_extract(path):
    nodes = [node(1, 0.000, 0.000, amenity="school", name="青岛第九中学"),
             node(2, 0.002, 0.000, amenity="kindergarten", name_zh="海晶幼儿园", name="Haijing Kindergarten"),
             node(3, 0.004, 0.000, amenity="clinic", name="社区卫生服务站"),
             node(4, 0.006, 0.000, amenity="nursing_home", name="颐和养老院"),
             node(5, 0.008, 0.000, amenity="social_facility", social_facility="nursing_home"),
             node(6, 0.010, 0.000, shop="bakery", name="面包房")]
    ways = []
    for wid, first, dlon, tags in [(100, 1000, 0.000, {"landuse": "residential", "name": "海晶花园"}),
                                   (101, 1010, 0.003, {"building": "apartments", "name": "海景公寓"}),
                                   (102, 1020, 0.006, {"amenity": "hospital", "building": "yes", "name": "市立医院"}),
                                   (103, 1030, 0.009, {"building": "retail", "name": "商场"})]:
        more, way = closed_way(wid, first, dlon, 0.002, 0.001, **tags)
        nodes += more
        ways.append(way)
    # a residential *street* is not a residential area
    nodes += [node(2000, 0.0, 0.004), node(2001, 0.002, 0.004)]
    ways.append('<way id="200" version="1"><nd ref="2000"/><nd ref="2001"/>'
                '<tag k="highway" v="residential"/><tag k="name" v="海口路"/></way>')
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">\n'
                    + "\n".join(nodes + ways) + "\n</osm>\n", "utf-8")
    return path


@pytest.mark.parametrize("tags, expected", [
    ({"landuse": "residential"}, "residential"), ({"building": "apartments"}, "residential"),
    ({"building": "residential"}, "residential"), ({"amenity": "school"}, "school"),
    ({"amenity": "kindergarten"}, "kindergarten"), ({"amenity": "hospital"}, "hospital"),
    ({"amenity": "clinic"}, "hospital"), ({"amenity": "nursing_home"}, "elderly_care"),
    ({"amenity": "school", "building": "residential"}, "school"), ({"amenity": "school;kindergarten"}, "kindergarten"),
    ({"highway": "residential"}, None), ({"building": "yes"}, None),
])
def test_the_mapping_table(tags, expected):
    found = osm.category(tags)
    assert (found[0] if found else None) == expected


def test_other_tags_hstore_is_parsed():
    assert osm.parse_other_tags('"amenity"=>"school","name:zh"=>"九中","note"=>"say \\"hi\\""') == \
        {"amenity": "school", "name:zh": "九中", "note": 'say "hi"'}


def test_an_extract_is_read_by_the_osm_driver_in_a_child_process(tmp_path):
    collection = osm.read_osm(write_extract(tmp_path / "qingdao.osm"))
    found = {f["id"]: (f["properties"]["name"], f["properties"]["category"], f["geometry"]["type"])
             for f in collection["features"]}
    assert found == {
        "osm:node/1": ("青岛第九中学", "school", "Point"),
        "osm:node/2": ("海晶幼儿园", "kindergarten", "Point"),
        "osm:node/3": ("社区卫生服务站", "hospital", "Point"),
        "osm:node/4": ("颐和养老院", "elderly_care", "Point"),
        "osm:node/5": ("未命名养老机构", "elderly_care", "Point"),
        "osm:way/100": ("海晶花园", "residential", "MultiPolygon"),
        "osm:way/101": ("海景公寓", "residential", "MultiPolygon"),
        "osm:way/102": ("市立医院", "hospital", "MultiPolygon"),
    }
    assert {f["properties"]["source"] for f in collection["features"]} == {"osm"}
    # the server process's GDAL did not gain the OSM driver
    assert "OSM" not in gdalpolicy.DRIVERS
    # and the features pass the sensitive-site checks of the normal import path
    path = tmp_path / "sensitive_sites.geojson"
    path.write_text(json.dumps(collection, ensure_ascii=False), "utf-8")
    layer = read_layer(path, SENSITIVE_SITES)
    assert layer.report.ok and len(layer) == 8


def test_a_file_that_is_not_an_extract_is_refused_clearly(tmp_path):
    with pytest.raises(ValueError, match="expected an OpenStreetMap extract"):
        osm.read_osm(_touch(tmp_path / "x.geojson"))
    broken = tmp_path / "broken.osm"
    broken.write_text("<osm><node id=", "utf-8")
    with pytest.raises(ValueError, match="·"):
        osm.read_osm(broken)


def _touch(path):
    path.write_text("{}", "utf-8")
    return path


def test_an_extract_goes_through_the_normal_import_and_only_into_protected_places(tmp_path):
    path = write_extract(tmp_path / "qingdao.osm")
    layer = read_file(path, REGISTRY["sensitive_sites"])
    assert not layer.report.errors and len(layer) == 8
    assert {p["source"] for p in layer.properties} == {"osm"}
    other = read_file(path, REGISTRY["complaints"])
    assert not len(other) and "sensitive_sites" in str(other.report.errors[0])
    shifted = read_file(path, REGISTRY["sensitive_sites"], crs="gcj02")
    assert not len(shifted) and "WGS-84" in str(shifted.report.errors[0])


def test_new_objects_with_negative_ids_as_josm_saves_them_are_read(tmp_path):
    path = tmp_path / "josm.osm"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="JOSM">\n'
                    + node(-22, 0, 0, amenity="school", name="新学校") + "\n</osm>\n", "utf-8")
    features = osm.read_osm(path)["features"]
    assert [(f["id"], f["properties"]["name"]) for f in features] == [("osm:node/-22", "新学校")]


def test_the_import_command_takes_an_extract(flask_cli, tmp_path):
    done = flask_cli("layers", "import", "sensitive_sites", str(write_extract(tmp_path / "qingdao.osm")), "--yes")
    assert "qingdao.osm: 8 accepted" in done.stdout and "will add 8" in done.stdout
    assert "qingdao.osm (append)" in flask_cli("layers", "history", "sensitive_sites").stdout
