"""The planning desk as one service: the live ruleset (a versioned document in the store) and the live
layers a check reads, at one moment — what the staff pages, the reports and the CLI all call, so a check
made on a page, printed in a report and run from the CLI is the same check.

Framework-free: it is given a store and a function from layer id to the live layer (the app passes its
catalog's; the CLI and scripts the same), never a request.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Any

from ..store import Conflict, Store
from . import engine, zones
from .results import CheckRun, SiteResult
from .rules import Ruleset, RulesetError, default, parse

log = logging.getLogger(__name__)

#: The store document that holds the ruleset.
RULESET = "planning.ruleset"
#: The layers a check reads, and what each is for.
SITES, PLACES, COMPLAINTS = "outdoor_dining_pilots", "sensitive_sites", "complaints"
#: The zone layers "check all" measures (residents inside, residential share, complaints inside).
ZONE_LAYERS = ("night_economy_zones",)


# --- the ruleset, versioned in the store ----------------------------------------------------------------

def load_ruleset(store: Store, number: int | None = None) -> Ruleset:
    """The live ruleset (or version ``number``); the shipped default (version 0) until one is saved.
    KeyError when ``number`` names no saved version."""
    document = store.documents.get(RULESET, number)
    if document is None:
        if number not in (None, 0):
            raise KeyError(number)
        return default()
    ruleset = parse(json.loads(document.body))
    return Ruleset(ruleset.rules, document.number)


def save_ruleset(store: Store, data: Any, *, author: str, message: str = "",
                 expected_version: int | None = None) -> Ruleset:
    """Check ``data`` (a ruleset's JSON text, or its parsed form) and save it as the next version.
    RulesetError naming every wrong field, or Conflict when ``expected_version`` is not the live one;
    either way the live ruleset is untouched."""
    ruleset = Ruleset.from_json(data) if isinstance(data, (str, bytes)) else Ruleset.from_dict(data)
    before = load_ruleset(store)
    if ruleset.digest == before.digest:
        raise RulesetError([("rules", f"与当前第 {before.version} 版相同，未保存 · the same as the live version "
                                      f"{before.version}: nothing to save")])
    number = store.documents.save(RULESET, Ruleset(ruleset.rules, 0).to_json(), author=author, message=message,
                                  expected_version=expected_version,
                                  detail={"digest": ruleset.digest, "changed": changed_rules(before, ruleset)})
    log.info("ruleset version %d saved by %s", number, author)
    return Ruleset(ruleset.rules, number)


def restore_ruleset(store: Store, number: int, *, author: str, expected_version: int | None = None) -> Ruleset:
    """Make version ``number`` (0: the shipped default) live again, as a new version that says where it
    came from. KeyError when there is no such version; Conflict as :func:`save_ruleset`."""
    old = load_ruleset(store, number)
    before = load_ruleset(store)
    new = store.documents.save(RULESET, Ruleset(old.rules, 0).to_json(), author=author,
                               message=f"恢复第 {number} 版 · restored version {number}",
                               expected_version=expected_version, restored_from=number,
                               detail={"digest": old.digest, "changed": changed_rules(before, old)})
    return Ruleset(old.rules, new)


def changed_rules(before: Ruleset, after: Ruleset) -> dict[str, list[str]]:
    """Which rule ids were added, removed or changed from ``before`` to ``after`` (for the audit and the
    confirmation a page shows before saving)."""
    old = {r.id: r.to_dict() for r in before}
    new = {r.id: r.to_dict() for r in after}
    return {"added": [i for i in new if i not in old], "removed": [i for i in old if i not in new],
            "changed": [i for i in new if i in old and new[i] != old[i]]}


# --- the checks, on the live layers --------------------------------------------------------------------

class Desk:
    """The checks at one moment. ``live(layer_id)`` gives a live layer (with ``.layer`` and ``.version``,
    e.g. a :class:`layers.catalog.LiveLayer`) or None when the layer has no version."""

    def __init__(self, store: Store, live: Callable[[str], Any], ruleset: Ruleset | None = None):
        self.store = store
        self._live = live
        self.ruleset = ruleset if ruleset is not None else load_ruleset(store)

    def layer(self, layer_id: str):
        """The live layer's features (a :class:`layers.load.Layer`), or None when it has none."""
        live = self._live(layer_id)
        return None if live is None else live.layer

    def data_versions(self, *layer_ids: str) -> dict[str, int]:
        """The version of each layer a check reads (0: not loaded), recorded in every run and report."""
        out = {}
        for layer_id in layer_ids or (SITES, PLACES, COMPLAINTS):
            live = self._live(layer_id)
            out[layer_id] = 0 if live is None else int(live.version)
        return out

    def check_all(self, *, as_of: dt.date | None = None, week=None) -> CheckRun:
        """Every outdoor-dining pilot against every rule."""
        sites = self.layer(SITES)
        if sites is None:
            from ..load import Layer
            from ..registry import REGISTRY

            sites = Layer(kind=REGISTRY[SITES])
        return engine.check_all(sites, self.layer(PLACES), self.layer(COMPLAINTS), self.ruleset, week=week,
                                as_of=as_of, data=self.data_versions())

    def check_site(self, geojson: dict, properties: dict | None = None, *, site_id=None, as_of: dt.date | None = None,
                   week=None) -> SiteResult:
        """One site a planner clicked or drew (GeoJSON geometry, WGS-84) with the permit's properties;
        ValueError (Chinese · English) for a geometry that cannot be checked."""
        geometry = engine.site_geometry(geojson)
        return engine.check_site(geometry, dict(properties or {}), self.layer(PLACES), self.layer(COMPLAINTS),
                                 self.ruleset, site_id=site_id, week=week, as_of=as_of)

    def zones(self, layer_id: str = ZONE_LAYERS[0], *, as_of: dt.date | None = None, days: int | None = None):
        """What lies inside each zone of ``layer_id``: protected places, residential share, complaints (over
        the complaint rule's period, 90 days when the ruleset has none)."""
        layer = self.layer(layer_id)
        if layer is None:
            return []
        if days is None:
            days = next((r.param("days") for r in self.ruleset if r.kind == "complaints_near"), 90)
        return zones.measure_zones(layer, self.layer(PLACES), self.layer(COMPLAINTS), as_of=as_of, days=days)


__all__ = ["COMPLAINTS", "PLACES", "RULESET", "SITES", "ZONE_LAYERS", "Conflict", "Desk", "RulesetError",
           "changed_rules", "load_ruleset", "restore_ruleset", "save_ruleset"]
