"""``flask --app webmap planning check``: check every outdoor-dining pilot from the command line (batch work,
scheduled jobs), print a summary or write the check-all table or report as a file. The exit status is 1 when
any site fails a rule (with ``--strict`` also when any cannot be assessed), else 0.

Added to the ``planning`` group of :mod:`webmap.planning.cli`; imported by :mod:`webmap.planning.desk`.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path

import click
from flask import render_template

from layers.planning import reports, tables
from layers.planning.desk import SITES

from ..db import get_desk
from .cli import planning_cli

#: The formats ``-o`` writes, by file suffix.
FORMATS = (".xlsx", ".csv", ".pdf", ".html")


def _date(_ctx, param, value):
    if value is None:
        return None
    try:
        return tables.parse_day(value, param.opts[0])
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None


def _layer(_ctx, param, value):
    if value != SITES:
        raise click.BadParameter(f"只能检查外摆试点图层 {SITES} · only {SITES} is checked against the rules "
                                 f"(the night-economy and 24-hour zones are measured in every report), not {value!r}",
                                 param=param)
    return value


def _output(_ctx, param, value):
    if value is not None and Path(value).suffix.lower() not in FORMATS:
        raise click.BadParameter(f"不支持的文件格式 · unknown output format {Path(value).suffix or '(none)'!r}: "
                                 f"name a file ending in {', '.join(FORMATS)}", param=param)
    return value


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: East Asian wide and fullwidth characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def pad(text: str, width: int) -> str:
    """``text`` padded with spaces to ``width`` terminal columns (str.ljust counts a CJK character as one)."""
    return text + " " * max(width - display_width(text), 0)


def summary(report: tables.CheckAll) -> list[str]:
    """The lines printed without ``-o``: per site its status and the rules it fails or warns on, then counts."""
    run = report.run
    lines = [f"规则集 ruleset v{run.ruleset.version} ({run.ruleset.digest}) · 截至 as of {run.as_of} · "
             f"周 week {run.week} · 数据版本 data {', '.join(f'{k} v{v}' for k, v in report.data.items())}"]
    width = max([display_width(str(row.id)) for row in report.sites] + [4])
    status_width = max([display_width(tables.status_label(row.status)) for row in report.sites] + [4])
    for row in report.sites:
        failing = [f"{v.rule_id}:{v.status}" for v in row.result.verdicts if v.status != "pass"]
        lines.append(f"{pad(str(row.id), width)}  {pad(tables.status_label(row.status), status_width)}  {row.name}  "
                     f"{' '.join(failing) or '-'}")
    counts = run.counts()
    lines.append("合计 total: " + ", ".join(f"{tables.status_label(s)} {n}" for s, n in counts.items()))
    return lines


def write(report: tables.CheckAll, path: Path) -> None:
    """Write the check in the format ``path``'s suffix names (the district summary for .pdf/.html)."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        path.write_bytes(tables.to_xlsx(report))
    elif suffix == ".csv":
        path.write_bytes(tables.to_csv(report))
    else:
        desk = get_desk()
        png = reports.district_map(report.sites, report, desk.layer("districts"), None)
        html = render_template("planning/desk_report_district.html", report=report, rows=report.sites,
                               district=None, map_uri=reports.data_uri(png), statuses=reports.STATUSES, links={})
        path.write_bytes(reports.pdf(html) if suffix == ".pdf" else html.encode("utf-8"))


@planning_cli.command("check")
@click.option("--layer", default=SITES, show_default=True, callback=_layer,
              help="The layer to check (only outdoor_dining_pilots).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), callback=_output,
              help="Write the result to FILE: .xlsx, .csv, .pdf or .html (by the suffix).")
@click.option("--as-of", callback=_date, help="Count complaints back from this day (YYYY-MM-DD; default today).")
@click.option("--week", callback=_date, help="Read opening hours over the week of this day (default: of --as-of).")
@click.option("--strict", is_flag=True, help="Exit 1 also when a site cannot be assessed (missing data).")
def check(layer: str, output: str | None, as_of: dt.date | None, week: dt.date | None, strict: bool):
    """Check every outdoor-dining pilot against the live ruleset; exit 1 when any fails."""
    report = tables.check_all(get_desk(), as_of=as_of, week=week)
    if output:
        write(report, Path(output))
        click.echo(f"已写入 written: {output} ({len(report.sites)} 个外摆点 sites)")
        click.echo(summary(report)[-1])
    else:
        for line in summary(report):
            click.echo(line)
    counts = report.run.counts()
    if counts["fail"] or (strict and counts["cannot_assess"]):
        raise SystemExit(1)
