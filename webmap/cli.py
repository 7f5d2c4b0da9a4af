"""Command-line tools: ``flask --app webmap layers ...`` and ``flask --app webmap users ...``."""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path

import click
import numpy as np
from flask import current_app
from flask.cli import AppGroup
from werkzeug.security import generate_password_hash

from layers import accounts
from layers import export as exporting
from layers.area import check_districts
from layers.changes import beijing, history_rows
from layers.readers import check_crs, read_file
from layers.registry import REGISTRY, get
from layers.store import Conflict

layers_cli = AppGroup("layers", help="Inspect, check, import, version and export the map's layers.")
users_cli = AppGroup("users", help="Staff accounts.")
LAYER = click.argument("layer_id", metavar="LAYER", type=click.Choice(sorted(REGISTRY)))
CRS = click.option("--crs", default="wgs84", show_default=True,
                   help="Coordinates of the input: wgs84, gcj02 (AMap/Tencent), bd09 (Baidu) or EPSG:NNNN.")
YES = click.option("--yes", is_flag=True, help="Agree in advance to updating or removing the existing features the "
                   "command lists (otherwise it asks, or stops when not run at a terminal).")
ENCODING = click.option("--encoding", default=None, help="Text encoding of the file, e.g. utf-8 or gb18030 (GBK).")


def _store():
    return current_app.extensions["store"]


def _author(author: str | None) -> str:
    return author or os.environ.get("SCENEMAP_AUTHOR") or f"cli:{getpass.getuser()}"


def _summary(layer) -> str:
    counts = {s: sum(1 for p in layer.report.problems if p.severity == s) for s in ("repaired", "warning")}
    return (f"{len(layer)} accepted ({counts['repaired']} repairs, {counts['warning']} warnings), "
            f"{len(layer.refused)} refused")


def _districts():
    """The live district boundaries, for the check that a feature lies in the district it names."""
    catalog = current_app.extensions["catalog"]
    return catalog.get("districts").layer if "districts" in catalog else None


def _check_crs(crs: str) -> str:
    try:
        return check_crs(crs)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--crs") from None


@layers_cli.command("list")
def list_layers():
    """List the live layers with their versions and feature counts."""
    for live in current_app.extensions["catalog"]:
        click.echo(f"{live.kind.id:24} v{live.version:<4} {live.count:8d}  {live.kind.zh} {live.kind.en}")


@layers_cli.command("check")
@LAYER
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@ENCODING
@CRS
def check(layer_id: str, path: Path, encoding: str | None, crs: str):
    """Check PATH as a file of LAYER and print the report; exit 1 when anything in it would be refused."""
    layer = read_file(path, get(layer_id), encoding=encoding, crs=_check_crs(crs))
    check_districts(layer, _districts())
    click.echo(layer.report.text())
    click.echo(f"{len(layer)} features accepted, {len(layer.report.errors)} errors")
    if not layer.report.ok:
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
@click.option("--dry-run", is_flag=True, help="Check and report only; publish nothing.")
@click.option("--repair", is_flag=True, help="Repair invalid geometries (self-intersections) instead of refusing them.")
@click.option("--strict", is_flag=True, help="Publish nothing if any feature is refused.")
@click.option("--author", default=None, help="Name recorded in the history and audit log.")
def import_layer(layer_id, path, crs, encoding, mode, yes, dry_run, repair, strict, author):
    """Import PATH (GeoJSON, CSV with lon/lat, GeoPackage, zipped Shapefile, KML) as a new version of LAYER.

    Accepted features are published as one new version, atomically; refused features are kept in
    quarantine with their reasons. Exit status 1 when nothing was published.
    """
    kind = get(layer_id)
    layer = read_file(path, kind, encoding=encoding, crs=_check_crs(crs), repair=repair)
    check_districts(layer, _districts())
    if layer.report.problems:
        click.echo(layer.report.text())
    click.echo(f"{path.name}: {_summary(layer)}")
    store, who = _store(), _author(author)
    plan = store.plan(layer, mode) if len(layer) else None
    if plan:
        _echo_plan(plan)
    if dry_run:
        click.echo("dry run: nothing published")
        return
    if not len(layer) or (strict and layer.refused):
        why = "no feature was accepted" if not len(layer) else f"{len(layer.refused)} features were refused (--strict)"
        if layer.refused:
            import_id = store.record_refusal(layer, author=who, source=str(path))
            click.echo(f"refused features are in quarantine: "
                       f"flask --app webmap layers quarantine {layer_id} --import-id {import_id} -o refused.geojson")
        click.echo(f"not published: {why}; {layer_id} is unchanged", err=True)
        raise SystemExit(1)
    confirmed = _confirm(plan, yes)
    click.echo(f"publishing {layer_id} ({mode})…")
    try:
        version = store.publish(layer, author=who, mode=mode, source=str(path), confirmed=confirmed)
    except Conflict as exc:
        click.echo(f"not published: {exc}", err=True)
        raise SystemExit(1) from None
    if version.unchanged:
        click.echo(f"nothing changed: {layer_id} version {version.number} stays live")
    else:
        click.echo(f"published {layer_id} version {version.number}: +{version.added} added, ~{version.changed} "
                   f"changed, -{version.removed} removed, {version.total} in all")
    if layer.refused:
        click.echo(f"{len(layer.refused)} refused features are in quarantine: "
                   f"flask --app webmap layers quarantine {layer_id} --import-id {version.import_id} -o refused.geojson")


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
    rows = history_rows(_store(), layer_id)
    live = _store().live_versions().get(layer_id)
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
        plan = _store().rollback_plan(kind, version)
        _echo_plan(plan)
        new = _store().rollback(kind, version, author=_author(author), expected_version=plan.version,
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
    layer = _store().load(get(layer_id), version)
    data, _, _ = exporting.export([(layer.kind, layer, np.arange(len(layer)))], fmt, f"qingdao-{layer_id}")
    output.write_bytes(data)
    click.echo(f"wrote {output} ({len(layer)} features, {fmt})")


@layers_cli.command("quarantine")
@LAYER
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--import-id", type=int, default=None,
              help="Which import (default: the newest that refused features).")
def quarantine(layer_id: str, output: Path, import_id: int | None):
    """Write the features an import refused, with the reasons (property _refused), as GeoJSON."""
    if import_id is None:
        import_id = _store().last_quarantine(layer_id)
    collection = _store().quarantine_collection(layer_id, import_id)
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
    if _store().name_taken(name):
        click.echo(f"a user named {name!r} exists already (names are compared without letter case)", err=True)
        raise SystemExit(1)
    assigned = [i for i in layer_ids.split(",") if i]
    unknown = [i for i in assigned if i not in REGISTRY]
    if unknown:
        click.echo(f"unknown layers {unknown}; known: {', '.join(REGISTRY)}", err=True)
        raise SystemExit(1)
    password = _new_password(name)
    _store().create_user(name, generate_password_hash(password), role, assigned, actor=_author(None))
    click.echo(f"created {role} {name}" + (f" for {', '.join(assigned)}" if assigned else ""))


@users_cli.command("password")
@click.argument("name")
def set_password(name: str):
    """Set NAME's password (from a prompt or standard input); every session of NAME ends."""
    if not _store().user(name):
        click.echo(f"no user named {name!r}", err=True)
        raise SystemExit(1)
    _store().set_password(name, generate_password_hash(_new_password(name)), actor=_author(None))
    click.echo(f"password of {name} changed; their sessions have ended")


def _set_active(name: str, active: bool) -> None:
    if not _store().set_active(name, active, actor=_author(None)):
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
