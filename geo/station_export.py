"""Exporting stations to CSV, Excel, GeoJSON and GeoPackage, and the template staff fill in.

Every export carries the data attribution and the ``demo`` flag of every station. CSV is UTF-8
with a byte-order mark, so that Excel shows Chinese text; CSV, Excel and GeoJSON exports read
back as the same stations (see :mod:`geo.records`). CSV and Excel files are written in the
clerk's language: in Chinese, headers and the names of kinds, statuses, levels and amenities
are Chinese (:mod:`geo.vocabulary`); in English they are the column and term ids. GeoJSON and
GeoPackage files are for GIS software and always carry the ids.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from datetime import date
from typing import Any

import geopandas as gpd
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from geo.export import csv_text, geopackage_bytes
from geo.geojson import station_feature
from geo.sheets import COLUMNS
from geo.stations import Station
from geo.vocabulary import HEADERS, SYNONYMS, VOCABULARIES, header_name, term_name

#: The extra column of CSV and Excel exports that carries the data attribution on every row;
#: the importer ignores it.
ATTRIBUTION_COLUMN: str = "data_attribution"

#: The attribution column's header in Chinese files.
CHINESE_ATTRIBUTION_COLUMN: str = "数据来源"

#: How amenities are joined in CSV, Excel and GeoPackage exports, by language.
EXPORT_AMENITY_SEPARATOR: str = ";"
CHINESE_AMENITY_SEPARATOR: str = "、"

#: Languages CSV and Excel files are written in.
EXPORT_LANGUAGES: tuple[str, ...] = ("zh", "en")

#: The columns of the template, in its order (new stations: no ``id``, no ``demo``).
TEMPLATE_COLUMNS: tuple[str, ...] = tuple(c for c in COLUMNS if c not in ("id", "demo"))

#: What each column holds, in Chinese and English, for the template's explanation sheet.
COLUMN_NOTES: dict[str, tuple[str, str]] = {
    "id": ("驿站在易站中的编号；新驿站留空",
           "the station's number in Yizhan; blank for new stations"),
    "name": ("驿站名称（必填）", "the station's name (required)"),
    "kind": ("驿站类型（新驿站必填）", "the kind of station (required for new stations)"),
    "status": ("状态；留空为“开放”", "status; blank means open"),
    "lon": ("经度，小数（必填）", "longitude, decimal degrees (required)"),
    "lat": ("纬度，小数（必填）", "latitude, decimal degrees (required)"),
    "datum": ("经纬度的坐标系；留空按导入时所选",
              "the datum of lon/lat; blank: as chosen when importing"),
    "address": ("详细地址", "street address"),
    "host": ("所在单位，如营业厅、加油站", "the host site, e.g. a shop or petrol station"),
    "union": ("主管工会", "the union that runs it"),
    "level": ("工会级别；留空为“区县级”", "union level; blank means district"),
    "amenities": ("服务设施，用顿号、逗号或分号隔开", "amenities, separated by 、 , or ;"),
    "opening_hours": (
        ("开放时间，如“周一至周五 8:30-17:30”“每天 7:00-21:00”“24小时”，"
         "或 OSM 格式“Mo-Fr 08:30-17:30”"),
        ("opening hours, e.g. 'Mo-Fr 08:30-17:30', '24/7', or as written in Chinese "
         "('周一至周五 8:30-17:30', '24小时')")),
    "phone": ("联系电话：数字、+、-、空格和括号", "phone: digits, +, -, spaces and parentheses"),
    "capacity": ("可容纳人数，整数", "how many people it holds, a whole number"),
    "smart_24h": ("是否 24 小时智能驿站：是/否", "24-hour smart access: yes/no"),
    "verified_on": ("最近核实日期，如 2024-05-01", "last verified on, e.g. 2024-05-01"),
    "notes": ("备注", "notes"),
    "demo": ("演示数据：是/否", "demo data: yes/no"),
}

#: Accepted values of the columns that are not free text or a vocabulary, in each language.
_VALUE_NOTES: dict[str, tuple[str, str]] = {
    "datum": ("wgs84（GPS、OpenStreetMap）、gcj02（高德、腾讯）、bd09（百度）",
              "wgs84 (GPS, OpenStreetMap), gcj02 (Amap, Tencent), bd09 (Baidu)"),
    "smart_24h": ("是、否", "yes, no (also true/false, 1/0)"),
    "demo": ("是、否", "yes, no (also true/false, 1/0)"),
}

#: The example row of the template, by column (WGS-84 coordinates in central Nanjing).
TEMPLATE_EXAMPLE: dict[str, Any] = {
    "name": "新街口爱心驿站（示例）", "kind": "love_station", "status": "open",
    "lon": 118.7784, "lat": 32.0411, "address": "南京市秦淮区中山南路 1 号",
    "host": "中国电信新街口营业厅", "union": "秦淮区总工会", "level": "district",
    "amenities": ("drinking_water", "microwave", "phone_charging"),
    "opening_hours": "周一至周五 8:30-17:30", "phone": "025-8888 1234", "capacity": 10,
    "smart_24h": False, "verified_on": date(2024, 5, 1), "notes": "",
}

#: Formats :func:`export_stations` writes.
EXPORT_FORMATS: tuple[str, ...] = ("csv", "xlsx", "geojson", "gpkg")

#: Name of the GeoPackage layer and of the Excel sheet with the stations.
LAYER_NAME: str = "stations"

#: Name of the Excel sheet with the attribution and the vocabularies.
ABOUT_SHEET: str = "about"


def export_stations(stations: list[Station], fmt: str, attribution: str,
                    lang: str = "en") -> bytes:
    """Write stations to a file in one of :data:`EXPORT_FORMATS`.

    ``csv``: UTF-8 with a byte-order mark, the :data:`geo.sheets.COLUMNS` and
    :data:`ATTRIBUTION_COLUMN`. ``xlsx``: the same columns in a sheet ``stations`` (bold header,
    typed cells), and a sheet ``about`` with the attribution and the vocabularies in Chinese and
    English. In Chinese (``lang="zh"``) both have Chinese headers and Chinese names of kinds,
    statuses, levels and amenities, 是/否 for yes/no, and the sheets are ``驿站`` and ``说明``;
    in English, the column and term ids. ``geojson``: a FeatureCollection of Points with every
    field as a property and an ``attribution`` member. ``gpkg``: a GeoPackage layer
    ``stations`` whose description is the attribution. Coordinates are WGS-84. Every form
    reads back as the same stations.

    Args:
        stations: the stations to write.
        fmt: one of :data:`EXPORT_FORMATS`.
        attribution: the data attribution the file carries.
        lang: the language of CSV and Excel files, one of :data:`EXPORT_LANGUAGES`.

    Returns:
        The file's bytes.

    Raises:
        ValueError: unknown format or language.
    """
    if lang not in EXPORT_LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(EXPORT_LANGUAGES)}")
    if fmt == "csv":
        return _csv_bytes(stations, attribution, lang)
    if fmt == "xlsx":
        return _xlsx_bytes(stations, attribution, lang)
    if fmt == "geojson":
        return _geojson_bytes(stations, attribution)
    if fmt == "gpkg":
        return _gpkg_bytes(stations, attribution)
    raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}")



def _row(station: Station, lang: str = "en", columns: tuple[str, ...] = COLUMNS
         ) -> list[object]:
    """A station's values in column order, typed (numbers, booleans, dates).

    Args:
        station: the station.
        lang: ``en``: vocabulary ids, amenities joined by :data:`EXPORT_AMENITY_SEPARATOR`;
            ``zh``: their Chinese names, amenities joined by
            :data:`CHINESE_AMENITY_SEPARATOR`.
        columns: the columns wanted.

    Returns:
        The values; datum ``wgs84``.
    """
    values = {
        field.name: getattr(station, field.name) for field in dataclasses.fields(Station)
    }
    for column in ("kind", "status", "level"):
        values[column] = term_name(column, values[column], lang)
    separator = CHINESE_AMENITY_SEPARATOR if lang == "zh" else EXPORT_AMENITY_SEPARATOR
    values["amenities"] = separator.join(term_name("amenities", a, lang)
                                         for a in station.amenities)
    values["datum"] = "wgs84"
    return [values[column] for column in columns]


def _headers(lang: str, columns: tuple[str, ...] = COLUMNS) -> list[str]:
    """The headers of a CSV or Excel file in a language, the attribution column last."""
    attribution = CHINESE_ATTRIBUTION_COLUMN if lang == "zh" else ATTRIBUTION_COLUMN
    return [*(header_name(column, lang) for column in columns), attribution]


def _csv_cell(value: object, lang: str = "en") -> str:
    """Write a value as CSV text.

    Args:
        value: a value of :func:`_row`.
        lang: the language of yes/no.

    Returns:
        The text: blank for None, ``true``/``false`` (是/否 in Chinese), ISO dates, shortest
        exact numbers, text that starts like a formula after a ``'``
        (:func:`geo.export.csv_text`).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        if lang == "zh":
            return "是" if value else "否"
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return csv_text(value)
    return str(value)


