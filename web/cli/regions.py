"""``yizhan region`` (list, add, remove, and the boundaries in an OSM file) and ``yizhan
build``: the regions and their street networks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from geo import MODES, Station
from web.cli import main
from web.cli.common import open_atlas, show_progress, station_store

if TYPE_CHECKING:
    from geo import Network, Region


@main.group()
def region() -> None:
    """List, add and remove regions, and the boundaries in an OSM file."""


@region.command("list")
def region_list() -> None:
    """Show the configured regions."""
    from geo import list_regions

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
    from geo import (
        ClipError,
        OsmSourceError,
        RegionError,
        add_region,
        find_boundary,
        load_networks,
        osmium_tool,
        parse_bbox,
        read_polygon_file,
    )

    if sum(x is not None for x in (boundary, bbox, polygon_file)) > 1:
        raise click.UsageError("give at most one of --boundary, --bbox and --polygon")
    try:
        if boundary is not None or bbox is not None or polygon_file is not None:
            osmium_tool()  # before reading a province's boundaries to no end
        area = (find_boundary(osm_file, boundary).geometry if boundary is not None
                else parse_bbox(bbox) if bbox is not None
                else read_polygon_file(polygon_file) if polygon_file is not None else None)
        added = add_region(name, osm_file, name=title, modes=modes, area=area,
                           progress=show_progress)
    except (RegionError, ClipError, OsmSourceError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"added region {added.id}: {added.source.parent}")
    for mode, net in load_networks(added).items():
        click.echo(f"{mode:<6} {_dropped_streets(net)}")
    stations = station_store().list(region=added.id)
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
        area = box(*open_atlas().index(target.id, progress=show_progress).bounds)
    inside = shapely.intersects_xy(area, [s.lon for s in stations], [s.lat for s in stations])
    return [s for s, keep in zip(stations, inside, strict=True) if not keep]


@region.command("remove")
@click.argument("name")
def region_remove(name: str) -> None:
    """Remove the added region NAME and its cached networks; its stations stay stored and
    belong to a region NAME added again."""
    from geo import RegionError, remove_region

    try:
        removed = remove_region(name)
    except RegionError as error:
        raise click.ClickException(str(error)) from error
    kept = len(station_store().list(region=removed.id))
    click.echo(f"removed region {removed.id}; its {kept} stations stay stored for a region "
               f"{removed.id} added again")


@region.command("boundaries")
@click.argument("osm_file", type=click.Path(path_type=Path))
@click.option("--level", type=click.IntRange(1, 12), default=None,
              help="Only boundaries of this admin_level (4 province, 5-6 city, 7 county).")
def region_boundaries(osm_file: Path, level: int | None) -> None:
    """List the administrative boundaries in an OSM file, to pick one for `region add
    --boundary`."""
    from geo import ClipError, read_boundaries

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
    from geo import RegionError, get_region, load_networks

    try:
        target = get_region(region_id)
    except RegionError as error:
        raise click.ClickException(str(error)) from error
    networks = load_networks(target, progress=show_progress)
    for mode, net in networks.items():
        click.echo(f"{mode:<6} {net.n_nodes:>8} nodes {net.n_edges:>8} edges "
                   f"{net.length_m.sum() / 1000:>9.1f} km  {_dropped_streets(net)}")


def _dropped_streets(net: Network) -> str:
    """What the build dropped outside the kept part of a network, by road class."""
    if not net.dropped_km:
        return "nothing dropped"
    classes = sorted(net.dropped_km.items(), key=lambda item: -item[1])
    by_class = ", ".join(f"{highway} {km:.2f} km" for highway, km in classes)
    return (f"dropped {net.dropped_nodes} nodes, {sum(net.dropped_km.values()):.2f} km outside "
            f"the largest strongly connected part ({by_class})")
