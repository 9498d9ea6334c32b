"""The ``yizhan`` command: regions, networks, nearest-station queries, demo data, station
import and export, staff accounts and the server."""

from __future__ import annotations

import functools
import getpass
import importlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task,
                           TextColumn, TimeElapsedColumn, TimeRemainingColumn)
from rich.text import Text

from geo.accounts import MAX_TOKEN_DAYS, ROLES, TOKEN_DAYS, AccountError, AccountStore
from geo.coords import DATUMS
from geo.groups import GROUPS
from geo.modes import MODES
from geo.stations import AMENITIES, KINDS, Station

if TYPE_CHECKING:
    from geo.atlas import Atlas
    from geo.store import StationStore
    from geo.network import Network
    from geo.recommend import Recommendation
    from geo.regions import Region

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _stations() -> StationStore:
    """The station store of the configured database (``DATABASE_URL``)."""
    from geo.database import Database, default_store_url
    from geo.store import StationStore

    return StationStore(Database(default_store_url()))


class _EngineChoice(click.Choice):
    """A choice among the names of a vocabulary of an engine module, imported when the option
    is first checked or its help shown: `yizhan --help` and the light commands do not load
    the engine's numerical libraries."""

    def __init__(self, module: str, name: str) -> None:
        self._vocabulary = (module, name)
        self.case_sensitive = True

    @functools.cached_property
    def choices(self) -> tuple[str, ...]:
        """The vocabulary's names."""
        module, name = self._vocabulary
        return tuple(getattr(importlib.import_module(module), name))


