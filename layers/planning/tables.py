""""Check all" as tables: every outdoor-dining pilot with its verdict per rule, every night-economy / 24-hour
zone with what lies inside, and what makes the run reproducible (ruleset version and digest, data versions,
as-of day, week, time generated) — built once here, shown by the staff page, written as XLSX and CSV by the
page and by the CLI (``flask --app webmap planning check``), the same columns everywhere.

Framework-free: given a :class:`layers.planning.desk.Desk`, never a request.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

from ..export import neutralize_formula
from . import hours
from .desk import SITES, ZONE_LAYERS, Desk
from .hours import FIRST_DAY, LAST_DAY, parse_day
from .kinds import CATEGORIES, COMPLAINT_CATEGORIES
from .results import GRAVITY, STATUSES, CheckRun, SiteResult
from .zones import ZoneMeasure

#: The site columns before the verdicts: (key, Chinese, English).
SITE_COLUMNS = (
    ("id", "编号", "Id"),
    ("name", "名称", "Name"),
    ("district", "区市", "District"),
    ("seats", "座位数", "Seats"),
    ("hours", "外摆时间", "Seating hours"),
    ("walkway", "人行道净宽（米）", "Clear walkway (m)"),
    ("status", "总体结论", "Overall"),
)
#: What the page sorts by besides a rule id (which sorts by that rule's verdict).
SORT_KEYS = tuple(key for key, _zh, _en in SITE_COLUMNS)
ZONE_COLUMNS = (
    ("id", "编号", "Id"),
    ("name", "名称", "Name"),
    ("district", "区市", "District"),
    ("is_24h_pilot", "24小时试点", "24-hour pilot"),
    ("area_m2", "面积（平方米）", "Area (m²)"),
    ("residential_inside", "区内居民小区数", "Residential places inside"),
    ("residential_share", "居住用地占比", "Residential share of area"),
    ("places", "区内敏感点", "Protected places inside"),
    *((f"complaints.{c}", f"投诉：{zh}", f"Complaints: {en}") for c, (zh, en) in COMPLAINT_CATEGORIES.items()),
)




def status_label(status: str) -> str:
    """A verdict as staff read it: "不通过 fail"."""
    zh, en = STATUSES[status]
    return f"{zh} {en}"


def header(zh: str, en: str) -> str:
    """A column heading, Chinese then English."""
    return f"{zh} {en}"


@dataclass
class SiteRow:
    """One outdoor-dining pilot: its permit facts and its verdicts."""

    result: SiteResult
    seats: int | float | None
    hours: str | None
    walkway: int | float | None

    @property
    def id(self):
        return self.result.id

    @property
    def name(self) -> str:
        return self.result.name

    @property
    def district(self) -> str:
        return self.result.district or ""

    @property
    def status(self) -> str:
        return self.result.status

    def value(self, key: str):
        """The raw value of a column (``key`` from SITE_COLUMNS, or a rule id: that rule's status)."""
        if key in ("id", "name", "district", "seats", "hours", "walkway", "status"):
            return getattr(self, key)
        return self.result.verdict(key).status


@dataclass
class CheckAll:
    """One "check all": the run, its rows, the zones, every data version read, and when it was made."""

    run: CheckRun
    sites: list[SiteRow]
    zones: list[ZoneMeasure]
    data: dict
    generated: dt.datetime
    #: the WGS-84 geometry of each site by id (for the reports' maps)
    geometries: dict = field(default_factory=dict, repr=False)

    @property
    def rule_ids(self) -> list[str]:
        return [rule.id for rule in self.run.ruleset]

    def about(self) -> list[tuple[str, object]]:
        """What makes the run reproducible, as (label, value) rows."""
        ruleset = self.run.ruleset
        rows: list[tuple[str, object]] = [
            (header("规则集版本", "Ruleset version"), ruleset.version),
            (header("规则集摘要", "Ruleset digest"), ruleset.digest),
            (header("截至日期（投诉统计）", "As of (complaints counted back from)"), self.run.as_of.isoformat()),
            (header("营业时间计算周", "Week the hours are read over"), str(self.run.week)),
            (header("生成时间（北京时间）", "Generated (Beijing time)"),
             self.generated.astimezone(hours.TZ).strftime("%Y-%m-%d %H:%M:%S")),
        ]
        rows += [(header("数据版本", f"Data version: {layer_id}"), version) for layer_id, version in self.data.items()]
        rows += [(header(f"规则 {rule.id}", rule.severity), rule.title) for rule in ruleset]
        return rows


def check_all(desk: Desk, *, as_of: dt.date | None = None, week=None, now: dt.datetime | None = None) -> CheckAll:
    """Check every outdoor-dining pilot and measure every zone, with the data versions read."""
    run = desk.check_all(as_of=as_of, week=week)
    layer = desk.layer(SITES)
    props = dict(zip(layer.ids, layer.properties)) if layer is not None else {}
    geometries = dict(zip(layer.ids, layer.geometries)) if layer is not None else {}
    rows = []
    for result in run.results:
        p = props.get(result.id, {})
        rows.append(SiteRow(result, p.get("capacity"), p.get("opening_hours"), p.get("clear_walkway_m")))
    zones = [zone for layer_id in ZONE_LAYERS for zone in desk.zones(layer_id, as_of=run.as_of)]
    data = {**run.data, **desk.data_versions(*ZONE_LAYERS)}
    return CheckAll(run, rows, zones, data, now or dt.datetime.now(dt.UTC), geometries)


# --- filtering and sorting (the page's query parameters) ------------------------------------------------

def select(rows: list[SiteRow], *, district: str | None = None, status: str | None = None,
           rule: str | None = None, rule_status: str | None = None) -> list[SiteRow]:
    """The rows of ``district``, with overall ``status``, whose ``rule`` has ``rule_status`` (any rule when
    ``rule`` is None); None or "" means any."""
    out = []
    for row in rows:
        if district and row.district != district:
            continue
        if status and row.status != status:
            continue
        if rule_status:
            statuses = [row.value(rule)] if rule else [v.status for v in row.result.verdicts]
            if rule_status not in statuses:
                continue
        out.append(row)
    return out


def _sort_value(row: SiteRow, key: str):
    value = row.value(key)
    if key == "status" or key not in SORT_KEYS:
        return GRAVITY.index(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return str(value)


def sort(rows: list[SiteRow], key: str, descending: bool = False) -> list[SiteRow]:
    """``rows`` sorted by a column (``key`` from SORT_KEYS or a rule id: by gravity); empty values last."""
    present = [r for r in rows if r.value(key) not in (None, "")]
    empty = [r for r in rows if r.value(key) in (None, "")]
    return sorted(present, key=lambda r: _sort_value(r, key), reverse=descending) + empty


# --- the tables, as cells --------------------------------------------------------------------------------

def site_headers(report: CheckAll) -> list[str]:
    heads = [header(zh, en) for _key, zh, en in SITE_COLUMNS]
    for rule_id in report.rule_ids:
        heads += [header(f"{rule_id} 结论", "verdict"), header(f"{rule_id} 理由", "reason")]
    return heads


def site_cells(report: CheckAll, row: SiteRow) -> list:
    cells = [row.id if isinstance(row.id, (int, float)) else str(row.id), row.name, row.district, row.seats,
             row.hours, row.walkway, status_label(row.status)]
    for rule_id in report.rule_ids:
        verdict = row.result.verdict(rule_id)
        cells += [status_label(verdict.status), verdict.reason]
    return cells


def zone_headers() -> list[str]:
    return [header(zh, en) for _key, zh, en in ZONE_COLUMNS]


def zone_cells(zone: ZoneMeasure) -> list:
    places = "；".join(f"{CATEGORIES.get(p.category, (p.category,))[0]} {p.name}" for p in zone.places)
    share = None if zone.residential_share is None else round(zone.residential_share, 4)
    complaints = [None if zone.complaints is None else zone.complaints.get(c, 0) for c in COMPLAINT_CATEGORIES]
    return [str(zone.id), zone.name, zone.district or "", "是 yes" if zone.is_24h_pilot else "否 no",
            round(zone.area_m2, 1), zone.residents_inside(), share, places, *complaints]


# --- files -----------------------------------------------------------------------------------------------

def to_csv(report: CheckAll, rows: list[SiteRow] | None = None) -> bytes:
    """The sites table as CSV: UTF-8 with a byte-order mark (Excel on Chinese Windows needs it), the sheet's
    columns, text that starts like a formula quoted with ``'`` (as every CSV the app writes)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(site_headers(report))
    for row in report.sites if rows is None else rows:
        writer.writerow(["" if v is None else neutralize_formula(v) if isinstance(v, str) else v
                         for v in site_cells(report, row)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


#: Column widths (characters) of the sites sheet, by column; rule columns after them.
_SITE_WIDTHS = (24, 26, 10, 8, 28, 10, 14)


def _write_sheet(sheet, heads: list[str], rows: list[list], widths, autofilter: bool = True) -> None:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    for c, text in enumerate(heads, 1):
        cell = sheet.cell(row=1, column=c)
        _put(cell, text)
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for r, values in enumerate(rows, 2):
        for c, value in enumerate(values, 1):
            _put(sheet.cell(row=r, column=c), value)
    for c, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(c)].width = width
    sheet.freeze_panes = "A2"
    if autofilter:  # a filter button on every header cell
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(heads))}{max(len(rows) + 1, 2)}"


def _put(cell, value) -> None:
    """A cell's value, text always stored as text: a name starting with = + - @ is not a formula."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would take "=..." for a formula
        if value[:1] in ("=", "+", "-", "@"):
            cell.quotePrefix = True  # and Excel keeps it text when the cell is edited


def describe_query(query: dict | None, shown: int, total: int) -> str:
    """The filter and sort that chose the rows, in words (for the workbook's about sheet)."""
    chosen = {k: v for k, v in (query or {}).items() if v not in (None, "")}
    sort, order = chosen.pop("sort", "district"), chosen.pop("order", "asc")
    filters = "; ".join(f"{k}={v}" for k, v in chosen.items()) or "无（全部外摆点）· none (every site)"
    return (f"筛选 filter: {filters} · 排序 sort: {sort} {'降序 descending' if order == 'desc' else '升序 ascending'}"
            f" · 行数 rows: {shown} / {total}")


def to_xlsx(report: CheckAll, rows: list[SiteRow] | None = None, query: dict | None = None) -> bytes:
    """The check as a workbook: "外摆点 sites" (sites × rules: verdict and reason), "集聚区 zones", and
    "about" (ruleset, data versions, as-of, week, time generated, and the filter and sort ``query`` that chose
    the rows). Header rows have filter buttons; shares are percent-formatted numbers. No formulas anywhere."""
    from openpyxl import Workbook

    book = Workbook()
    sites = book.active
    sites.title = "外摆点 sites"
    widths = list(_SITE_WIDTHS) + [14, 48] * len(report.rule_ids)
    _write_sheet(sites, site_headers(report), [site_cells(report, r) for r in (report.sites if rows is None else rows)],
                 widths)
    zones = book.create_sheet("集聚区 zones")
    _write_sheet(zones, zone_headers(), [zone_cells(z) for z in report.zones],
                 [20, 18, 10, 12, 14, 12, 12, 48] + [12] * len(COMPLAINT_CATEGORIES))
    share = [key for key, _zh, _en in ZONE_COLUMNS].index("residential_share") + 1
    for (cell,) in zones.iter_rows(min_row=2, min_col=share, max_col=share):
        cell.number_format = "0.0%"  # 0.1017 shows as 10.2 %, still a number
    about = book.create_sheet("about")
    chosen = report.sites if rows is None else rows
    _write_sheet(about, [header("项目", "Item"), header("值", "Value")],
                 [list(pair) for pair in report.about()]
                 + [["筛选与排序 Filter and sort", describe_query(query, len(chosen), len(report.sites))]],
                 [44, 60], autofilter=False)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


__all__ = ["FIRST_DAY", "LAST_DAY", "SITE_COLUMNS", "SORT_KEYS", "ZONE_COLUMNS", "CheckAll", "SiteRow", "check_all", "parse_day", "select", "sort",
           "describe_query", "status_label", "to_csv", "to_xlsx"]
