"""When a place is open, minute by minute over a real calendar week in Asia/Shanghai.

An OSM ``opening_hours`` expression is evaluated by opening-hours-py into a week of minutes (a numpy array of
7 × 1440 booleans, Monday 00:00 to the next Monday 00:00), so "open inside quiet hours" is an ``&`` of two
arrays. Windows past midnight (``22:00-06:00``) and ``24/7`` are the library's; the minutes after midnight
of Monday hold the spill-over of the Sunday before, so a week wraps.

China's calendar comes from ``chinesecalendar`` (the State Council's yearly arrangement, 调休 included),
because opening-hours-py knows only the first day of each Chinese holiday and nothing of adjusted working
days. Each day of the week is of one kind:

- ``holiday``: a day of an official holiday break (国庆 1-7 Oct …): ``PH`` rules apply to it;
- ``adjusted_workday``: a weekend day worked in exchange (调休上班): it counts as a working day, so ``Mo-Fr``
  rules (school hours, say) apply to it;
- ``workday`` and ``weekend``: as the weekday says.

Where the library's own view of a day differs from the calendar's, the day is read from a *proxy*: the
nearest day the library sees as the same kind (a day it knows as ``PH`` on the same weekday, so that rules
without ``PH`` read the weekday's hours; an ordinary working weekday), and that day's minutes are used. A state of ``unknown`` counts as open: a check never passes on a guess.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import chinese_calendar
import numpy as np
from opening_hours import OpeningHours, ParserError, State

TZ = ZoneInfo("Asia/Shanghai")
DAY = 1440
WEEK = 7 * DAY
WEEKDAYS = (("周一", "Mo"), ("周二", "Tu"), ("周三", "We"), ("周四", "Th"), ("周五", "Fr"), ("周六", "Sa"),
            ("周日", "Su"))
#: The kinds of day, with zh/en labels.
DAY_KINDS = {"workday": ("工作日", "working day"), "weekend": ("休息日", "weekend"),
             "holiday": ("法定节假日", "public holiday"), "adjusted_workday": ("调休上班日", "adjusted working day"),
             "unknown": ("节假日历未覆盖", "not in the holiday calendar")}


class HoursError(ValueError):
    """An expression that is not OSM opening_hours (the message is Chinese, then English after " · ")."""


class CalendarError(ValueError):
    """A date the holiday calendar does not cover (the arrangement for its year is not published in it)."""


def _parse(expression: str) -> OpeningHours:
    if not isinstance(expression, str) or not expression.strip():
        raise HoursError("营业时间为空 · opening_hours is empty")
    try:
        return OpeningHours(expression, timezone=TZ, country="CN")
    except ParserError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip().startswith("=")]
        why = lines[0].lstrip("= ").strip() if lines else "not understood"
        raise HoursError(f"「{expression[:60]}」不是 OSM 营业时间格式（例：Mo-Su 10:00-22:00、22:00-06:00、24/7）· "
                         f"{expression[:60]!r} is not an OSM opening_hours value ({why[:120]})") from None


def check(expression: str) -> str | None:
    """Why ``expression`` is not OSM opening_hours, or None."""
    try:
        _parse(expression)
    except HoursError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class Week:
    """A calendar week, Monday to Sunday, in Asia/Shanghai."""

    monday: dt.date

    @property
    def days(self) -> tuple[dt.date, ...]:
        return tuple(self.monday + dt.timedelta(days=i) for i in range(7))

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.monday, dt.time(), TZ)

    def __str__(self) -> str:
        return f"{self.monday.isoformat()}/{(self.monday + dt.timedelta(days=6)).isoformat()}"


#: The days a check may be made as of (and weeks read over): outside, a date is refused, not computed.
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2100, 12, 31)


def parse_day(text: str, name: str = "date") -> dt.date:
    """A day given as YYYY-MM-DD (a page's ``?as_of=``, the CLI's ``--as-of``); ValueError in Chinese and
    English naming ``name`` when it is not one, or lies outside FIRST_DAY..LAST_DAY."""
    shown = repr(str(text)[:40])
    try:
        if not isinstance(text, str) or len(text) != 10 or text[4] != "-" or text[7] != "-":
            raise ValueError
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"日期无效：{name}={shown}，应为 YYYY-MM-DD · {name} must be a date YYYY-MM-DD, "
                         f"not {shown}") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"日期超出范围：{name}={shown}，应在 {FIRST_DAY} 至 {LAST_DAY} 之间 · {name} must be a date "
                         f"from {FIRST_DAY} to {LAST_DAY}, not {shown}")
    return day


def week_of(day: dt.date | dt.datetime | None = None) -> Week:
    """The week (Monday to Sunday) holding ``day``; today in Asia/Shanghai when None."""
    if day is None:
        day = dt.datetime.now(TZ).date()
    elif isinstance(day, dt.datetime):
        day = day.astimezone(TZ).date() if day.tzinfo else day.date()
    return Week(day - dt.timedelta(days=day.weekday()))


@functools.lru_cache(maxsize=2048)
def day_kind(day: dt.date) -> tuple[str, str | None]:
    """(kind, holiday name or None) of ``day`` by China's official arrangement; CalendarError outside it."""
    try:
        off, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        raise CalendarError(
            f"节假日历未包含 {day.year} 年的安排（chinesecalendar 仅到已公布的年份），无法判断节假日与调休 · the holiday "
            f"calendar has no arrangement for {day.year} yet (chinesecalendar covers published years only)") from None
    if off and name:
        return "holiday", name
    if not off and day.weekday() >= 5:
        return "adjusted_workday", name
    return ("weekend" if off else "workday"), None