class _EngineDefault(click.Option):
    """An option whose default is a constant of an engine module, imported when the command
    runs or its help is shown."""

    def __init__(self, *args, constant: tuple[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._constant = constant

    def get_default(self, ctx: click.Context, call: bool = True) -> object:
        """The constant."""
        module, name = self._constant
        return getattr(importlib.import_module(module), name)


def _atlas() -> Atlas:
    """The atlas over the configured store."""
    from geo.atlas import Atlas

    return Atlas(_stations())


class _RateColumn(ProgressColumn):
    """How many units of a stage are done per second."""

    def render(self, task: Task) -> Text:
        """The rate, once there is one."""
        return Text(f"{task.speed:,.0f}/s" if task.speed else "", style="progress.data.speed")


def _progress(stage: str, done: int, total: int | None) -> None:
    """Draw a long operation's stages as progress bars on standard error (a
    :class:`geo.progress.Progress`); the bars live as long as the running command."""
    context = click.get_current_context()
    bars = context.meta.get("yizhan.progress")
    if bars is None:
        bars = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), _RateColumn(),
            TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        bars.start()
        context.meta["yizhan.progress"] = bars
        context.call_on_close(bars.stop)
    task = next((t.id for t in bars.tasks if t.description == stage), None)
    if task is None:
        task = bars.add_task(stage, total=total)
    bars.update(task, completed=done, total=total)


def _dropped_streets(net: Network) -> str:
    """What the build dropped outside the kept part of a network, by road class."""
    if not net.dropped_km:
        return "nothing dropped"
    classes = sorted(net.dropped_km.items(), key=lambda item: -item[1])
    by_class = ", ".join(f"{highway} {km:.2f} km" for highway, km in classes)
    return (f"dropped {net.dropped_nodes} nodes, {sum(net.dropped_km.values()):.2f} km outside "
            f"the largest strongly connected part ({by_class})")


@click.group()
def main() -> None:
    """Yizhan (驿站): find, plan and keep worker rest stations on real street networks."""


@main.group()
def region() -> None:
    """List, add and remove regions, and the boundaries in an OSM file."""


@region.command("list")
def region_list() -> None:
    """Show the configured regions."""
    from geo.regions import list_regions

    for r in list_regions():
        flags = " (default)" if r.default else ""
        kind = "demo" if r.demo else "added"
        click.echo(f"{r.id:<12} {r.name} {r.name_en}".rstrip() + f"{flags}")
        clipped = f", clipped to {r.boundary_file.name}" if r.boundary_file else ""
        click.echo(f"{'':<12} {kind}; modes: {', '.join(r.modes)}; source: {r.source.name}"
                   f"{clipped}")


def _modes(context, parameter, value: str) -> tuple[str, ...]:
    """Read a comma-separated list of travel modes."""
    modes = tuple(dict.fromkeys(m.strip() for m in value.split(",") if m.strip()))
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise click.BadParameter(f"{value!r}: give one or more of {', '.join(MODES)}, "
                                 "separated by commas")
    return modes


@region.command("add")
@click.argument("name")
@click.option("--osm", "osm_file", required=True, type=click.Path(path_type=Path),
              help="An .osm, .osm.xml, .osm.bz2 or .osm.pbf file.")
@click.option("--title", default=None, help="Display name (defaults to NAME).")
@click.option("--modes", default=",".join(MODES), show_default=True, callback=_modes,
              help="Travel modes to build, separated by commas.")
@click.option("--boundary", default=None,
              help="Keep only this administrative boundary of the file: its name, name:zh, "
                   "name:en or relation id (see `yizhan region boundaries`).")
@click.option("--bbox", default=None, help="Keep only this box: W,S,E,N in WGS-84 degrees.")
@click.option("--polygon", "polygon_file", default=None, type=click.Path(path_type=Path),
              help="Keep only this GeoJSON Polygon or MultiPolygon (WGS-84).")
def region_add(name: str, osm_file: Path, title: str | None, modes: tuple[str, ...],
               boundary: str | None, bbox: str | None, polygon_file: Path | None) -> None:
    """Add region NAME from an OSM file, or from the part of it inside a boundary, box or
    polygon, building its networks.

    Stations stored under NAME (from a region NAME removed before) belong to it again; those
    outside its area are listed.
    """
    from geo.clip import (ClipError, find_boundary, osmium_tool, parse_bbox,
                          read_polygon_file)
    from geo.osm import OsmSourceError
    from geo.regions import RegionError, add_region, load_networks

    if sum(x is not None for x in (boundary, bbox, polygon_file)) > 1:
        raise click.UsageError("give at most one of --boundary, --bbox and --polygon")
    try:
        if boundary is not None or bbox is not None or polygon_file is not None:
            osmium_tool()  # before reading a province's boundaries to no end
        area = (find_boundary(osm_file, boundary).geometry if boundary is not None
                else parse_bbox(bbox) if bbox is not None
                else read_polygon_file(polygon_file) if polygon_file is not None else None)
        added = add_region(name, osm_file, name=title, modes=modes, area=area,
                           progress=_progress)
    except (RegionError, ClipError, OsmSourceError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"added region {added.id}: {added.source.parent}")
    for mode, net in load_networks(added).items():
        click.echo(f"{mode:<6} {_dropped_streets(net)}")
    stations = _stations().list(region=added.id)
    if stations:
        outside = _outside(added, stations)
        click.echo(f"{len(stations)} stored stations of {added.id} belong to it again")
        if outside:
            click.echo(f"{len(outside)} of them lie outside its area (kept; move or delete "
                       "them on the staff pages):")
            for station in outside:
                click.echo(f"  {station.id}  {station.name}  {station.lon:.6f},{station.lat:.6f}")


def _outside(target: Region, stations: list[Station]) -> list[Station]:
    """The stations outside a region's boundary, or outside its streets' bounds if it has no
    boundary."""
    import shapely
    from shapely.geometry import box

    area = target.boundary
    if area is None:
        area = box(*_atlas().index(target.id, progress=_progress).bounds)
    inside = shapely.intersects_xy(area, [s.lon for s in stations], [s.lat for s in stations])
    return [s for s, keep in zip(stations, inside, strict=True) if not keep]


@region.command("remove")
@click.argument("name")
def region_remove(name: str) -> None:
    """Remove the added region NAME and its cached networks; its stations stay stored and
    belong to a region NAME added again."""
    from geo.regions import RegionError, remove_region

    try:
        removed = remove_region(name)
    except RegionError as error:
        raise click.ClickException(str(error)) from error
    kept = len(_stations().list(region=removed.id))
    click.echo(f"removed region {removed.id}; its {kept} stations stay stored for a region "
               f"{removed.id} added again")


@region.command("boundaries")
@click.argument("osm_file", type=click.Path(path_type=Path))
@click.option("--level", type=click.IntRange(1, 12), default=None,
              help="Only boundaries of this admin_level (4 province, 5-6 city, 7 county).")
def region_boundaries(osm_file: Path, level: int | None) -> None:
    """List the administrative boundaries in an OSM file, to pick one for `region add
    --boundary`."""
    from geo.clip import ClipError, read_boundaries

    try:
        found = read_boundaries(osm_file, level)
    except ClipError as error:
        raise click.ClickException(str(error)) from error
    if not found:
        click.echo(f"{osm_file}: no administrative boundary"
                   + (f" of admin_level {level}" if level is not None else ""))
        return
    click.echo(f"{'relation':>12} {'level':>5} {'km²':>10}  name / name:zh / name:en")
    for b in found:
        area = f"{b.area_km2:10,.2f}" if b.geometry is not None else f"{'-':>10}"
        names = " / ".join(n or "-" for n in (b.name, b.name_zh, b.name_en))
        note = f"  (cannot be used: {b.problem})" if b.problem else ""
        click.echo(f"{b.id:>12} {b.admin_level or '-':>5} {area}  {names}{note}")


@main.command("build")
@click.option("--region", "region_id", required=True, help="Region id.")
def build(region_id: str) -> None:
    """Build (or load from the cache) every network of a region and report its size."""
    from geo.regions import RegionError, get_region, load_networks

    try:
        target = get_region(region_id)
    except RegionError as error:
        raise click.ClickException(str(error)) from error
    networks = load_networks(target, progress=_progress)
    for mode, net in networks.items():
        click.echo(f"{mode:<6} {net.n_nodes:>8} nodes {net.n_edges:>8} edges "
                   f"{net.length_m.sum() / 1000:>9.1f} km  {_dropped_streets(net)}")


@main.command("demo")
@click.option("--region", "region_id", required=True, help="Region id.")
def demo(region_id: str) -> None:
    """Give a demo region its demo stations if it has none."""
    from geo.regions import RegionError

    atlas = _atlas()
    try:
        added = atlas.seed_demo_stations(region_id, progress=_progress)
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
    from geo.coords import to_wgs84
    from geo.geojson import answer_geojson
    from geo.index import StationFilter
    from geo.regions import RegionError, get_region

    atlas = _atlas()
    try:
        target = get_region(region_id)
        lon84, lat84 = to_wgs84(lon, lat, datum)
        atlas.seed_demo_stations(region_id, progress=_progress)
        filters = StationFilter(
            kinds=frozenset(kinds), amenities=frozenset(amenities),
            open_at=datetime.now(SHANGHAI).replace(tzinfo=None) if open_now else None,
        )
        answer = atlas.nearest(region_id, (lon84, lat84), mode, k=k, filters=filters,
                               progress=_progress)
    except (RegionError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(json.dumps(answer_geojson(answer, target.attribution), ensure_ascii=False))
        return
    click.echo(f"{target.name} · {mode} · joined the network {answer.snap.distance_m:.0f} m "
               "from the point")
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


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=None, type=click.IntRange(min=1),
              help="worker processes  [default: one per CPU]")
@click.option("--threads", cls=_EngineDefault, constant=("web.serve", "THREADS"),
              show_default=True, type=int,
              help="request threads of each worker process")
@click.option("--trusted-proxy", default=None, metavar="ADDRESS",
              help="the reverse proxy in front; its X-Forwarded-For names the client")
def serve(host: str, port: int, workers: int | None, threads: int,
          trusted_proxy: str | None) -> None:
    """Run the web app under the gunicorn production server, in worker processes.

    Every region's index is loaded before the workers start, so they share its memory (see
    :mod:`web.serve`). Heavy requests wait in the request threads for their process's job
    pool, so ``--threads`` must exceed the pool's workers and queue; behind a reverse proxy,
    name it with ``--trusted-proxy`` so that each client, not the proxy, gets its own job and
    rate of heavy requests.
    """
    from web import create_app
    from web.serve import Server, behind_proxy, default_workers, server_options, warm

    try:
        app = create_app()
    except ValueError as error:  # a setting in the environment that is not a number
        raise click.ClickException(str(error)) from error
    pool = app.config["JOB_WORKERS"] + app.config["JOB_QUEUE"]
    if threads <= pool:
        raise click.BadParameter(f"must exceed the job pool's workers and queue ({pool}), so "
                                 "that worker queries never wait behind heavy ones",
                                 param_hint="--threads")
    warm(app)
    options = server_options(host, port, workers or default_workers(), threads, trusted_proxy)
    click.echo(f"Yizhan on http://{host}:{port}/ ({options['workers']} worker processes)")
    Server(behind_proxy(app, trusted_proxy) if trusted_proxy else app, options).run()


def _planning_options(command):
    """The region, worker group and threshold options of the planner's commands."""
    for option in reversed((
        click.option("--region", "region_id", required=True, help="Region id."),
        click.option("--group", "group_id", type=click.Choice(list(GROUPS)), default="street",
                     show_default=True, help="Worker group."),
        click.option("--threshold", type=click.FloatRange(0.5, 120), default=None,
                     help="Travel-time threshold in minutes (the group's default if not "
                          "given)."),
    )):
        command = option(command)
    return command


@main.command("coverage")
@_planning_options
@click.option("--demand", "demand_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="A demand layer replacing the OSM one: GeoJSON, GeoPackage or "
                                 "CSV (lon, lat) with a 'weight' column.")
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write gaps, service areas and uncovered streets (GeoJSON and GeoPackage), "
                   "cell statistics (CSV) and the coverage curve (PNG and CSV) to this folder.")
