"""Exporting stations to CSV, Excel, GeoJSON and GeoPackage.

Every export carries the data attribution and the ``demo`` flag of every station. CSV is UTF-8
with a byte-order mark, so that Excel shows Chinese text; CSV, Excel and GeoJSON exports read
back as the same stations (see :mod:`geo.records`).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import date

import geopandas as gpd
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from geo.cells import VOCABULARIES
from geo.export import csv_text, geopackage_bytes
from geo.geojson import station_feature
from geo.sheets import COLUMNS
from geo.stations import Station

#: The extra column of CSV and Excel exports that carries the data attribution on every row;
#: the importer ignores it.
ATTRIBUTION_COLUMN: str = "data_attribution"

#: How amenities are joined in CSV, Excel and GeoPackage exports (ids, so round trips are exact).
EXPORT_AMENITY_SEPARATOR: str = ";"

#: Formats :func:`export_stations` writes.
EXPORT_FORMATS: tuple[str, ...] = ("csv", "xlsx", "geojson", "gpkg")

#: Name of the GeoPackage layer and of the Excel sheet with the stations.
LAYER_NAME: str = "stations"

#: Name of the Excel sheet with the attribution and the vocabularies.
ABOUT_SHEET: str = "about"


def export_stations(stations: list[Station], fmt: str, attribution: str) -> bytes:
    """Write stations to a file in one of :data:`EXPORT_FORMATS`.

    ``csv``: UTF-8 with a byte-order mark, the canonical :data:`geo.sheets.COLUMNS` and
    :data:`ATTRIBUTION_COLUMN`. ``xlsx``: the same columns in a sheet ``stations`` (bold header,
    typed cells), and a sheet ``about`` with the attribution and the vocabularies in Chinese and
    English. ``geojson``: a FeatureCollection of Points with every field as a property and an
    ``attribution`` member. ``gpkg``: a GeoPackage layer ``stations`` whose description is the
    attribution. Amenities are ids; coordinates are WGS-84.

    Args:
        stations: the stations to write.
        fmt: one of :data:`EXPORT_FORMATS`.
        attribution: the data attribution the file carries.

    Returns:
        The file's bytes.

    Raises:
        ValueError: unknown format.
    """
    if fmt == "csv":
        return _csv_bytes(stations, attribution)
    if fmt == "xlsx":
        return _xlsx_bytes(stations, attribution)
    if fmt == "geojson":
        return _geojson_bytes(stations, attribution)
    if fmt == "gpkg":
        return _gpkg_bytes(stations, attribution)
    raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")



def _row(station: Station) -> list[object]:
    """A station's values in :data:`geo.sheets.COLUMNS` order, typed (numbers, booleans, dates).

    Args:
        station: the station.

    Returns:
        The values; amenities joined by :data:`EXPORT_AMENITY_SEPARATOR`, datum ``wgs84``.
    """
    values = {
        field.name: getattr(station, field.name) for field in dataclasses.fields(Station)
    }
    values["amenities"] = EXPORT_AMENITY_SEPARATOR.join(station.amenities)
    values["datum"] = "wgs84"
    return [values[column] for column in COLUMNS]


def _csv_cell(value: object) -> str:
    """Write a value as CSV text.

    Args:
        value: a value of :func:`_row`.

    Returns:
        The text: blank for None, ``true``/``false``, ISO dates, shortest exact numbers, text
        that starts like a formula after a ``'`` (:func:`geo.export.csv_text`).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return csv_text(value)
    return str(value)


def _csv_bytes(stations: list[Station], attribution: str) -> bytes:
    """Stations as CSV, UTF-8 with a byte-order mark.

    Args:
        stations: the stations.
        attribution: the data attribution, in :data:`ATTRIBUTION_COLUMN` of every row.

    Returns:
        The file's bytes.
    """
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([*COLUMNS, ATTRIBUTION_COLUMN])
    for station in stations:
        writer.writerow([*map(_csv_cell, _row(station)), csv_text(attribution)])
    return text.getvalue().encode("utf-8-sig")


def _xlsx_bytes(stations: list[Station], attribution: str) -> bytes:
    """Stations as an Excel workbook: sheet ``stations`` and sheet ``about``.

    Args:
        stations: the stations.
        attribution: the data attribution, in :data:`ATTRIBUTION_COLUMN` of every row and on
            the ``about`` sheet.

    Returns:
        The file's bytes.
    """
    book = Workbook()
    sheet = book.active
    sheet.title = LAYER_NAME
    sheet.append([*COLUMNS, ATTRIBUTION_COLUMN])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for station in stations:
        sheet.append([_xlsx_cell(value) for value in _row(station)] + [attribution])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, even when it starts with "="
            elif isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A2"
    about = book.create_sheet(ABOUT_SHEET)
    about.append(["attribution", attribution])
    about.append(["demo", "demo = true: demo data, not a real station (演示数据，非真实驿站)"])
    about.append(["coordinates", "lon, lat: WGS-84 (datum wgs84)"])
    about.append([])
    about.append(["column", "id", "中文", "English"])
    for cell in about[about.max_row]:
        cell.font = Font(bold=True)
    for column, vocabulary in VOCABULARIES.items():
        for term, (chinese, english) in vocabulary.items():
            about.append([column, term, chinese, english])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(value: object) -> object:
    """Make a value fit for an Excel cell.

    Args:
        value: a value of :func:`_row`.

    Returns:
        The value; text without the control characters Excel files cannot hold.
    """
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _geojson_bytes(stations: list[Station], attribution: str) -> bytes:
    """Stations as a GeoJSON FeatureCollection (UTF-8, Chinese unescaped).

    Args:
        stations: the stations.
        attribution: the data attribution, as the ``attribution`` member.

    Returns:
        The file's bytes.
    """
    body = {
        "type": "FeatureCollection",
        "attribution": attribution,
        "features": [station_feature(station, datum="wgs84") for station in stations],
    }
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _gpkg_bytes(stations: list[Station], attribution: str) -> bytes:
    """Stations as a GeoPackage layer ``stations`` in WGS-84.

    Args:
        stations: the stations.
        attribution: the data attribution, as the layer's description.

    Returns:
        The file's bytes.
    """
    rows = [_row(station) for station in stations]
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    for column in ("id", "capacity"):
        table[column] = pd.array(table[column].tolist(), dtype="Int64")
    table["verified_on"] = [None if day is None else day.isoformat()
                            for day in table["verified_on"]]
    for column in ("smart_24h", "demo"):
        table[column] = table[column].astype(bool)
    layer = gpd.GeoDataFrame(
        table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs="EPSG:4326"
    )
    return geopackage_bytes(layer, LAYER_NAME, attribution)
