"""What a check gives: a verdict per rule and site, with the measured values, the nearest protected places,
the reason and a condition that would pass; and a run of them with what makes it reproducible."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

from . import hours
from .rules import Ruleset

STATUSES = {"pass": ("通过", "pass"), "warn": ("提示", "warn"), "fail": ("不通过", "fail"),
            "cannot_assess": ("无法判断", "cannot assess")}
#: The order of gravity, for a site's overall status: a check that cannot be made outranks a warning.
GRAVITY = ("pass", "warn", "cannot_assess", "fail")


class Nearby(NamedTuple):
    """A protected place near a site."""

    id: object
    name: str
    category: str
    distance_m: float

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "category": self.category, "distance_m": self.distance_m}


class Verdict(NamedTuple):
    """One rule's verdict on one site."""

    rule_id: str
    severity: str
    status: str  # pass | warn | fail | cannot_assess
    reason: str  # Chinese, then English after " · "
    measured: dict = {}
    nearest: tuple = ()  # Nearby places: those within the rule's distance (at most NEAREST_SHOWN), or the nearest
    suggestion: str | None = None  # a condition that would pass the rule (Chinese · English)

    def to_dict(self) -> dict:
        return {"rule": self.rule_id, "severity": self.severity, "status": self.status, "reason": self.reason,
                "measured": self.measured, "nearest": [n.to_dict() for n in self.nearest],
                "suggestion": self.suggestion}


class SiteResult(NamedTuple):
    """The verdicts on one site, one per rule in the ruleset's order."""

    id: object
    name: str
    district: str | None
    verdicts: tuple

    @property
    def status(self) -> str:
        """The gravest verdict: fail, then cannot assess, then warn, then pass."""
        return max((v.status for v in self.verdicts), key=GRAVITY.index, default="pass")

    def verdict(self, rule_id: str) -> Verdict:
        return next(v for v in self.verdicts if v.rule_id == rule_id)

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "district": self.district, "status": self.status,
                "verdicts": [v.to_dict() for v in self.verdicts]}


@dataclass
class CheckRun:
    """The verdicts of one check, with what makes it reproducible: the ruleset (version and digest), the
    week the hours were read over, the day complaints were counted back from, the data versions used."""

    ruleset: Ruleset
    week: hours.Week
    as_of: dt.date
    results: list[SiteResult]
    data: dict = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for result in self.results:
            out[result.status] += 1
        return out

    def by_district(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for result in self.results:
            row = out.setdefault(result.district or "", dict.fromkeys(STATUSES, 0))
            row[result.status] += 1
        return out

    def to_dict(self) -> dict:
        return {"ruleset": {"version": self.ruleset.version, "digest": self.ruleset.digest},
                "week": str(self.week), "as_of": self.as_of.isoformat(), "data": self.data,
                "counts": self.counts(), "results": [r.to_dict() for r in self.results]}
