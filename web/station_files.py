"""The staff pages' bulk import and export of station records.

``/staff/import`` checks an uploaded CSV, Excel or GeoJSON file (the import plan of
:meth:`geo.atlas.Atlas.plan_import`) and lists its problems in the page's language, and the
opening hours it read from words for staff to confirm; a clean file waits, under a random
name in the instance folder, for the import that stores all its rows in one transaction
(:meth:`geo.atlas.Atlas.apply_import`). ``/staff/import/template`` downloads the Excel template
and ``/staff/export`` a region's stations, both in the page's language.
"""

from __future__ import annotations

import io
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import BinaryIO

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from geo import (
    DATUMS,
    EXPORT_FORMATS,
    IMPORT_PROBLEM_LIMIT,
    IMPORT_SUFFIXES,
    MAX_CAPACITY,
    VOCABULARIES,
    Atlas,
    ImportPlan,
    RecordsError,
    Region,
    RegionError,
    RowProblem,
    StationInvalid,
    export_stations,
    hours_text,
    open_private,
    private_folder,
    station_template,
)
from web.auth import requires
from web.i18n import current_lang
from web.jobs import rate_limited, run_job
from web.staff import bp, datum_labels

#: How long an uploaded file waits for its import after the dry run, in seconds.
UPLOAD_LIFETIME_S = 24 * 3600

#: The names uploaded files are kept under.
UPLOAD_NAME = re.compile(r"[0-9a-f]{32}")

#: Media type of each export format.
EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
}


#: The name of the downloaded template, by language.
TEMPLATE_NAMES = {"zh": "驿站导入模板.xlsx", "en": "station-import-template.xlsx"}


def problem_text(problem: RowProblem) -> str:
    """An import problem said in the page's language (its English message if it has no
    code)."""
    p = problem.params
    value = p.get("value", "")
    texts = {
        "missing": lambda: _("This cell is empty; it is required."),
        "text": lambda: _("“%(value)s” is not text.", value=value),
        "term": lambda: _("Unknown value “%(value)s”; use one of: %(choices)s.", value=value,
                          choices=_choices(p["column"])),
        "datum": lambda: _("Unknown datum “%(value)s”; use wgs84 (GPS), gcj02 (Amap, Tencent) "
                           "or bd09 (Baidu).", value=value),
        "number": lambda: _("“%(value)s” is not a number.", value=value),
        "whole": lambda: _("“%(value)s” is not a whole number.", value=value),
        "boolean": lambda: _("“%(value)s” is not yes or no; write 是 or 否.", value=value),
        "date": lambda: _("“%(value)s” is not a date; write it like 2024-05-01.", value=value),
        "hours": lambda: _("Opening hours “%(value)s” are not understood; write them like "
                           "周一至周五 8:30-17:30, 每天 7:00-21:00, 24小时 or Mo-Fr 08:30-17:30.",
                           value=value),
        "geometry": lambda: _("The geometry must be a point with a longitude and a latitude, "
                              "not %(value)s.", value=value),
        "duplicate_column": lambda: _("Two columns hold this field, “%(first)s” and "
                                      "“%(header)s”; only “%(first)s” is read.", **p),
        "missing_column": lambda: _("The file has no column for this field (header “%(column)s” "
                                    "or “%(header)s”).", column=problem.field, **p),
        "range": lambda: (_("%(value)s is outside %(low)s to %(high)s.", **p)
                          + (_(" Are longitude and latitude swapped?") if p.get("swapped")
                             else "")),
        "outside": lambda: _("The station at WGS-84 (%(lon)s, %(lat)s) is %(km)s km outside "
                             "the region.", **p),
        "unknown_id": lambda: _("No stored station has the id %(id)s.", **p),
        "updated_twice": lambda: _("Station %(id)s is already updated on line %(other)s.", **p),
        "duplicate": lambda: _("“%(name)s” is %(metres)s m from stored station %(id)s "
                               "“%(other)s” of the same name.", **p),
        "duplicate_line": lambda: _("“%(name)s” is %(metres)s m from the station of the same "
                                    "name on line %(line)s.", **p),
        "phone": lambda: _("Use only digits, +, -, spaces and parentheses."),
        "capacity": lambda: _("Enter a whole number from 0 to %(max)s.", max=MAX_CAPACITY),
        "invalid": lambda: _("Not accepted: %(detail)s", detail=p.get("detail", "")),
    }
    told = texts.get(problem.code)
    return told() if told else problem.message


def _choices(column: str) -> str:
    """A vocabulary's terms in the page's language, for a message."""
    names = VOCABULARIES[column].values()
    return ", ".join(english if current_lang() == "en" else chinese
                     for chinese, english in names)


def records_error_text(error: RecordsError) -> str:
    """A file that cannot be read, said in the page's language."""
    p = error.params
    texts = {
        "suffix": lambda: _("%(file)s cannot be read: use a file ending in %(suffixes)s (save "
                            "Excel 97-2003 .xls files as .xlsx).", **p),
        "empty": lambda: _("%(file)s is empty.", **p),
        "no_rows": lambda: _("%(file)s has no station rows.", **p),
        "csv": lambda: _("%(file)s is not a readable CSV file (line %(line)s).", **p),
        "binary": lambda: _("%(file)s is not CSV text; save it from Excel as “CSV UTF-8”.",
                            **p),
        "encoding": lambda: _("%(file)s is neither UTF-8 nor GBK/GB18030 text.", **p),
        "xlsx": lambda: _("%(file)s is not a readable Excel (.xlsx) workbook.", **p),
        "sheet": lambda: _("%(file)s has no sheet “%(sheet)s”; its sheets are %(sheets)s.",
                           **p),
        "json": lambda: _("%(file)s is not valid JSON.", **p),
        "geojson": lambda: _("%(file)s is not a GeoJSON collection of point features.", **p),
        "not_importable": lambda: _("The file has problems or updates stored stations; "
                                    "nothing was imported."),
    }
    told = texts.get(error.code)
    return told() if told else str(error)


