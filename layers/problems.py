"""Problems found while reading data, and the report that collects them."""

from __future__ import annotations

from dataclasses import dataclass, field

#: error: the file (or feature) is refused; repaired: accepted after a change that the message names;
#: warning: accepted as it is, worth a look.
SEVERITIES = ("error", "repaired", "warning")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located as precisely as the input allows."""

    source: str
    message: str
    severity: str = "error"
    index: int | None = None
    feature_id: object = None
    where: str = ""

    def __str__(self) -> str:
        parts = [self.source]
        if self.index is not None:
            parts.append(f"feature #{self.index}" + (f" (id {self.feature_id!r})" if self.feature_id is not None else ""))
        if self.where:
            parts.append(self.where)
        return f"{': '.join(parts)}: {self.severity}: {self.message}"

    def to_dict(self) -> dict:
        return {"source": self.source, "severity": self.severity, "index": self.index,
                "feature_id": self.feature_id, "where": self.where, "message": self.message}


@dataclass
class Report:
    """Everything found in one input; ``ok`` when nothing refuses it."""

    source: str
    problems: list[Problem] = field(default_factory=list)

    def add(self, message: str, severity: str = "error", **where) -> None:
        self.problems.append(Problem(self.source, message, severity, **where))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

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