#: opening-hours-py's own (partial) calendar of Chinese public holidays: open exactly on the days it knows
_PH = OpeningHours("PH", timezone=TZ, country="CN")


@functools.lru_cache(maxsize=4096)
def _library_ph(day: dt.date) -> bool:
    return _PH.is_open(dt.datetime.combine(day, dt.time(12), TZ))


def _proxy(day: dt.date, kind: str) -> dt.date | None:
    """The nearest day the library reads as ``kind`` does, or None when the library already agrees."""
    if kind == "holiday":
        if _library_ph(day):
            return None

        def wanted(d):  # a day the library knows as PH, on the same weekday: rules without PH read alike
            return d.weekday() == day.weekday() and _library_ph(d)
    elif kind == "adjusted_workday":
        def wanted(d):
            return d.weekday() < 5 and not _library_ph(d) and _safe_kind(d) == "workday"
    else:
        if not _library_ph(day):
            return None

        def wanted(d):
            return d.weekday() == day.weekday() and not _library_ph(d)
    for step in range(1, 3000):  # a PH on the same weekday can be years away
        for candidate in (day - dt.timedelta(days=step), day + dt.timedelta(days=step)):
            if wanted(candidate):
                return candidate
    return None  # pragma: no cover - the library knows holidays every year


def _safe_kind(day: dt.date) -> str:
    try:
        return day_kind(day)[0]
    except CalendarError:
        return "weekend" if day.weekday() >= 5 else "workday"


def _minutes(oh: OpeningHours, start: dt.datetime, days: int) -> np.ndarray:
    out = np.zeros(days * DAY, dtype=bool)
    end = start + dt.timedelta(days=days)
    for begin, finish, state, _comment in oh.intervals(start, end):
        if state == State.CLOSED:
            continue
        a = int((begin - start).total_seconds() // 60)
        b = int((min(finish, end) - start).total_seconds() // 60)
        out[max(a, 0):max(b, 0)] = True
    return out


#: What in an expression makes the kind of day matter: public (or school) holidays, and weekdays (which a 调休
#: moves: a Saturday worked in exchange is a working day).
_HOLIDAY_WORDS = re.compile(r"\b(PH|SH)\b")
_WEEKDAY_WORDS = re.compile(r"\b(Mo|Tu|We|Th|Fr|Sa|Su)\b")
#: What makes an expression differ from one week to the next: months, dates, week numbers, years, holidays.
_DATED_WORDS = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|week|easter|PH|SH)\b|\b\d{4}\b")


def dated(expression: str | None) -> bool:
    """Whether ``expression`` can be open at different times in different weeks (months, dates, week numbers,
    years, holidays): one week then says little, and a check reads the whole year ahead."""
    return bool(expression) and bool(_DATED_WORDS.search(expression))


def _same_every_kind(oh: OpeningHours, day: dt.date, own: np.ndarray, holidays: bool, weekdays: bool) -> None:
    """For a day the calendar does not cover: nothing to decide when the expression is open the same minutes
    whatever kind of day it turns out to be (``22:00-06:00``, ``24/7``, ``Mo-Su 10:00-23:30``, ``May-Sep``);
    otherwise (it names ``PH``, or working days that a 调休 could move) CalendarError, so the rule says
    "cannot assess"."""
    kinds = ["holiday", "weekend" if day.weekday() >= 5 else "workday"] if holidays else []
    if weekdays and day.weekday() >= 5:
        kinds.append("adjusted_workday")
    for kind in kinds:
        proxy = _proxy(day, kind)
        if proxy is not None and not np.array_equal(_minutes(oh, dt.datetime.combine(proxy, dt.time(), TZ), 1), own):
            day_kind(day)  # raises the CalendarError that says which year is missing


@functools.lru_cache(maxsize=1024)  # 10 KB each: distinct expressions × weeks asked about
def _schedule(expression: str, monday: dt.date) -> np.ndarray:
    oh = _parse(expression)
    week = Week(monday)
    minutes = _minutes(oh, week.start, 7)
    holidays, weekdays = bool(_HOLIDAY_WORDS.search(expression)), bool(_WEEKDAY_WORDS.search(expression))
    for i, day in enumerate(week.days):
        if not (holidays or weekdays):
            break  # the kind of day changes nothing (22:00-06:00, 24/7, May-Sep)
        try:
            kind = day_kind(day)[0]
        except CalendarError:
            _same_every_kind(oh, day, minutes[i * DAY:(i + 1) * DAY], holidays, weekdays)
            continue
        if not holidays and kind != "adjusted_workday":
            continue  # without PH a holiday reads as its weekday and date, as the library reads it
        proxy = _proxy(day, kind)
        if proxy is not None:
            minutes[i * DAY:(i + 1) * DAY] = _minutes(oh, dt.datetime.combine(proxy, dt.time(), TZ), 1)
    minutes.flags.writeable = False
    return minutes


def schedule(expression: str, week: Week) -> np.ndarray:
    """The minutes of ``week`` (7 × 1440 booleans) when ``expression`` is open (or unknown).
    Raises HoursError for an expression that does not parse, CalendarError for a week the calendar lacks
    when the expression depends on the kind of day (public holidays, 调休)."""
    return _schedule(expression, week.monday)


def clock(minute: int) -> str:
    """A minute of the day as HH:MM (24:00 for the end of a day)."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of True, end exclusive."""
    edges = np.flatnonzero(np.diff(np.concatenate([[False], mask, [False]]).astype(np.int8)))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))


