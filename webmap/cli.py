"""Command-line tools: ``flask --app webmap layers check|list``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from layers.load import read_layer
from layers.registry import REGISTRY, get

layers_cli = AppGroup("layers", help="Inspect and check the map's layers.")


@layers_cli.command("list")
def list_layers():
    """List the live layers with their feature counts."""
    for live in current_app.extensions["catalog"]:
        click.echo(f"{live.kind.id:24} {live.count:6d}  {live.kind.zh} {live.kind.en}")


@layers_cli.command("check")
@click.argument("layer_id", type=click.Choice(sorted(REGISTRY)))
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--encoding", default="utf-8", show_default=True, help="Text encoding of the file, e.g. gb18030.")
@click.option("--crs", type=click.Choice(["wgs84", "gcj02", "bd09"]), default="wgs84", show_default=True)
def check(layer_id: str, path: Path, encoding: str, crs: str):
    """Check PATH as a file of LAYER_ID and print the report; exit 1 when it would be refused."""
    layer = read_layer(path, get(layer_id), encoding=encoding, crs=crs)
    click.echo(layer.report.text())
    click.echo(f"{len(layer)} features accepted, {len(layer.report.errors)} errors")
    if not layer.report.ok:
        raise SystemExit(1)


def init_app(app):
    app.cli.add_command(layers_cli)
