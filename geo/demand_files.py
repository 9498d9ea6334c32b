"""Reading a planner's own demand file: a CSV of points, or a GeoJSON or GeoPackage layer, each
with a weight per row, checked row by row so that a message names the file, row and column.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Geometry types of a user layer: points and lines go by their vertices, areas are spread.
POINT_TYPES = (shapely.GeometryType.POINT, shapely.GeometryType.MULTIPOINT)
LINE_TYPES = (shapely.GeometryType.LINESTRING, shapely.GeometryType.LINEARRING,
              shapely.GeometryType.MULTILINESTRING)
AREA_TYPES = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)

#: File-name endings of user layers read as vector data and as CSV.
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg")
CSV_SUFFIXES = (".csv",)


class DemandError(ValueError):
    """A user demand layer cannot be read; the message names the file and what is wrong."""


def read_csv_points(path: Path, weight_column: str) -> tuple[np.ndarray, np.ndarray]:
    """Read a CSV of WGS-84 points with a weight per row.

    Args:
        path: the CSV file (UTF-8, with or without a byte-order mark).
        weight_column: the weight column.

    Returns:
        Point geometries (object, P) and their weights (float64, P).

    Raises:
        DemandError: as for :func:`geo.demand.user_demand`; blank lines are skipped.
    """
    frame = read_csv_text(path, DemandError)
    frame.columns = [str(c).strip() for c in frame.columns]
    # with the header as line 1, row i is line i + 2 (blank lines are kept as empty rows)
    labels = np.array([f"line {i + 2}" for i in range(len(frame))])
    filled = (frame != "").any(axis=1).to_numpy()
    frame, labels = frame[filled], labels[filled]
    for column in ("lon", "lat", weight_column):
        if column not in frame.columns:
            raise DemandError(f"{path.name}: no {column!r} column (columns: "
                              f"{', '.join(frame.columns)})")
    if len(frame) == 0:
        raise DemandError(f"{path.name}: the file has no rows")
    lon = checked_numbers(path, frame["lon"], labels, "lon", -180.0, 180.0)
    lat = checked_numbers(path, frame["lat"], labels, "lat", -90.0, 90.0)
    weights = checked_numbers(path, frame[weight_column], labels, weight_column, 0.0, np.inf)
    return shapely.points(lon, lat), weights


def read_vector_layer(path: Path, weight_column: str) -> tuple[np.ndarray, np.ndarray]:
    """Read a GeoJSON or GeoPackage layer in WGS-84 with a weight per feature.

    Args:
        path: the file; one without a CRS is taken to be WGS-84 lon/lat.
        weight_column: the weight column.

    Returns:
        Geometries (object, F) and their weights (float64, F).

    Raises:
        DemandError: as for :func:`geo.demand.user_demand`, and for features without geometry or of
            another geometry type than points, lines and polygons.
    """
    try:
        with warnings.catch_warnings():
            # a column of mixed types is read as text; the weight check reports it better
            warnings.filterwarnings("ignore", "Could not parse column", UserWarning)
            layer = gpd.read_file(path)
    except Exception as err:  # pyogrio raises several GDAL-derived error types
        raise DemandError(f"{path.name}: cannot read the file ({err})") from err
    if len(layer) == 0:
        raise DemandError(f"{path.name}: the file has no features")
    if weight_column not in layer.columns:
        columns = ", ".join(c for c in layer.columns if c != layer.geometry.name)
        raise DemandError(f"{path.name}: no {weight_column!r} column (columns: {columns})")
    if layer.crs is not None:
        layer = layer.to_crs(4326)
    labels = np.array([f"feature {i + 1}" for i in range(len(layer))])
    weights = checked_numbers(path, layer[weight_column], labels, weight_column, 0.0, np.inf)
    geoms = layer.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        raise DemandError(f"{path.name}, {labels[int(np.argmax(missing))]}: no geometry")
    unknown = ~np.isin(shapely.get_type_id(geoms), POINT_TYPES + LINE_TYPES + AREA_TYPES)
    if unknown.any():
        first = int(np.argmax(unknown))
        raise DemandError(f"{path.name}, {labels[first]}: unsupported geometry "
                          f"{geoms[first].geom_type}; use points, lines or polygons")
    bounds = shapely.bounds(geoms)
    outside = ((bounds[:, 0] < -180) | (bounds[:, 2] > 180)
               | (bounds[:, 1] < -90) | (bounds[:, 3] > 90))
    if outside.any():
        first = int(np.argmax(outside))
        raise DemandError(f"{path.name}, {labels[first]}: coordinates outside lon/lat range "
                          f"({', '.join(f'{b:g}' for b in bounds[first])}); is the CRS right?")
    return geoms, weights


def read_csv_text(path: Path, error: type[ValueError]) -> pd.DataFrame:
    """Read a UTF-8 CSV file (a byte-order mark is allowed) as text columns, blank lines kept so
    that row positions are line numbers.

    Args:
        path: the file.
        error: the exception to raise, with a message naming the file.

    Raises:
        error: for an empty file, text that is not UTF-8, a first row longer than the header or
            a file pandas cannot parse.
    """
    try:
        with warnings.catch_warnings():
            # pandas only warns when the first row has more fields than the header
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False,
                               skip_blank_lines=False, index_col=False)
    except pd.errors.EmptyDataError as err:
        raise error(f"{path.name}: the file is empty") from err
    except UnicodeDecodeError as err:
        raise error(f"{path.name}: not UTF-8 text ({err.reason})") from err
    except pd.errors.ParserWarning as err:
        raise error(f"{path.name}: the first row has more fields than the header") from err
    except pd.errors.ParserError as err:
        raise error(f"{path.name}: not a readable CSV file ({str(err).strip()})") from err


def checked_numbers(
    path: Path, values: pd.Series, labels: np.ndarray, name: str, low: float, high: float
) -> np.ndarray:
    """Parse a column as numbers in ``[low, high]``, naming the first row that is not.

    Args:
        path: the file, for the message.
        values: the column's raw values.
        labels: each row's name in messages (``line 3``, ``feature 2``).
        name: the column's name, for the message.
        low, high: the allowed range.

    Returns:
        float64 values.

    Raises:
        DemandError: naming the file, the row, the column and the value.
    """
    raw = values.to_numpy()
    numbers = pd.to_numeric(pd.Series(raw, dtype=object).map(_strip), errors="coerce")
    numbers = numbers.to_numpy(dtype=np.float64)
    finite = np.isfinite(numbers)
    bad = ~finite | (numbers < low) | (numbers > high)
    if bad.any():
        first = int(np.argmax(bad))
        value, number = raw[first], numbers[first]
        if not finite[first]:
            problem = "is not a number"
        elif low == 0 and number < 0:
            problem = "is negative"
        else:
            problem = f"is outside {low:g}..{high:g}"
        raise DemandError(f"{path.name}, {labels[first]}: {name} {value!r} {problem}")
    return numbers


def _strip(value: object) -> object:
    """Strip the whitespace around a text value; other values as they are."""
    return value.strip() if isinstance(value, str) else value

