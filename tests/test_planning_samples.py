"""The sample planning data in data/planning/: what it is built from, and what the default rules say of it."""

import datetime as dt
import json

import shapely

from layers import registry
from layers.load import read_layer
from layers.planning import engine, samples
from layers.planning.kinds import COMPLAINTS, SENSITIVE_SITES, outdoor_dining_kind

from .conftest import DATA

PLANNING = DATA / "planning"


def test_the_files_are_what_the_builder_makes():
    built = json.loads(json.dumps(samples.build(), ensure_ascii=False))  # tuples as JSON lists
    assert json.loads((PLANNING / "sensitive_sites.geojson").read_text("utf-8")) == built["sensitive_sites"]
    assert json.loads((PLANNING / "complaints.geojson").read_text("utf-8")) == built["complaints"]
    assert json.loads((PLANNING / "outdoor_dining_permits.json").read_text("utf-8")) == built["outdoor_dining_permits"]


def test_the_app_loads_copies_and_the_pilots_carry_the_permit_values():
    """data/sensitive_sites.geojson and data/complaints.geojson (the layers the app loads) are the samples of
    data/planning/; the pilot layer carries the sample permit values."""
    for name in samples.LOADED:
        assert (DATA / f"{name}.geojson").read_bytes() == (PLANNING / f"{name}.geojson").read_bytes(), name
    permits = json.loads((PLANNING / "outdoor_dining_permits.json").read_text("utf-8"))["by_pilot"]
    pilots = json.loads((DATA / "outdoor_dining_pilots.geojson").read_text("utf-8"))["features"]
    assert {f["id"]: {k: f["properties"][k] for k in ("season", "clear_walkway_m", "operator")} for f in pilots} \
        == permits
    assert {f["properties"]["source"] for f in pilots} == {"sample"}


def layers():
    places = read_layer(PLANNING / "sensitive_sites.geojson", SENSITIVE_SITES)
    complaints = read_layer(PLANNING / "complaints.geojson", COMPLAINTS)
    pilots = read_layer(DATA / "outdoor_dining_pilots.geojson", outdoor_dining_kind())
    permits = json.loads((PLANNING / "outdoor_dining_permits.json").read_text("utf-8"))["by_pilot"]
    for fid, props in zip(pilots.ids, pilots.properties):
        props.update(permits[fid])
    return places, complaints, pilots


def test_samples_pass_the_checks_and_say_they_are_samples():
    places, complaints, pilots = layers()
    assert places.report.ok and not places.report.problems and complaints.report.ok and not complaints.report.problems
    assert {p["source"] for p in places.properties + complaints.properties} == {"sample"}
    assert set(pilots.ids) == set(samples.AROUND)


def test_every_pilot_has_protected_places_around_some_near_some_far():
    places, _, pilots = layers()
    prepared = engine.prepare_places(places)
    sites = engine.to_metric(pilots.geometries)
    nearest = [float(shapely.distance(s, prepared.metric).min()) for s in sites]
    assert all(d < 400 for d in nearest)
    assert sum(d <= 30 for d in nearest) >= 4 and sum(d > 60 for d in nearest) >= 3


def test_the_24_hour_zone_has_homes_inside_and_beside_it():
    places, _, _ = layers()
    zones = read_layer(DATA / "night_economy_zones.geojson", registry.get("night_economy_zones"))
    zone = next(g for g, p in zip(zones.geometries, zones.properties) if p.get("is_24h_pilot"))
    homes = [g for g, p in zip(places.geometries, places.properties) if p["category"] == "residential"]
    assert any(shapely.intersects(zone, g) for g in homes)


def test_the_default_rules_on_the_samples():
    places, complaints, pilots = layers()
    run = engine.check_all(pilots, places, complaints, week=dt.date(2026, 7, 15), as_of=dt.date(2026, 11, 30))
    status = {r.id: r.status for r in run.results}
    assert status["od-taidong-residential"] == "fail" and status["od-dengzhou-beer"] == "fail"
    assert status["od-zhongshan-cafe"] == "warn" and status["od-sailing-cafe"] == "warn"
    assert status["od-may-fourth"] == "pass"  # 海晶花园 18.2 m away, but the seating closes at 22:00
    barbecue = next(r for r in run.results if r.id == "od-taidong-residential")
    assert barbecue.verdict("R5").status == "warn" and barbecue.verdict("R4").status == "fail"
    assert run.counts() == {"pass": 6, "warn": 3, "fail": 4, "cannot_assess": 0}
