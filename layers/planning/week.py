"""The week view: when, over one real calendar week (Monday to Sunday, Asia/Shanghai), each pedestrian street
is car-free, each 24-hour zone operates and each outdoor-dining site has its seating out — hour by hour — and
which of those hours fall inside the quiet-hours rule's window near homes.

What is read (the issue is silent; chosen here):

- **Car-free** (步行时段) is a pedestrian street's ``opening_hours``: the hours the street is closed to cars. A
  street with no hours is car-free at all times when it is not a ``weekend_block`` (a permanent pedestrian
  street), and "hours not given" when it is one.
- A **24-hour zone** is a night-economy zone with ``is_24h_pilot``; its row is its ``opening_hours``.
- An **outdoor-dining site**'s row is its seating ``opening_hours`` within its ``season`` (both OSM syntax): out
  of season, the seating is not out.
- A ``planned`` place is listed with no hours: it is not in effect yet.
- **Quiet hours near homes**: the minutes inside the window of the ruleset's R1 (22:00-06:00 by default) of a
  site that R1's check-all verdict finds within its distance of homes (``measured["within"] > 0``), and of a
  24-hour zone with homes inside it (:meth:`Desk.zones`).

Hours are :mod:`.hours`' (public holidays and 调休 from chinesecalendar); a week the calendar does not cover
raises :class:`hours.CalendarError` with its bilingual message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from . import hours

#: The layers the view reads, and what a row of each shows.
STREETS, ZONES, SITES = "pedestrian_streets", "night_economy_zones", "outdoor_dining_pilots"
ROW_KINDS = {STREETS: ("步行时段", "car-free"), ZONES: ("24小时营业区运营", "24-hour zone operating"),
             SITES: ("外摆时段", "outdoor seating out")}
#: Cell states of the grid (hour by hour): closed is left out.
OPEN, QUIET = 1, 2
CELL_STATES = {OPEN: ("开放", "open"), QUIET: ("夜间时段且邻近住宅", "inside quiet hours near homes")}
QUIET_RULE = "R1"


@dataclass
class Row:
    """One place over the week."""

    layer: str
    id: object
    name: str
    district: str | None
    status: str | None
    hours: str | None  # the expression read (None: none)
    #: minutes open per hour, 7 × 24 (Monday 00:00 first); None when the hours cannot be read
    open: np.ndarray | None = None
    #: minutes open inside quiet hours near homes, per hour; None when the place is not near homes
    quiet: np.ndarray | None = None
    note: str | None = None  # why there are no hours (Chinese · English)
    near_homes: bool = False
    #: per day: the open spans and the quiet spans as text ("17:00-24:00")
    spans: list = field(default_factory=list)
    quiet_spans: list = field(default_factory=list)

    @property
    def what(self) -> tuple[str, str]:
        return ROW_KINDS[self.layer]

    def cells(self) -> list[tuple[int, int]]:
        """(hour of the week 0-167, state) of each hour with any minute open."""
        if self.open is None:
            return []
        out = []
        for i, minutes in enumerate(self.open.reshape(-1).tolist()):
            if minutes:
                quiet = self.quiet is not None and self.quiet.reshape(-1)[i] > 0
                out.append((i, QUIET if quiet else OPEN))
        return out


@dataclass
class WeekView:
    week: hours.Week
    days: list[dict]  # hours.describe_week
    rows: list[Row]
    window: str | None  # the quiet-hours window read (OSM syntax), None when there is no such rule
    window_label: tuple[str, str]
    rule_note: str | None  # why no quiet hours are marked, when none are
    weekend: list[dict]  # which streets are car-free on the Saturday and Sunday, and when
    #: when the holiday calendar does not cover the week: what that means for the rows (hours that depend on
    #: public holidays or 调休 are not shown, each such row says so); None otherwise
    calendar_note: str | None = None

    def to_dict(self) -> dict:
        """The chart's data (the page embeds it as JSON)."""
        return {"week": str(self.week), "days": self.days,
                "rows": [{"label": f"{r.name}（{r.what[0]}）", "layer": r.layer, "near_homes": r.near_homes,
                          "note": r.note} for r in self.rows],
                "cells": [[hour, y, state] for y, r in enumerate(self.rows) for hour, state in r.cells()],
                "states": {str(k): {"zh": v[0], "en": v[1]} for k, v in CELL_STATES.items()},
                "window": {"expression": self.window, "zh": self.window_label[0], "en": self.window_label[1]}}


