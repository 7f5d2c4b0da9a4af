"""``flask --app webmap planning ...``: the planning desk for batch work (checks, reports, the ruleset)."""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path
from typing import NoReturn

import click
from flask.cli import AppGroup

from layers.changes import beijing
from layers.planning.desk import RULESET, Conflict, RulesetError, load_ruleset, restore_ruleset, save_ruleset
from layers.planning.rules import Ruleset

from ..db import get_store
from . import rules_form as words

planning_cli = AppGroup("planning", help="The planning desk: check outdoor-dining sites, reports, the ruleset.")


# --- flask --app webmap planning rules ... ---------------------------------------------------------------

rules_cli = AppGroup("rules", help="The planning ruleset: show, history, set, restore, export (versioned, audited).")
planning_cli.add_command(rules_cli)


def _author(author: str | None) -> str:
    return author or os.environ.get("SCENEMAP_AUTHOR") or f"cli:{getpass.getuser()}"


def _fail(lines) -> NoReturn:
    for line in [lines] if isinstance(lines, str) else lines:
        click.echo(line, err=True)
    raise SystemExit(1)


def _load(number: int | None = None) -> Ruleset:
    try:
        return load_ruleset(get_store(), number)
    except KeyError:
        _fail(f"规则没有第 {number} 版 · the ruleset has no version {number} (see: planning rules history)")


def _confirm(question: str, yes: bool) -> None:
    """--yes, or asked at a terminal; in a script without --yes nothing is saved."""
    if yes or (sys.stdin.isatty() and click.confirm(question)):
        return
    _fail("未保存：请确认上面的改动，或加 --yes · not saved: agree to the changes above, or run again with --yes")


@rules_cli.command("show")
@click.option("--version", "number", type=click.IntRange(min=0), default=None,
              help="An earlier version (0: the shipped default). Default: the live one.")
@click.option("--json", "as_json", is_flag=True, help="The ruleset's JSON (what `rules set` reads).")
def rules_show(number: int | None, as_json: bool):
    """The live ruleset (or version N): each rule with its severity, parameters in words and rationale."""
    ruleset = _load(number)
    if as_json:
        click.echo(ruleset.to_json(), nl=False)
        return
    document = get_store().documents.get(RULESET, ruleset.version) if ruleset.version else None
    live = load_ruleset(get_store()).version
    click.echo(f"规则第 {ruleset.version} 版 ruleset version {ruleset.version}"
               f"{' (现行 live)' if ruleset.version == live else f' (现行第 {live} 版 live: {live})'}  "
               f"digest {ruleset.digest}")
    if document is None:
        click.echo("出厂默认 · the shipped default")
    else:
        click.echo(f"saved by {document.author} at {beijing(document.created_at)} (北京时间)"
                   + (f": {document.message}" if document.message else ""))
    for rule in ruleset:
        click.echo("")
        click.echo(f"{rule.id}  [{words.severity_words(rule.severity)}]  {rule.title}")
        click.echo(f"    类型 kind: {words.kind_words(rule.kind)}")
        click.echo(f"    {words.describe(rule)}")
        if rule.rationale_zh:
            click.echo(f"    依据: {rule.rationale_zh}")
        if rule.rationale_en:
            click.echo(f"    Rationale: {rule.rationale_en}")


@rules_cli.command("history")
def rules_history():
    """Every version of the ruleset: number, author, time (北京时间), message, what it restored."""
    rows = get_store().documents.history(RULESET)
    live = rows[-1]["number"] if rows else 0
    click.echo("times are 北京时间 (Beijing, UTC+8)")
    click.echo(f"{'*' if live == 0 else ' '} v0    {'':19}  {'':20} 出厂默认 · the shipped default ruleset")
    for row in rows:
        restored = f"  (restores v{row['restored_from']})" if row["restored_from"] is not None else ""
        click.echo(f"{'*' if row['number'] == live else ' '} v{row['number']:<4} {beijing(row['created_at'])}  "
                   f"{row['author']:20} {row['message']}{restored}")