@dataclass(frozen=True)
class Span:
    """A stretch of open minutes inside a window: how it meets the window, clock times, and the weekdays
    (0 = Monday) of the window's start it happens on."""

    how: str  # "until": open from before the window into it; "from": opens inside it; "during": both ends inside
    start: str  # HH:MM
    end: str  # HH:MM (24:00 for midnight)
    next_day: bool  # whether ``end`` falls on the day after the window starts
    days: tuple[int, ...]

    def describe(self) -> tuple[str, str]:
        dzh, den = _days_text(self.days)
        if self.how == "until":
            return (f"营业至{'次日 ' if self.next_day else ' '}{self.end}{dzh}",
                    f"open until {self.end}{' the next day' if self.next_day else ''}{den}")
        if self.how == "from":
            return f"{self.start} 起营业{dzh}", f"open from {self.start}{den}"
        return (f"{self.start}-{'次日 ' if self.next_day else ''}{self.end} 营业{dzh}",
                f"open {self.start}-{self.end}{' (next day)' if self.next_day else ''}{den}")


@dataclass(frozen=True)
class Overlap:
    """When a schedule falls inside a window, over one week."""

    minutes: int
    spans: tuple[Span, ...] = ()
    #: the window's daily edges the spans cross: close by this time / open after this time to pass
    close_by: str | None = None
    open_after: str | None = None

    def __bool__(self) -> bool:
        return self.minutes > 0

    def describe(self) -> tuple[str, str]:
        """(zh, en) of when the place is open inside the window, e.g. ("营业至 23:30", "open until 23:30")."""
        parts = [span.describe() for span in self.spans]
        return "，".join(p[0] for p in parts), "; ".join(p[1] for p in parts)


def _days_text(days: tuple[int, ...]) -> tuple[str, str]:
    if len(days) == 7:
        return "", ""
    return (f"（{'、'.join(WEEKDAYS[d][0] for d in days)}）", f" ({', '.join(WEEKDAYS[d][1] for d in days)})")


def _clock_end(minute: int) -> str:
    return clock(minute % DAY) if minute % DAY else "24:00"


def overlap(open_minutes: np.ndarray, window: np.ndarray) -> Overlap:
    """When ``open_minutes`` (a week of minutes) falls inside ``window`` (another week of minutes)."""
    both = open_minutes & window
    total = int(both.sum())
    if not total:
        return Overlap(0)
    closed = np.flatnonzero(~window)
    shift = int(closed[0]) if len(closed) else 0  # start the week where the window is shut: no run is cut
    window_runs = _runs(np.roll(window, -shift))
    found: dict[tuple, set[int]] = {}
    close_by = open_after = None
    for start, end in _runs(np.roll(both, -shift)):
        ws, we = next((a, b) for a, b in window_runs if a <= start and end <= b)
        anchor = (ws + shift) // DAY
        s, e = start + shift, end + shift  # minutes from the Monday of the week (may pass its end)
        if start == ws:
            close_by = clock((ws + shift) % DAY)
        if end == we:
            open_after = _clock_end(we + shift)
        how = "during" if start > ws and end < we else ("until" if start == ws and end < we else
                                                        "from" if start > ws and end == we else "during")
        later = how != "from" and (e - 1) // DAY > anchor
        key = (how, clock(s % DAY), _clock_end(e), later)
        found.setdefault(key, set()).add((s // DAY if how == "from" else anchor) % 7)
    spans = tuple(Span(how, s, e, later, tuple(sorted(days))) for (how, s, e, later), days in found.items())
    return Overlap(total, spans, close_by, open_after)


def describe_week(week: Week) -> list[dict]:
    """The kind of each day of ``week`` (for reports): date, weekday, kind, holiday name."""
    out = []
    for day in week.days:
        try:
            kind, name = day_kind(day)
        except CalendarError:
            kind, name = "unknown", None
        out.append({"date": day.isoformat(), "weekday": WEEKDAYS[day.weekday()][1], "kind": kind, "holiday": name})
    return out