def _runs_text(mask: np.ndarray) -> list[str]:
    """The runs of a day's minutes (1440 booleans) as "HH:MM-HH:MM" (24:00 for the day's end)."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [f"{hours.clock(int(a))}-{hours.clock(int(b)) if b < hours.DAY else '24:00'}"
            for a, b in zip(edges[0::2], edges[1::2])]


def _per_hour(minutes: np.ndarray) -> np.ndarray:
    return minutes.reshape(7, 24, 60).sum(axis=2)


def _truthy(value) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "是"))


def _minutes_of(layer_id: str, props: dict, week: hours.Week) -> tuple[str | None, np.ndarray | None, str | None]:
    """(expression read, open minutes of the week or None, note) for one place.
    CalendarError propagates: the whole week cannot be read."""
    expression = props.get("opening_hours")
    expression = expression.strip() if isinstance(expression, str) and expression.strip() else None
    if props.get("status") == "planned":
        return expression, None, "规划中，尚未实施 · planned, not in effect yet"
    if expression is None:
        if layer_id == STREETS and not _truthy(props.get("weekend_block")):
            expression = "24/7"  # a permanent pedestrian street
        else:
            return None, None, "未填写时段 · no hours given"
    try:
        minutes = hours.schedule(expression, week)
    except (hours.HoursError, hours.CalendarError) as exc:
        return expression, None, str(exc)
    if layer_id == SITES and isinstance(props.get("season"), str) and props["season"].strip():
        try:
            minutes = minutes & hours.schedule(props["season"].strip(), week)
        except (hours.HoursError, hours.CalendarError) as exc:
            return expression, None, f"外摆季节 season: {exc}"
        if not minutes.any():
            return expression, minutes, f"本周不在外摆季节（{props['season']}）· out of season ({props['season']})"
    return expression, minutes, None


def quiet_window(ruleset) -> tuple[str | None, tuple[str, str], str | None]:
    """(window expression, (zh, en) label, note) of the quiet-hours rule R1 in ``ruleset``; the expression
    is None (with the reason in the note) when the ruleset has no such rule."""
    try:
        rule = ruleset.get(QUIET_RULE)
    except StopIteration:
        return None, ("", ""), f"规则集中没有 {QUIET_RULE} · the ruleset has no rule {QUIET_RULE}"
    if rule.kind != "near_during":
        return None, ("", ""), f"{QUIET_RULE} 不是时段距离规则 · {QUIET_RULE} is not a distance-while-open rule"
    window = rule.param("window") or "24/7"
    return window, (rule.param("window_zh") or window, rule.param("window_en") or window), None


def build(week: hours.Week, layer, ruleset, run=None, zones=()) -> WeekView:
    """The week view over ``week``.

    ``layer(id)``: the live layer's features (:class:`layers.load.Layer`) or None; ``ruleset``: the live
    ruleset (its R1 gives the quiet window); ``run``: the check-all run over this week (R1's verdicts say
    which sites are near homes); ``zones``: :class:`zones.ZoneMeasure` of the night-economy zones (homes
    inside). In a week the holiday calendar does not cover, hours that are the same on every kind of day
    are shown; a row whose hours depend on holidays or 调休 says so instead (``calendar_note``)."""
    days = hours.describe_week(week)
    calendar_note = None
    unknown = sorted({d["date"][:4] for d in days if d["kind"] == "unknown"})
    if unknown:
        calendar_note = (f"节假日历未包含 {'、'.join(unknown)} 年的安排：与节假日、调休无关的时段照常显示，取决于节假日或调休的时段"
                         f"不显示（各行注明）· the holiday calendar has no arrangement for {', '.join(unknown)} yet: hours "
                         "that are the same on every kind of day are shown, hours that depend on public holidays or "
                         "adjusted working days are not (each such row says so)")
    window, label, rule_note = quiet_window(ruleset)
    try:
        window_minutes = hours.schedule(window, week) if window else None
    except hours.CalendarError as exc:
        window, window_minutes, rule_note = None, None, str(exc)
    near_sites: set = set()
    if run is not None and window:
        for result in run.results:
            try:
                verdict = result.verdict(QUIET_RULE)
            except StopIteration:
                continue
            if (verdict.measured or {}).get("within", 0):
                near_sites.add(result.id)
            elif verdict.status == "cannot_assess" and rule_note is None and not verdict.measured:
                rule_note = verdict.reason
    homes_in_zone = {z.id for z in zones if z.residents_inside()}
    rows: list[Row] = []
    for layer_id in (STREETS, ZONES, SITES):
        features = layer(layer_id)
        if features is None:
            continue
        for fid, props in zip(features.ids, features.properties):
            if layer_id == ZONES and not _truthy(props.get("is_24h_pilot")):
                continue
            expression, minutes, note = _minutes_of(layer_id, props, week)
            near = (fid in near_sites) if layer_id == SITES else (layer_id == ZONES and fid in homes_in_zone)
            row = Row(layer_id, fid, str(props.get("name") or fid), props.get("district"), props.get("status"),
                      expression, note=note, near_homes=near and window is not None)
            if minutes is not None:
                row.open = _per_hour(minutes)
                row.spans = [_runs_text(minutes[i * hours.DAY:(i + 1) * hours.DAY]) for i in range(7)]
                if row.near_homes:
                    both = minutes & window_minutes
                    row.quiet = _per_hour(both)
                    row.quiet_spans = [_runs_text(both[i * hours.DAY:(i + 1) * hours.DAY]) for i in range(7)]
            rows.append(row)
    weekend = this_weekend(week, rows)
    return WeekView(week, days, rows, window, label, rule_note, weekend, calendar_note)


def this_weekend(week: hours.Week, rows: list[Row]) -> list[dict]:
    """Which pedestrian streets (operating or pilot) are car-free on the week's Saturday and Sunday, and when:
    [{"id", "name", "day", "date", "zh": "台东步行街 周六 10:00-22:00", "spans"}] in day order."""
    out = []
    for index in (5, 6):
        day = week.days[index]
        for row in rows:
            if row.layer != STREETS or row.open is None or row.status not in ("operating", "pilot", None):
                continue
            spans = row.spans[index]
            if not spans:
                continue
            when = "全天" if spans == ["00:00-24:00"] else "、".join(spans)
            when_en = "all day" if spans == ["00:00-24:00"] else ", ".join(spans)
            out.append({"id": row.id, "name": row.name, "date": day.isoformat(), "day": hours.WEEKDAYS[index],
                        "spans": spans, "zh": f"{row.name} {hours.WEEKDAYS[index][0]} {when}",
                        "en": f"{hours.WEEKDAYS[index][1]} {day.isoformat()} {when_en}"})
    return out


def parse_week(text: str | None, today: dt.date | None = None) -> hours.Week:
    """The week holding the day ``text`` (YYYY-MM-DD); this week when empty. ValueError (Chinese · English)
    for anything else."""
    if text is None or not str(text).strip():
        return hours.week_of(today)
    return hours.week_of(hours.parse_day(str(text).strip(), "week"))
