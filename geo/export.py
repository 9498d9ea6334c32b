"""Writing layers to files: GeoPackage with the data attribution in the layer's description,
recommended sites as CSV and GeoJSON, and CSV text cells that no spreadsheet runs as formulas."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np

from geo.analysis import CoverageAnalysis
from geo.charts import curve_chart
from geo.recommend import Recommendation
from geo.settings import OSM_ATTRIBUTION

#: How a text cell starts when a spreadsheet would read it as a formula (OWASP's CSV injection
#: list): such a cell is written with a leading ``'``, which spreadsheets take as "text".
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def csv_text(text: str) -> str:
    """A text cell for a CSV file, with a ``'`` before text that starts like a formula."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_text_read(cell: str) -> str:
    """A CSV text cell as :func:`csv_text` was given it: the ``'`` it added dropped, any other
    cell as it is."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_PREFIXES) else cell


def write_geopackage(layer: gpd.GeoDataFrame, path: Path, name: str,
                     attribution: str = OSM_ATTRIBUTION) -> None:
    """Write a layer to a GeoPackage, its description carrying the attribution.

    Args:
        layer: the layer (any CRS; it is written as it is).
        path: the ``.gpkg`` file to write (replaced if it exists).
        name: the layer name inside the file.
        attribution: the data attribution.
    """
    layer.to_file(path, layer=name, driver="GPKG", engine="pyogrio", DESCRIPTION=attribution)


def geopackage_bytes(layer: gpd.GeoDataFrame, name: str,
                     attribution: str = OSM_ATTRIBUTION) -> bytes:
    """The bytes of a one-layer GeoPackage (see :func:`write_geopackage`)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{name}.gpkg"
        write_geopackage(layer, path, name, attribution)
        return path.read_bytes()


def geojson_text(layer: gpd.GeoDataFrame, attribution: str = OSM_ATTRIBUTION) -> str:
    """A layer as GeoJSON text in WGS-84 with an ``attribution`` member; infinities as null."""
    body = json.loads(layer.to_crs(4326).replace([np.inf, -np.inf], np.nan).to_json(na="null"))
    body["attribution"] = attribution
    return json.dumps(body, ensure_ascii=False)


def write_coverage_files(analysis: CoverageAnalysis, folder: Path,
                         attribution: str = OSM_ATTRIBUTION) -> list[Path]:
    """Write a coverage analysis's layers and tables to a folder.

    Gaps, service areas and uncovered streets go to GeoJSON and GeoPackage, the hexagon
    statistics and the coverage curve to CSV (UTF-8 with a byte-order mark), the curve also to
    PNG. Every file name starts with region, group and threshold.

    Returns:
        The files written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{analysis.region_id}-{analysis.group.id}-{analysis.threshold_min:g}min"
    written = []
    for name, layer in (("gaps", analysis.gaps), ("service-areas", analysis.service_areas),
                        ("uncovered-streets", analysis.uncovered)):
        geojson = folder / f"{stem}-{name}.geojson"
        geojson.write_text(geojson_text(layer, attribution), encoding="utf-8")
        gpkg = folder / f"{stem}-{name}.gpkg"
        write_geopackage(layer, gpkg, name, attribution)
        written += [geojson, gpkg]
    for name, table in (("cells", analysis.cells), ("curve", analysis.curve)):
        path = folder / f"{stem}-{name}.csv"
        table.to_csv(path, index=False, encoding="utf-8-sig")
        written.append(path)
    chart = folder / f"{stem}-curve.png"
    chart.write_bytes(curve_chart(
        analysis.curve, analysis.threshold_min,
        f"{analysis.region_id}: {analysis.group.label_en} ({analysis.group.mode})",
        "travel time to the nearest open station (min)", "demand covered (%)", attribution))
    written.append(chart)
    return written


def recommendation_frame(recommendation: Recommendation) -> gpd.GeoDataFrame:
    """The recommended sites as a flat layer: the gaps each closes as text
    (``"gap 1: 12.0 of 22.3; gap 4: 1.1 of 1.1"``), problem and threshold on every row."""
    sites = recommendation.sites.copy()
    sites["gaps"] = [
        "; ".join(f"gap {g['gap']}: {g['closed_demand']:.1f} of {g['gap_demand']:.1f}"
                  for g in gaps) for gaps in sites["gaps"]]
    sites.insert(0, "problem", recommendation.problem)
    sites.insert(1, "group", recommendation.group.id)
    sites.insert(2, "threshold_min", recommendation.threshold_min)
    return sites


def recommendation_csv(recommendation: Recommendation, attribution: str = OSM_ATTRIBUTION) -> str:
    """The recommended sites as CSV text with a byte-order mark (so Excel reads the Chinese
    names), text cells safe from formulas (:func:`csv_text`), the attribution on a closing
    comment line."""
    frame = recommendation_frame(recommendation).drop(columns="geometry")
    frame = frame.apply(lambda column: column.map(
        lambda value: csv_text(value) if isinstance(value, str) else value))
    return "\ufeff" + frame.to_csv(index=False) + f"# {attribution}\n"


def recommendation_geojson(recommendation: Recommendation,
                           attribution: str = OSM_ATTRIBUTION) -> str:
    """The recommended sites as GeoJSON points with the solver's gap and optimality."""
    body = json.loads(geojson_text(recommendation_frame(recommendation), attribution))
    body["optimal"] = recommendation.optimal
    body["gap"] = recommendation.gap if np.isfinite(recommendation.gap) else None
    return json.dumps(body, ensure_ascii=False)