def _atlas() -> Atlas:
    return current_app.extensions["atlas"]


def _uploads() -> Path:
    """The folder where uploaded station files wait between the dry run and the import."""
    return private_folder(Path(current_app.instance_path) / "uploads")


def _keep_upload(upload: BinaryIO) -> Path:
    """Keep an uploaded file for its dry run and the import that may follow; forget old ones.

    Returns:
        Where it is kept; its name is the random one the import form carries.
    """
    folder = _uploads()
    cutoff = time.time() - UPLOAD_LIFETIME_S
    for old in folder.iterdir():
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except FileNotFoundError:  # another request cleared it first
            pass
    path = folder / secrets.token_hex(16)
    with open_private(path) as file:
        shutil.copyfileobj(upload, file)
    return path


def _claim_upload(name: str) -> Path | None:
    """Take the file kept under a name from :func:`_keep_upload` for its import, if it is still
    there: it is moved aside at once, so that the form sent twice imports it once."""
    if not UPLOAD_NAME.fullmatch(name):
        return None
    kept = _uploads() / name
    claimed = kept.with_name(f"{name}.import")
    try:
        kept.rename(claimed)
    except FileNotFoundError:
        return None
    return claimed


def _plan(kept: Path, filename: str, region: Region, datum: str, sheet: str) -> ImportPlan:
    """Plan the import of a kept station file (:meth:`geo.atlas.Atlas.plan_import`), listing
    as many problems as the setting ``IMPORT_PROBLEM_LIMIT`` says."""
    with kept.open("rb") as file:
        return _atlas().plan_import(
            region.id, file, filename, datum,
            current_app.config.get("IMPORT_PROBLEM_LIMIT", IMPORT_PROBLEM_LIMIT),
            sheet=sheet or None)


def _import_page(region: Region, datum: str, sheet: str, status: int = 200, **shown_plan):
    """The import page: the upload form, and a dry run's findings when there are any."""
    lang = current_lang()
    return render_template(
        "staff/import.html", region=region, regions=_atlas().regions(), datum=datum,
        sheet=sheet, datums=[(d, datum_labels()[d]) for d in DATUMS], suffixes=IMPORT_SUFFIXES,
        problem_text=problem_text, hours_in_words=lambda hours: hours_text(hours, lang),
        **shown_plan,
    ), status


@bp.route("/import", methods=["GET", "POST"])
@requires("staff")
def import_stations():
    """Bulk import: upload a file for a dry run that lists its problems (the first
    ``IMPORT_PROBLEM_LIMIT``, and how many more there are), then import all its rows in one
    transaction, or none."""
    region = _atlas().region_or_default(request.values.get("region"))
    datum = request.values.get("datum", "wgs84")
    if datum not in DATUMS:
        datum = "wgs84"
    sheet = request.values.get("sheet", "").strip()
    if request.method == "GET":
        return _import_page(region, datum, sheet)
    importing = request.form.get("step") == "import"
    if importing:
        filename = request.form.get("filename", "")
        kept = _claim_upload(request.form.get("upload", ""))
        if kept is None:
            return _import_page(region, datum, sheet, 422, failure=_(
                "The uploaded file is no longer here; upload it again."))
    else:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            return _import_page(region, datum, sheet, 422,
                                failure=_("Choose a file to import."))
        filename, kept = upload.filename, _keep_upload(upload.stream)
    importable = False
    try:
        plan = _plan(kept, filename, region, datum, sheet)
        importable = plan.importable
    except RecordsError as error:
        return _import_page(region, datum, sheet, 422, failure=records_error_text(error))
    finally:
        if importing or not importable:  # only a clean dry run's upload waits for its import
            kept.unlink()
    if importing and importable:
        try:
            added = _atlas().apply_import(plan, current_user.username)
        except StationInvalid as error:
            return _import_page(region, datum, sheet, 422, failure=str(error))
        flash(_("%(n)s stations imported from %(file)s.", n=len(added), file=filename))
        return redirect(url_for(".stations", region=region.id, sort="updated", order="desc"))
    return _import_page(
        region, datum, sheet, 200 if importable else 422, plan=plan, updates=plan.updates,
        filename=filename, importable=importable, upload=kept.name if importable else "",
    )


@bp.get("/import/template")
@requires("staff")
def import_template():
    """Download the Excel template for new stations, in the page's language: an example row
    and a sheet explaining every column and its accepted values."""
    lang = current_lang()
    return send_file(io.BytesIO(station_template(lang)), mimetype=EXPORT_TYPES["xlsx"],
                     as_attachment=True, download_name=TEMPLATE_NAMES[lang])


@bp.get("/export")
@rate_limited
@requires("viewer")
def export():
    """Download a region's stations as CSV, Excel, GeoJSON or GeoPackage (written in the job
    pool); CSV and Excel files in the page's language."""
    atlas = _atlas()
    try:
        region = atlas.region(request.args.get("region", ""))
    except RegionError as error:
        abort(400, description=str(error))
    fmt = request.args.get("format", "csv")
    if fmt not in EXPORT_FORMATS:
        abort(400, description=_("Unknown format %(format)s; use csv, xlsx, geojson or gpkg.",
                                 format=fmt))
    stations = atlas.store.list(region=region.id)
    lang = current_lang()
    data = run_job("export", lambda: export_stations(stations, fmt, region.attribution, lang))
    return send_file(io.BytesIO(data), mimetype=EXPORT_TYPES[fmt], as_attachment=True,
                     download_name=f"stations-{region.id}.{fmt}")