def _csv_bytes(stations: list[Station], attribution: str, lang: str) -> bytes:
    """Stations as CSV, UTF-8 with a byte-order mark.

    Args:
        stations: the stations.
        attribution: the data attribution, in the attribution column of every row.
        lang: the language of headers and terms.

    Returns:
        The file's bytes.
    """
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(_headers(lang))
    for station in stations:
        writer.writerow([*(_csv_cell(value, lang) for value in _row(station, lang)),
                         csv_text(attribution)])
    return text.getvalue().encode("utf-8-sig")


def _xlsx_bytes(stations: list[Station], attribution: str, lang: str) -> bytes:
    """Stations as an Excel workbook: sheet ``stations`` and sheet ``about`` (``驿站`` and
    ``说明`` in Chinese).

    Args:
        stations: the stations.
        attribution: the data attribution, in the attribution column of every row and on
            the ``about`` sheet.
        lang: the language of headers and terms.

    Returns:
        The file's bytes.
    """
    book = Workbook()
    sheet = book.active
    sheet.title = "驿站" if lang == "zh" else LAYER_NAME
    _append_header(sheet, _headers(lang))
    for station in stations:
        _append_values(sheet, [*_row(station, lang), attribution], lang)
    sheet.freeze_panes = "A2"
    about = book.create_sheet("说明" if lang == "zh" else ABOUT_SHEET)
    if lang == "zh":
        about.append(["数据来源", attribution])
        about.append(["演示数据", "演示数据为“是”：演示用，非真实驿站"])
        about.append(["坐标", "经度、纬度：WGS-84（坐标系 wgs84）"])
        about.append([])
    else:
        about.append(["attribution", attribution])
        about.append(["demo", "demo = true: demo data, not a real station (演示数据，非真实驿站)"])
        about.append(["coordinates", "lon, lat: WGS-84 (datum wgs84)"])
        about.append([])
    _append_header(about, ["column", "id", "中文", "English"])
    for column, vocabulary in VOCABULARIES.items():
        for term, (chinese, english) in vocabulary.items():
            about.append([column, term, chinese, english])
    return _book_bytes(book)


