"""The station commands: demo stations, the nearest stations from a point, and the import and
export of station files."""

from __future__ import annotations

import getpass
import json
from datetime import datetime
from pathlib import Path

import click

from geo import AMENITIES, DATUMS, KINDS, MODES
from web.cli import main
from web.cli.common import (
    SHANGHAI,
    EngineChoice,
    EngineDefault,
    open_atlas,
    show_progress,
    station_store,
)


@main.command("demo")
@click.option("--region", "region_id", required=True, help="Region id.")
def demo(region_id: str) -> None:
    """Give a demo region its demo stations if it has none."""
    from geo import RegionError

    atlas = open_atlas()
    try:
        added = atlas.seed_demo_stations(region_id, progress=show_progress)
    except RegionError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{len(added)} demo stations added to {region_id}" if added
               else f"{region_id} already has stations (or is not a demo region)")


@main.command("nearest")
@click.option("--region", "region_id", required=True, help="Region id.")
@click.option("--lat", type=float, required=True, help="Latitude of the worker.")
@click.option("--lon", type=float, required=True, help="Longitude of the worker.")
@click.option("--mode", type=click.Choice(MODES), default="walk", show_default=True)
@click.option("--datum", type=click.Choice(["wgs84", "gcj02", "bd09"]), default="wgs84",
              show_default=True, help="Datum of --lat/--lon (Amap: gcj02, Baidu: bd09).")
@click.option("-k", "--limit", "k", type=click.IntRange(1, 50), default=3, show_default=True,
              help="How many stations.")
@click.option("--amenity", "amenities", multiple=True, type=click.Choice(list(AMENITIES)),
              help="Required amenity (repeatable).")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(list(KINDS)),
              help="Acceptable station kind (repeatable).")