def coverage(region_id: str, group_id: str, threshold: float | None, demand_file: Path | None,
             as_json: bool, out_dir: Path | None) -> None:
    """How much of a worker group's demand reaches an open station within a threshold."""
    from geo.export import write_coverage_files
    from geo.regions import RegionError, get_region

    atlas = _atlas()
    try:
        target = get_region(region_id)
        atlas.seed_demo_stations(region_id, progress=_progress)
        atlas.index(region_id, progress=_progress)
        layer = None if demand_file is None else atlas.demand(region_id, group_id, demand_file)
        analysis = atlas.coverage(region_id, group_id, threshold, geometry=out_dir is not None,
                                  demand=layer)
    except (RegionError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    numbers = {"region": region_id, "group": group_id, "mode": analysis.group.mode,
               **analysis.report.as_dict(), "demand_unit": analysis.demand.unit,
               "demand_unplaced": analysis.demand.unplaced,
               "attribution": target.attribution}
    if out_dir is not None:
        numbers["files"] = [str(p) for p in write_coverage_files(analysis, out_dir,
                                                                  target.attribution)]
    if as_json:
        click.echo(json.dumps(numbers, ensure_ascii=False))
        return
    r = analysis.report
    click.echo(f"{target.name} · {analysis.group.label_en} ({analysis.group.mode}) · "
               f"{r.threshold_min:g} min · {r.stations} open stations")
    click.echo(f"  demand covered        {r.covered_share:7.1%}  "
               f"({r.covered_demand:,.0f} of {r.demand_total:,.0f} {analysis.demand.unit})")
    click.echo(f"  covered by 2 or more  {r.double_covered_share:7.1%}")
    click.echo(f"  street covered        {r.covered_street_m / 1000:7.1f} km of "
               f"{r.total_street_m / 1000:.1f} km")
    click.echo(f"  travel time           mean {r.mean_time_min:.1f}, median "
               f"{r.median_time_min:.1f}, 90th percentile {r.p90_time_min:.1f} min")
    for path in numbers.get("files", []):
        click.echo(f"  wrote {path}")
    click.echo(target.attribution)


@main.command("recommend")
@_planning_options
@click.option("--problem", type=_EngineChoice("geo.recommend", "PROBLEMS"), default="mclp", show_default=True,
              help="mclp: k sites covering the most demand; lscp: fewest sites reaching "
                   "--target; pmedian: k sites minimising mean travel time; backup: k sites "
                   "covering the most demand twice.")
@click.option("--k", "k", type=int, default=None, help="How many new sites (not for lscp).")
@click.option("--target", type=float, default=None,
              help="lscp: share of all demand to cover, e.g. 0.95.")
@click.option("--candidates", "source", default="sites", show_default=True,
              help="'sites' (host-like places and convenience stores in the OSM data), "
                   "'nodes' (every street node) or a CSV / GeoJSON file of candidate points.")
@click.option("--min-distance", type=click.FloatRange(0, 100_000), default=50.0,
              show_default=True, help="Candidates at least this far (m) from an open station.")
@click.option("--exclude", "exclude_file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="GeoJSON polygon(s) where no new station may go.")
@click.option("--category", "categories", multiple=True,
              type=_EngineChoice("geo.candidates", "CANDIDATE_CATEGORIES"),
              help="Allow only these candidate categories (repeatable).")
@click.option("--time-limit", type=click.FloatRange(0.1, 3600), default=10.0, show_default=True,
              help="Solver time limit in seconds (the curve gets as much again).")
@click.option("--no-curve", is_flag=True, help="Skip the curve of coverage against k.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the sites to a .csv or .geojson file.")
def recommend(region_id: str, group_id: str, threshold: float | None, problem: str,
              k: int | None, target: float | None, source: str, min_distance: float,
              exclude_file: Path | None, categories: tuple[str, ...], time_limit: float,
              no_curve: bool, as_json: bool, out_file: Path | None) -> None:
    """Recommend where to build new stations for a worker group."""
    from geo.candidates import CandidateError, CandidateRules, parse_excluded_area
    from geo.export import recommendation_csv, recommendation_geojson
    from geo.recommend import RecommendError
    from geo.regions import RegionError, get_region

    if problem != "lscp" and (k is None or k < 1):
        raise click.UsageError("--k must be a whole number of new sites, at least 1")
    if problem == "lscp" and (target is None or not 0 < target <= 1):
        raise click.UsageError("--target must be a share above 0 and at most 1 for lscp")
    if out_file is not None and out_file.suffix.lower() not in (".csv", ".geojson", ".json"):
        raise click.UsageError("--out must name a .csv or .geojson file")
    atlas = _atlas()
    try:
        region = get_region(region_id)
        atlas.seed_demo_stations(region_id, progress=_progress)
        atlas.index(region_id, progress=_progress)
        rules = CandidateRules(
            min_distance_m=min_distance,
            excluded=parse_excluded_area(exclude_file) if exclude_file else None,
            categories=frozenset(categories) or None)
        found = atlas.recommend(region_id, group_id, problem, k=k, target_share=target,
                                threshold_min=threshold,
                                source=source if source in ("sites", "nodes") else Path(source),
                                rules=rules, time_limit_s=time_limit, curve=not no_curve)
    except (RegionError, CandidateError, RecommendError) as error:
        raise click.ClickException(str(error)) from error
    if out_file is not None:
        text = (recommendation_csv(found, region.attribution)
                if out_file.suffix.lower() == ".csv"
                else recommendation_geojson(found, region.attribution))
        out_file.write_text(text, encoding="utf-8")
    if as_json:
        click.echo(json.dumps({**found.as_dict(), "attribution": region.attribution},
                              ensure_ascii=False))
        return
    _print_recommendation(found, region.name)
    if out_file is not None:
        click.echo(f"  wrote {out_file}")
    click.echo(region.attribution)


def _print_recommendation(found: Recommendation, region_name: str) -> None:
    """The recommendation as a readable table."""
    import numpy as np

    unit = found.demand_unit
    status = ("proven optimal" if found.optimal else
              f"best found, gap {found.gap:.2%}" if np.isfinite(found.gap)
              else "best found, no bound")
    click.echo(f"{region_name} · {found.group.label_en} · {found.problem} · "
               f"{found.threshold_min:g} min · {len(found.sites)} new sites · {status}")
    click.echo(f"  candidates {found.candidates_total} offered, {found.candidates_used} after "
               f"reduction; {found.demand_columns} demand columns")
    click.echo(f"  covered share {found.before['covered_share']:.1%} -> "
               f"{found.after['covered_share']:.1%}; mean time "
               f"{found.before['mean_time_min']:.1f} -> {found.after['mean_time_min']:.1f} min")
    for site in found.sites.itertuples():
        gaps = ", ".join(f"gap {g['gap']}" for g in site.gaps) or "-"
        click.echo(f"  {site.rank:>3}. {site.name or '(unnamed)'} [{site.category}] "
                   f"{site.lon:.5f},{site.lat:.5f}  gain {site.gain:,.1f} ({site.gain_share:.1%})"
                   f"  covers {site.newly_covered:,.1f} {unit} new  closes {gaps}")
    if len(found.curve):
        shares = " ".join(f"{row.sites}:{row.covered_share:.1%}"
                          for row in found.curve.itertuples())
        click.echo(f"  covered share by number of new sites: {shares}")
    for note in found.notes:
        click.echo(f"  note: {note}")


def _write_template(ctx: click.Context, _param: click.Parameter, path: Path | None) -> None:
    """Write the Excel import template (in Chinese) to a file and stop."""
    if path is None or ctx.resilient_parsing:
        return
    from geo.station_export import station_template

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
@click.option("--max-problems", type=click.IntRange(min=1), cls=_EngineDefault,
              constant=("geo.records", "IMPORT_PROBLEM_LIMIT"), show_default=True,
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
    from geo.sheets import RecordsError
    from geo.regions import RegionError
    from geo.store import StationInvalid

    atlas = _atlas()
    try:
        with open(station_file, "rb") as file:
            plan = atlas.plan_import(region_id, file, station_file.name, datum, max_problems,
                                     progress=_progress, sheet=sheet)
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
@click.option("--format", "fmt", type=_EngineChoice("geo.station_export", "EXPORT_FORMATS"), default="csv",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The file to write.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of CSV and Excel headers and values (en: column and term ids).")
def export(region_id: str, fmt: str, output: Path, lang: str) -> None:
    """Write a region's stations (deleted ones left out) to a file, with the attribution."""
    from geo.station_export import export_stations
    from geo.regions import RegionError, get_region

    try:
        target = get_region(region_id)
    except RegionError as error:
        raise click.ClickException(str(error)) from error
    stations = _stations().list(region=region_id)
    output.write_bytes(export_stations(stations, fmt, target.attribution, lang))
    click.echo(f"wrote {len(stations)} stations to {output}")


@main.group()
def user() -> None:
    """Staff accounts and their API tokens."""


def _accounts() -> AccountStore:
    """The account store of the configured database (``DATABASE_URL``)."""
    from geo.database import Database, default_store_url

    return AccountStore(Database(default_store_url()))


def _when(moment: datetime) -> str:
    """A stored time as Beijing time to the minute."""
    return f"{moment.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"


def _new_password(from_stdin: bool) -> str:
    """A password read from standard input, or asked for twice without showing it."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _password_option(command):
    """The ``--password-stdin`` option of the commands that set a password."""
    return click.option("--password-stdin", is_flag=True,
                        help="Read the password from standard input instead of prompting.")(
        command)


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="staff", show_default=True,
              help="viewer reads the staff pages, staff also changes stations, admin also "
                   "manages accounts.")
@_password_option
def user_add(name: str, role: str, password_stdin: bool) -> None:
    """Make an account NAME; the password is asked for (or read from standard input)."""
    try:
        added = _accounts().add_user(name, _new_password(password_stdin), role)
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"added {added.role} {added.username}")


@user.command("list")
def user_list() -> None:
    """Show the accounts, their roles, locks and API tokens (times in Beijing time)."""
    accounts = _accounts()
    now = datetime.now(UTC)
    for account in accounts.list_users():
        line = f"{account.username:<24} {account.role:<7} created {_when(account.created_at)}"
        if account.is_locked(now):
            line += (f", locked until {_when(account.locked_until)} "
                     f"({account.failed_attempts} wrong passwords)")
        click.echo(line)
        for token in accounts.list_tokens(account.username):
            state = "expired" if token.is_expired(now) else "expires"
            used = _when(token.last_used_at) if token.last_used_at else "never"
            click.echo(f"{'':<4}token {token.id}: {state} {_when(token.expires_at)}, "
                       f"last used {used}")


@user.command("password")
@click.argument("name")
@_password_option
def user_password(name: str, password_stdin: bool) -> None:
    """Give NAME a new password; this signs NAME out everywhere, revokes NAME's API tokens
    and lifts a lock."""
    try:
        _accounts().set_password(name, _new_password(password_stdin))
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"changed the password of {name} and revoked its API tokens")


@user.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(ROLES))
def user_role(name: str, role: str) -> None:
    """Give NAME a new ROLE; this signs NAME out everywhere, and NAME's API tokens carry the
    new role from the next request on."""
    try:
        _accounts().set_role(name, role)
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{name} is now {role}")


@user.command("token")
@click.argument("name")
@click.option("--days", type=click.IntRange(1, MAX_TOKEN_DAYS), default=TOKEN_DAYS,
              show_default=True, help=f"How many days the token lasts (1 to {MAX_TOKEN_DAYS}).")
def user_token(name: str, days: int) -> None:
    """Print a new API token for NAME (shown once: only its digest is kept)."""
    try:
        click.echo(_accounts().issue_token(name, days))
    except AccountError as error:
        raise click.ClickException(str(error)) from error


@user.command("revoke")
@click.argument("name")
def user_revoke(name: str) -> None:
    """Revoke every API token of NAME."""
    try:
        count = _accounts().revoke_tokens(name)
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"revoked {count} tokens of {name}")