def station_template(lang: str = "zh") -> bytes:
    """The Excel template staff fill in to import new stations.

    Sheet one (``驿站`` / ``stations``) has the headers of :data:`TEMPLATE_COLUMNS` in the
    language and one example row (:data:`TEMPLATE_EXAMPLE`, its hours written as a clerk
    would); sheet two (``填写说明`` / ``columns``) explains every column: its header in Chinese
    and English, what it holds, and the values it accepts, synonyms included. The template
    imports as it is, as one new station.

    Args:
        lang: the language, one of :data:`EXPORT_LANGUAGES`.

    Returns:
        The workbook's bytes.

    Raises:
        ValueError: unknown language.
    """
    if lang not in EXPORT_LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; use one of {', '.join(EXPORT_LANGUAGES)}")
    zh = lang == "zh"
    example = Station(region="", **{column: value for column, value in TEMPLATE_EXAMPLE.items()
                                    if column != "datum"})
    row = _row(example, lang, TEMPLATE_COLUMNS)
    book = Workbook()
    sheet = book.active
    sheet.title = "驿站" if zh else LAYER_NAME
    _append_header(sheet, [header_name(column, lang) for column in TEMPLATE_COLUMNS])
    _append_values(sheet, row, lang)
    sheet.freeze_panes = "A2"
    notes = book.create_sheet("填写说明" if zh else "columns")
    _append_header(notes, ["列名", "English", "说明", "可填写的值"] if zh
                   else ["column", "中文", "what it holds", "accepted values"])
    for column in COLUMNS:
        zh_header, _en, more = HEADERS[column]
        note = COLUMN_NOTES[column][0 if zh else 1]
        values = _accepted_values(column, lang)
        also = "、".join(more)
        if also:
            note += f"（列名也可写：{also}）" if zh else f" (also headed {', '.join(more)})"
        notes.append([zh_header, column, note, values] if zh
                     else [column, zh_header, note, values])
    return _book_bytes(book)


def _accepted_values(column: str, lang: str) -> str:
    """The values a column accepts, for the template's explanation sheet.

    Args:
        column: the column.
        lang: the language.

    Returns:
        For a vocabulary, every term as its Chinese name (its id, English name and synonyms);
        else the note of :data:`_VALUE_NOTES`, or blank.
    """
    if column not in VOCABULARIES:
        notes = _VALUE_NOTES.get(column)
        return notes[0 if lang == "zh" else 1] if notes else ""
    return "；".join(
        f"{chinese}（{'、'.join(dict.fromkeys([term, english, *SYNONYMS[column].get(term, ())]))}）"
        for term, (chinese, english) in VOCABULARIES[column].items())


def _append_header(sheet, headers: list[str]) -> None:
    """Append a bold header row to a sheet."""
    sheet.append(headers)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)


def _append_values(sheet, values: list[object], lang: str) -> None:
    """Append a row of values to a sheet: text stays text (even starting with ``=``), dates
    show as dates, yes/no as 是/否 in Chinese."""
    if lang == "zh":
        values = [("是" if value else "否") if isinstance(value, bool) else value
                  for value in values]
    sheet.append([_xlsx_cell(value) for value in values])
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"  # text, even when it starts with "="
        elif isinstance(cell.value, date):
            cell.number_format = "yyyy-mm-dd"


def _book_bytes(book: Workbook) -> bytes:
    """A workbook's bytes."""
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
