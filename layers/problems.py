"""Problems found while reading data, and the report that collects them."""

from __future__ import annotations

from dataclasses import dataclass, field

#: error: the file (or feature) is refused; repaired: accepted after a change that the message names;
#: warning: accepted as it is, worth a look.
SEVERITIES = ("error", "repaired", "warning")
#: How a report counts features for people: a spreadsheet's own row numbers (the header is row 1, so the
#: first feature is row 2), or features counted from 1. ``index`` stays the zero-based position inside.
UNITS = {"row": ("第 {n} 行", "row {n}", 2), "feature": ("第 {n} 个要素", "feature {n}", 1)}
#: Fixes a problem may offer (the staff pages and the CLI name them): re-read with lat/lon exchanged for the
#: features that carry "swap", with GCJ-02 coordinates, or as GB18030 text.
FIXES = ("swap", "gcj02", "gb18030")


def place(index: int, unit: str = "feature") -> tuple[str, str]:
    """The zh and en words for the feature at zero-based ``index``: ("第 3 行", "row 3") for a CSV."""
    zh, en, first = UNITS[unit]
    return zh.format(n=index + first), en.format(n=index + first)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located as precisely as the input allows."""

    source: str
    message: str
    severity: str = "error"
    index: int | None = None
    feature_id: object = None
    where: str = ""
    #: The feature's name (its ``name`` property), when it has one: every line names what it is about.
    name: str | None = None
    unit: str = "feature"
    fix: str | None = None

    @property
    def number(self) -> int | None:
        """The feature's number as a person counts it (the spreadsheet row for CSV), or None."""
        return None if self.index is None else self.index + UNITS[self.unit][2]

    @property
    def place(self) -> str:
        """Where, in words: "第 3 行 row 3", "第 1 个要素 feature 1", or "" for the file as a whole."""
        return "" if self.index is None else " ".join(place(self.index, self.unit))

    def __str__(self) -> str:
        parts = [self.source]
        if self.index is not None:
            parts.append(self.place + (f" 「{self.name}」" if self.name else "")
                         + (f" (id {self.feature_id!r})" if self.feature_id is not None else ""))
        if self.where:
            parts.append(self.where)
        return f"{': '.join(parts)}: {self.severity}: {self.message}"

    def to_dict(self) -> dict:
        return {"source": self.source, "severity": self.severity, "index": self.index, "number": self.number,
                "place": self.place, "name": self.name, "feature_id": self.feature_id, "where": self.where,
                "message": self.message, "fix": self.fix}


@dataclass
class Report:
    """Everything found in one input; ``ok`` when nothing refuses it."""

    source: str
    problems: list[Problem] = field(default_factory=list)
    #: "row" for spreadsheets (CSV), "feature" otherwise: see :data:`UNITS`.
    unit: str = "feature"
    #: The ``name`` of each feature by its index, once known, so every line about a feature names it.
    names: dict = field(default_factory=dict)

    def add(self, message: str, severity: str = "error", **where) -> None:
        if where.get("index") is not None and "name" not in where:
            where["name"] = self.names.get(where["index"])
        self.problems.append(Problem(self.source, message, severity, unit=self.unit, **where))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def fixes(self, fix: str) -> list[Problem]:
        """The problems that offer ``fix`` (one of :data:`FIXES`)."""
        return [p for p in self.problems if p.fix == fix]

    def text(self) -> str:
        """A plain-text rendering, one problem a line, errors first."""
        order = {s: i for i, s in enumerate(SEVERITIES)}
        lines = [str(p) for p in sorted(self.problems, key=lambda p: order[p.severity])]
        return "\n".join(lines) if lines else f"{self.source}: no problems"


class DataError(Exception):
    """Raised when an input is refused; carries the report(s) that say why."""

    def __init__(self, reports: list[Report]):
        self.reports = reports
        super().__init__("\n".join(r.text() for r in reports if not r.ok))
