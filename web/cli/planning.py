"""The planner's commands: ``yizhan coverage`` and ``yizhan recommend``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from geo import GROUPS
from web.cli import main
from web.cli.common import EngineChoice, open_atlas, show_progress

if TYPE_CHECKING:
    from geo import Recommendation


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
    from geo import RegionError, write_coverage_files

    atlas = open_atlas()
    try:
        target = atlas.region(region_id)
        atlas.seed_demo_stations(region_id, progress=show_progress)
        atlas.index(region_id, progress=show_progress)
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
@click.option("--problem", type=EngineChoice("geo", "PROBLEMS"), default="mclp", show_default=True,
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
              type=EngineChoice("geo", "CANDIDATE_CATEGORIES"),
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
    from geo import (
        CandidateError,
        CandidateRules,
        RecommendError,
        RegionError,
        parse_excluded_area,
        recommendation_csv,
        recommendation_geojson,
    )

    if problem != "lscp" and (k is None or k < 1):
        raise click.UsageError("--k must be a whole number of new sites, at least 1")
    if problem == "lscp" and (target is None or not 0 < target <= 1):
        raise click.UsageError("--target must be a share above 0 and at most 1 for lscp")
    if out_file is not None and out_file.suffix.lower() not in (".csv", ".geojson", ".json"):
        raise click.UsageError("--out must name a .csv or .geojson file")
    atlas = open_atlas()
    try:
        region = atlas.region(region_id)
        atlas.seed_demo_stations(region_id, progress=show_progress)
        atlas.index(region_id, progress=show_progress)
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