@rules_cli.command("export")
def rules_export():
    """The live ruleset's JSON on stdout (edit it, then `rules set FILE`)."""
    click.echo(load_ruleset(get_store()).to_json(), nl=False)


@rules_cli.command("set")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--message", "-m", default="", help="Why: recorded in the history and the audit log.")
@click.option("--author", default=None, help="Name recorded in the history and audit log.")
@click.option("--yes", is_flag=True, help="Agree in advance to the changes it prints (otherwise it asks, or stops "
                                          "when not run at a terminal).")
def rules_set(path: Path, message: str, author: str | None, yes: bool):
    """Save the ruleset in PATH (JSON, as `rules export` writes it) as the next version: it prints what changes
    first. A ruleset with problems is refused with every field named (exit 1), the live one untouched.

    A file that says its version (an export) must be of the live version: one exported before someone
    else's save is refused, as the page refuses a stale form."""
    try:
        text = path.read_bytes()
    except OSError as exc:
        _fail(f"无法读取 · cannot read {path.name}: {exc.strerror}")
    try:
        proposal = Ruleset.from_json(text)
    except RulesetError as exc:
        _fail([f"未保存：{path.name} 有 {len(exc.problems)} 处问题，现行规则未改变 · not saved: {len(exc.problems)} "
               "problems, the live ruleset is unchanged", *(f"  {where}: {why}" for where, why in exc.problems)])
    live = load_ruleset(get_store())
    declared = json.loads(text).get("version")  # (it parsed above) None: a hand-written file; 0: the default's
    if declared is not None and proposal.version != live.version:
        _fail(f"未保存：文件基于第 {proposal.version} 版，现行为第 {live.version} 版；请重新导出后再改 · not saved: the file "
              f"was exported from version {proposal.version}, the live ruleset is version {live.version}: export it "
              "again and make your change there (or set its \"version\" to the live one)")
    lines = words.difference_lines(live, proposal)
    click.echo(f"第 {live.version} 版 → 新版本 · version {live.version} → a new version:")
    for line in lines:
        click.echo(f"  {line}")
    if words.differences(live, proposal)["empty"]:
        _fail(f"未保存：与现行第 {live.version} 版相同 · not saved: the same as the live version {live.version}")
    _confirm("保存这些改动？ save these changes?", yes)
    try:
        saved = save_ruleset(get_store(), text, author=_author(author), message=message,
                             expected_version=live.version)
    except Conflict as exc:
        _fail(f"未保存 not saved: {exc}")
    except RulesetError as exc:
        _fail([f"  {where}: {why}" for where, why in exc.problems])
    click.echo(f"已保存规则第 {saved.version} 版 · saved ruleset version {saved.version} (digest {saved.digest})")


@rules_cli.command("restore")
@click.argument("number", type=click.IntRange(min=0))
@click.option("--author", default=None, help="Name recorded in the history and audit log.")
@click.option("--yes", is_flag=True, help="Agree in advance to the changes it prints.")
def rules_restore(number: int, author: str | None, yes: bool):
    """Make version NUMBER (0: the shipped default) live again, as a new version; it prints what changes first."""
    old, live = _load(number), load_ruleset(get_store())
    diff = words.differences(live, old)
    click.echo(f"第 {live.version} 版 → 第 {number} 版的规则 · version {live.version} → the rules of version {number}:")
    for line in words.difference_lines(live, old):
        click.echo(f"  {line}")
    if diff["empty"]:
        _fail(f"未恢复：第 {number} 版与现行版本相同 · not restored: version {number} is the same as the live one")
    _confirm(f"恢复第 {number} 版？ restore version {number}?", yes)
    try:
        new = restore_ruleset(get_store(), number, author=_author(author), expected_version=live.version)
    except Conflict as exc:
        _fail(f"未恢复 not restored: {exc}")
    click.echo(f"已恢复第 {number} 版，现为第 {new.version} 版 · restored version {number} as version {new.version}")
