"""The staff pages' bulk import and export of station records.

``/staff/import`` checks an uploaded CSV, Excel or GeoJSON file (the import plan of
:meth:`geo.atlas.Atlas.plan_import`) and lists its problems; a clean file waits, under a random
name in the instance folder, for the import that stores all its rows in one transaction
(:meth:`geo.atlas.Atlas.apply_import`). ``/staff/export`` downloads a region's stations.
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
    Atlas,
    ImportPlan,
    RecordsError,
    Region,
    RegionError,
    StationInvalid,
    export_stations,
    open_private,
    private_folder,
)
from web.auth import requires
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


def _plan(kept: Path, filename: str, region: Region, datum: str) -> ImportPlan:
    """Plan the import of a kept station file (:meth:`geo.atlas.Atlas.plan_import`), listing
    as many problems as the setting ``IMPORT_PROBLEM_LIMIT`` says."""
    with kept.open("rb") as file:
        return _atlas().plan_import(
            region.id, file, filename, datum,
            current_app.config.get("IMPORT_PROBLEM_LIMIT", IMPORT_PROBLEM_LIMIT))


def _import_page(region: Region, datum: str, status: int = 200, **shown_plan):
    """The import page: the upload form, and a dry run's findings when there are any."""
    return render_template(
        "staff/import.html", region=region, regions=_atlas().regions(), datum=datum,
        datums=[(d, datum_labels()[d]) for d in DATUMS], suffixes=IMPORT_SUFFIXES,
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
    if request.method == "GET":
        return _import_page(region, datum)
    importing = request.form.get("step") == "import"
    if importing:
        filename = request.form.get("filename", "")
        kept = _claim_upload(request.form.get("upload", ""))
        if kept is None:
            return _import_page(region, datum, 422, failure=_(
                "The uploaded file is no longer here; upload it again."))
    else:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            return _import_page(region, datum, 422, failure=_("Choose a file to import."))
        filename, kept = upload.filename, _keep_upload(upload.stream)
    importable = False
    try:
        plan = _plan(kept, filename, region, datum)
        importable = plan.importable
    except RecordsError as error:
        return _import_page(region, datum, 422, failure=str(error))
    finally:
        if importing or not importable:  # only a clean dry run's upload waits for its import
            kept.unlink()
    if importing and importable:
        try:
            added = _atlas().apply_import(plan, current_user.username)
        except StationInvalid as error:
            return _import_page(region, datum, 422, failure=str(error))
        flash(_("%(n)s stations imported from %(file)s.", n=len(added), file=filename))
        return redirect(url_for(".stations", region=region.id, sort="updated", order="desc"))
    return _import_page(
        region, datum, 200 if importable else 422, plan=plan, updates=plan.updates,
        filename=filename, importable=importable, upload=kept.name if importable else "",
    )


@bp.get("/export")
@rate_limited
@requires("viewer")
def export():
    """Download a region's stations as CSV, Excel, GeoJSON or GeoPackage (written in the job
    pool)."""
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
    data = run_job("export", lambda: export_stations(stations, fmt, region.attribution))
    return send_file(io.BytesIO(data), mimetype=EXPORT_TYPES[fmt], as_attachment=True,
                     download_name=f"stations-{region.id}.{fmt}")