@click.option("--open-now", is_flag=True, help="Only stations open now (Asia/Shanghai).")
@click.option("--json", "as_json", is_flag=True, help="Print GeoJSON.")
def nearest(region_id: str, lat: float, lon: float, mode: str, datum: str, k: int,
            amenities: tuple[str, ...], kinds: tuple[str, ...], open_now: bool,
            as_json: bool) -> None:
    """Find the nearest open stations by travel time from a point."""
    from geo import RegionError, StationFilter, answer_geojson, to_wgs84

    atlas = open_atlas()
    try:
        target = atlas.region(region_id)
        lon84, lat84 = to_wgs84(lon, lat, datum)
        atlas.seed_demo_stations(region_id, progress=show_progress)
        filters = StationFilter(
            kinds=frozenset(kinds), amenities=frozenset(amenities),
            open_at=datetime.now(SHANGHAI).replace(tzinfo=None) if open_now else None,
        )
        answer = atlas.nearest(region_id, (lon84, lat84), mode, k=k, filters=filters,
                               progress=show_progress)
    except (RegionError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(json.dumps(answer_geojson(answer, target.attribution), ensure_ascii=False))
        return
    walk = f", {answer.snap.walk_s / 60:.1f} min on foot" if answer.snap.walk_s else ""
    click.echo(f"{target.name} · {mode} · joined the nearest street {answer.snap.distance_m:.0f} m "
               f"from the point{walk}")
    if not answer.hits:
        click.echo("no matching open station is reachable")
    for rank, hit in enumerate(answer.hits, start=1):
        s = hit.station
        tag = " [demo data]" if s.demo else ""
        click.echo(f"{rank}. {s.name}{tag}")
        click.echo(f"   {hit.time_s / 60:.1f} min, {hit.distance_m:.0f} m · {KINDS[s.kind][1]}"
                   f" · hours: {s.opening_hours or 'unknown'}")
        if s.address or s.host:
            click.echo(f"   {s.address} {s.host}".rstrip())
    click.echo(target.attribution)


def _write_template(ctx: click.Context, _param: click.Parameter, path: Path | None) -> None:
    """Write the Excel import template (in Chinese) to a file and stop."""
    if path is None or ctx.resilient_parsing:
        return
    from geo import station_template

    path.write_bytes(station_template("zh"))
    click.echo(f"wrote the import template to {path}")
    ctx.exit()


@main.command("import")
@click.option("--template", type=click.Path(dir_okay=False, path_type=Path), is_eager=True,
              expose_value=False, callback=_write_template,
              help="Write the Excel template (an example row, and a sheet explaining every "
                   "column and its accepted values) to this file, and stop.")
@click.option("--region", "region_id", required=True, help="Region id.")
@click.argument("station_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--datum", type=click.Choice(DATUMS), default="wgs84", show_default=True,
              help="Datum of rows that name none (Amap: gcj02, Baidu: bd09).")
@click.option("--sheet", default=None, help="The Excel sheet to read (default: the first).")
@click.option("--dry-run", is_flag=True, help="Only check the file; store nothing.")
@click.option("--max-problems", type=click.IntRange(min=1), cls=EngineDefault,
              constant=("geo", "IMPORT_PROBLEM_LIMIT"), show_default=True,
              help="List at most this many problems; count the rest.")
@click.option("--as", "actor", default=None,
              help="Who imports, for the history (default: cli:<login name>).")
def import_stations(region_id: str, station_file: Path, datum: str, sheet: str | None,
                    dry_run: bool, max_problems: int, actor: str | None) -> None:
    """Add the stations of a CSV, Excel (.xlsx) or GeoJSON file to a region: every row or none.

    Headers and values may be Chinese or English (CSV in UTF-8 or GBK); title rows above the
    header are skipped; opening hours written in words ("周一至周五 8:30-17:30", "24小时")
    are read as OSM opening_hours and listed for checking. Bad rows are listed with their line,
    column and reason (the first --max-problems problems, then how many more there are), and
    then nothing is stored.
    """
    from geo import RecordsError, RegionError, StationInvalid

    atlas = open_atlas()
    try:
        with open(station_file, "rb") as file:
            plan = atlas.plan_import(region_id, file, station_file.name, datum, max_problems,
                                     progress=show_progress, sheet=sheet)
    except (RegionError, RecordsError) as error:
        raise click.ClickException(str(error)) from error
    for problem in plan.problems:
        click.echo(f"line {problem.line}, {problem.field}: {problem.message}", err=True)
    for read in plan.hours_read:
        click.echo(f"line {read.line}, opening_hours: {read.written!r} read as {read.hours!r}")
    if plan.more_problems:
        click.echo(f"… and {plan.more_problems:,} more problems (--max-problems lists more)",
                   err=True)
    updates = [s.id for s in plan.updates]
    if updates:
        click.echo(f"{len(updates)} rows carry the id of a stored station "
                   f"({', '.join(map(str, updates))}): an import only adds new stations; "
                   "remove the id column or change those stations one by one", err=True)
    click.echo(f"{plan.rows} rows: {len(plan.stations)} good, "
               f"{plan.rows - len(plan.stations)} with problems")
    if not plan.importable:
        raise click.ClickException("nothing was imported")
    if dry_run:
        click.echo("dry run: nothing was stored")
        return
    try:
        added = atlas.apply_import(plan, actor or f"cli:{getpass.getuser()}")
    except StationInvalid as error:
        raise click.ClickException(f"nothing was imported: {error}") from error
    click.echo(f"imported {len(added)} stations into {region_id}")


@main.command("export")
@click.option("--region", "region_id", required=True, help="Region id.")
@click.option("--format", "fmt", type=EngineChoice("geo", "EXPORT_FORMATS"), default="csv",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The file to write.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of CSV and Excel headers and values (en: column and term ids).")
def export(region_id: str, fmt: str, output: Path, lang: str) -> None:
    """Write a region's stations (deleted ones left out) to a file, with the attribution."""
    from geo import RegionError, export_stations, get_region

    try:
        target = get_region(region_id)
    except RegionError as error:
        raise click.ClickException(str(error)) from error
    stations = station_store().list(region=region_id)
    output.write_bytes(export_stations(stations, fmt, target.attribution, lang))
    click.echo(f"wrote {len(stations)} stations to {output}")
