"""The staff's station API: one station with its version as the ETag, and station writes
(add, change, delete, restore) authorised by an API token or a signed-in session, each based
on the version it changes (``If-Match``)."""

from __future__ import annotations

from flask import jsonify, request, url_for

from geo import Station, VersionConflict, station_feature
from web import params
from web.api import bp, current_atlas
from web.api.access import WriteRefused, writer
from web.edits import Problem, Rejected, change_station, create_station, values_from_json
from web.params import BadParameter


def _if_match() -> int:
    """The version named by ``If-Match`` (``3``, ``"3"`` or ``W/"3"``).

    Raises:
        WriteRefused: 428 if the header is missing.
        BadParameter: it names no version.
    """
    raw = request.headers.get("If-Match")
    if raw is None:
        raise WriteRefused(428, "parameter", "If-Match",
                           "required: the version the change is based on (the station's ETag)")
    version = params.whole_number(raw.strip().removeprefix("W/").strip('"'), params.MAX_ID)
    if version is None:
        raise BadParameter("If-Match", f"must be a station version such as \"3\", got {raw!r}")
    return version


def _rejected(problems: list[Problem]) -> WriteRefused:
    """HTTP 422 naming the first bad field, with every problem listed."""
    first = problems[0]
    return WriteRefused(422, "field", first.field, first.message,
                        problems=[{"field": p.field, "message": p.message} for p in problems])


def _stored(station_id: int) -> Station:
    """A stored station that is not deleted.

    Raises:
        WriteRefused: 404 if there is none or it is deleted.
    """
    store = current_atlas().store
    try:
        deleted = store.is_deleted(station_id)
    except KeyError:
        raise WriteRefused(404, "parameter", "id", f"no station {station_id}") from None
    if deleted:
        raise WriteRefused(404, "parameter", "id",
                           f"station {station_id} is deleted; restore it first")
    return store.get(station_id)


def _station_response(station: Station, status: int = 200):
    """A station as a GeoJSON feature, its version as the ETag."""
    response = jsonify(station_feature(station))
    response.status_code = status
    response.headers["ETag"] = f'"{station.version}"'
    return response


def _conflict(conflict: VersionConflict, version: int) -> WriteRefused:
    """HTTP 409 carrying the stored station."""
    return WriteRefused(409, "parameter", "If-Match",
                        f"the station is at version {conflict.current.version}, not {version}; "
                        "nothing was changed", current=station_feature(conflict.current))


@bp.get("/stations/<id:station_id>")
def station(station_id: int):
    """One station that is not deleted, with its version as the ETag."""
    return _station_response(_stored(station_id))


@bp.post("/stations")
def add_station():
    """Add a station (staff): the JSON fields, coordinates in ``datum`` (WGS-84 if absent)."""
    actor = writer()
    values, problems = values_from_json(params.json_body(request), new=True)
    try:
        added = create_station(current_atlas(), values, actor, problems)
    except Rejected as error:
        raise _rejected(error.problems) from None
    response = _station_response(added, 201)
    response.headers["Location"] = url_for(".station", station_id=added.id)
    return response


@bp.patch("/stations/<id:station_id>")
def change_station_fields(station_id: int):
    """Change fields of a station (staff), based on the version in ``If-Match``."""
    actor = writer()
    version = _if_match()
    _stored(station_id)
    values, problems = values_from_json(params.json_body(request), new=False)
    try:
        changed = change_station(current_atlas(), station_id, values, version, actor, problems)
    except Rejected as error:
        raise _rejected(error.problems) from None
    except VersionConflict as conflict:
        raise _conflict(conflict, version) from None
    except KeyError:
        _stored(station_id)
        raise
    return _station_response(changed)


@bp.delete("/stations/<id:station_id>")
def delete_station(station_id: int):
    """Soft-delete a station (staff), based on the version in ``If-Match``; restore undoes it,
    based on the deleted station's version (the answer's ETag)."""
    actor = writer()
    version = _if_match()
    _stored(station_id)
    try:
        current_atlas().store.delete(station_id, version, actor=actor)
    except VersionConflict as conflict:
        raise _conflict(conflict, version) from None
    except KeyError:
        _stored(station_id)
        raise
    response = jsonify(id=station_id, deleted=True, version=version + 1)
    response.headers["ETag"] = f'"{version + 1}"'
    return response


@bp.post("/stations/<id:station_id>/restore")
def restore_station(station_id: int):
    """Undo the deletion of a station (staff), based on the version in ``If-Match``."""
    actor = writer()
    version = _if_match()
    store = current_atlas().store
    try:
        restored = store.restore(station_id, version, actor=actor)
    except VersionConflict as conflict:
        raise _conflict(conflict, version) from None
    except KeyError:
        try:
            current = store.get(station_id)
        except KeyError:
            raise WriteRefused(404, "parameter", "id", f"no station {station_id}") from None
        raise WriteRefused(409, "parameter", "id", f"station {station_id} is not deleted",
                           current=station_feature(current)) from None
    return _station_response(restored)
