"""The staff pages: keep station records true.

A searchable, sortable table of a region's stations; a form to add or edit one with a map to
place it; status changes, soft delete with undo, the history of every change and the planners'
saved what-if scenarios (which staff turn into planned stations); bulk import and export are in
:mod:`web.station_files`, the accounts page in :mod:`web.admin`. Every page needs an account;
every change needs the ``staff`` role. Every change is based on the version the page showed: if
someone saved in between, a conflict page shows both versions and nothing is overwritten.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict

from geo import (
    AMENITIES,
    DATUMS,
    GROUP_KINDS,
    GROUPS,
    KINDS,
    LEVELS,
    STATUSES,
    Atlas,
    Region,
    Scenario,
    ScenarioInvalid,
    ScenarioStore,
    Station,
    VersionConflict,
    hours_error_at,
)
from web.auth import requires
from web.edits import (
    EDITABLE,
    Problem,
    Rejected,
    change_station,
    create_station,
    field_values,
    same_value,
    values_at_version,
    values_from_form,
)
from web.i18n import amenity_label, group_label, kind_label, status_label
from web.params import MAX_ID, whole_number
from web.worker import basemap_config

bp = Blueprint("staff", __name__, url_prefix="/staff")

#: Time zone every time on the staff pages is shown in.
SHANGHAI = ZoneInfo("Asia/Shanghai")

#: Columns the station table sorts by: URL value -> how a station sorts.
SORT_KEYS = {
    "name": lambda s: s.name,
    "kind": lambda s: (s.kind, s.name),
    "status": lambda s: (s.status, s.name),
    "updated": lambda s: s.updated_at,
}

def _atlas() -> Atlas:
    return current_app.extensions["atlas"]


def _region(region_id: str | None) -> Region:
    """The region named, or the default region when it is absent or unknown."""
    return _atlas().region_or_default(region_id)


def _station_or_404(station_id: int) -> tuple[Station, bool]:
    """A stored station and whether it is deleted; HTTP 404 if there is none."""
    store = _atlas().store
    try:
        return store.get(station_id), store.is_deleted(station_id)
    except KeyError:
        abort(404)


def _version() -> int:
    """The ``version`` a form was filled in from; HTTP 400 if it is missing or no number."""
    version = whole_number(request.form.get("version", ""), MAX_ID)
    if version is None:
        abort(400, description=_("The form carries no station version; reload the page."))
    return version


def field_labels() -> dict[str, str]:
    """Each station field's label in the current language."""
    return {
        "name": _("Name"), "region": _("Region"), "kind": _("Kind"), "lon": _("Longitude"),
        "lat": _("Latitude"), "status": _("Status"), "address": _("Address"),
        "host": _("Host site"), "union": _("Union"), "level": _("Union level"),
        "amenities": _("Amenities"), "opening_hours": _("Opening hours"), "phone": _("Phone"),
        "capacity": _("Capacity (people)"), "smart_24h": _("24-hour smart access"),
        "verified_on": _("Last verified on"), "notes": _("Notes"), "datum": _("Datum"),
        "demo": _("Demo data"),
    }


def action_labels() -> dict[str, str]:
    """Each history action's name in the current language."""
    return {"create": _("added"), "import": _("imported"), "demo": _("demo data generated"),
            "update": _("edited"), "status": _("status changed"), "delete": _("deleted"),
            "restore": _("restored")}


def status_actions() -> dict[str, str]:
    """Status changes offered on the pages: target status -> button label."""
    return {"open": _("Reopen"), "suspended": _("Suspend"), "closed": _("Close")}


def level_label(level: str) -> str:
    """A union level's name in the current language."""
    return LEVELS[level][1] if str(get_locale()) == "en" else LEVELS[level][0]


def datum_labels() -> dict[str, str]:
    """The coordinate datums offered, with the map apps that use them."""
    return {"wgs84": _("WGS-84 (GPS, OpenStreetMap)"), "gcj02": _("GCJ-02 (Amap, Tencent)"),
            "bd09": _("BD-09 (Baidu)")}


def problem_message(problem: Problem) -> str:
    """A problem with a submitted field, said in the current language."""
    messages = {
        "required": _("Required."),
        "number": _("Enter a number."),
        "choice": _("Choose one of the listed values."),
        "whole": _("Enter a whole number of at least 0."),
        "date": _("Enter a date as YYYY-MM-DD."),
        "datum": _("Choose one of the listed datums."),
        "range": _("The coordinates are out of range."),
        "phone": _("Use only digits, +, -, spaces and parentheses."),
        "hours": _hours_message(problem.detail),
        "outside": _("This point is outside the region %(region)s.", region=problem.detail),
        "duplicate": _("A station with the same name is within 50 m: %(other)s",
                       other=problem.detail),
    }
    return messages.get(problem.code) or _("Not accepted: %(detail)s",
                                            detail=problem.detail or problem.message)


def _hours_message(hours: str) -> str:
    """Opening hours that are not understood, said with where OSM syntax breaks and examples
    of what is understood."""
    at = hours_error_at(hours)
    if at is None:
        return _("Opening hours “%(value)s” are not understood; write them like "
                 "周一至周五 8:30-17:30, 每天 7:00-21:00, 24小时 or Mo-Fr 08:30-17:30.",
                 value=hours)
    return _("Opening hours “%(value)s” are not understood (OSM syntax breaks at character "
             "%(at)s); write them like 周一至周五 8:30-17:30, 每天 7:00-21:00, 24小时 or "
             "Mo-Fr 08:30-17:30.", value=hours, at=at)


def when(moment: datetime | None) -> str:
    """A stored time as Asia/Shanghai wall-clock time, to the second."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def shown(value: object) -> str:
    """A field value as the pages show it (lists joined, booleans as yes or no)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) if value else "—"
    return str(value)


def shown_field(name: str, value: object) -> str:
    """A field's value as the pages show it, vocabulary ids as names in the current language
    (ids no longer in a vocabulary as they are)."""
    labels = {"kind": (KINDS, kind_label), "status": (STATUSES, status_label),
              "level": (LEVELS, level_label)}
    if name in labels and value in labels[name][0]:
        return labels[name][1](value)
    if name == "amenities" and isinstance(value, (list, tuple)):
        return shown([amenity_label(a) if a in AMENITIES else a for a in value])
    return shown(value)


@bp.app_context_processor
def staff_helpers() -> dict:
    """Labels and formatters the staff templates share."""
    return {"field_labels": field_labels, "status_label": status_label,
            "kind_label": kind_label, "when": when, "shown_field": shown_field}


# --- the station table ------------------------------------------------------------------------

@bp.get("")
@requires("viewer")
def stations():
    """A region's stations: search by name, address or host; sort; show deleted ones too."""
    store = _atlas().store
    region = _region(request.args.get("region"))
    query = request.args.get("q", "").strip()
    sort = request.args.get("sort", "name")
    sort = sort if sort in SORT_KEYS else "name"
    descending = request.args.get("order") == "desc"
    with_deleted = request.args.get("deleted") == "1"
    found = store.list(region=region.id, include_deleted=with_deleted)
    live = {s.id for s in store.list(region=region.id)} if with_deleted else None
    if query:
        needle = query.casefold()
        found = [s for s in found
                 if any(needle in text.casefold() for text in (s.name, s.address, s.host))]
    found.sort(key=SORT_KEYS[sort], reverse=descending)
    undo = whole_number(request.args.get("undo", ""), MAX_ID)
    undone = None
    if undo:
        station, deleted = _station_or_404(undo)
        undone = station if deleted else None
    return render_template(
        "staff/stations.html", region=region, regions=_atlas().regions(), stations=found,
        deleted_ids=set() if live is None else {s.id for s in found} - live,
        query=query, sort=sort, descending=descending, with_deleted=with_deleted,
        undone=undone, status_actions=status_actions(),
    )


# --- one station ------------------------------------------------------------------------------

@bp.get("/stations/<id:station_id>")
@requires("viewer")
def station(station_id: int):
    """One station: every field, its status actions, edit, delete or undo, and history."""
    found, deleted = _station_or_404(station_id)
    return render_template("staff/station.html", station=found, deleted=deleted,
                           values=field_values(found), status_actions=status_actions())


@bp.get("/stations/<id:station_id>/history")
@requires("viewer")
def history(station_id: int):
    """Every recorded change of a station, newest first, field by field."""
    found, deleted = _station_or_404(station_id)
    entries = list(reversed(_atlas().store.history(station_id)))
    return render_template("staff/history.html", station=found, deleted=deleted,
                           entries=entries, actions=action_labels())


# --- adding and editing -----------------------------------------------------------------------

def _form_from_station(station: Station) -> MultiDict:
    """The form fields that show a stored station (WGS-84)."""
    values = field_values(station)
    fields = MultiDict([(name, "" if value is None else str(value))
                        for name, value in values.items() if name != "amenities"])
    fields.setlist("amenities", values["amenities"])
    fields["smart_24h"] = "1" if station.smart_24h else ""
    fields["datum"] = "wgs84"
    return fields


def _render_form(region: Region, form: MultiDict, problems: list[Problem],
                 station: Station | None, status: int = 200):
    """The add/edit form, filled with ``form``, problems shown next to their fields."""
    errors = {p.field: problem_message(p) for p in problems}
    return render_template(
        "staff/station_form.html", region=region, form=form, errors=errors, station=station,
        kinds=[(k, kind_label(k)) for k in KINDS],
        statuses=[(s, status_label(s)) for s in STATUSES],
        levels=[(lv, level_label(lv)) for lv in LEVELS],
        amenities=[(a, amenity_label(a)) for a in AMENITIES],
        datums=[(d, datum_labels()[d]) for d in DATUMS],
        map_config={"bounds": _atlas().index(region.id).bounds, **basemap_config(region)},
    ), status


@bp.route("/stations/new", methods=["GET", "POST"])
@requires("staff")
def new_station():
    """Add a station: the form, then the stored station's page."""
    if request.method == "GET":
        region = _region(request.args.get("region"))
        form = MultiDict({"region": region.id, "status": "open", "level": "district",
                          "datum": "wgs84"})
        return _render_form(region, form, [], None)
    region = _region(request.form.get("region"))
    values, problems = values_from_form(request.form)
    values["region"] = region.id
    try:
        added = create_station(_atlas(), values, current_user.username, problems)
    except Rejected as error:
        return _render_form(region, request.form, error.problems, None, 422)
    flash(_("Station %(name)s added.", name=added.name))
    return redirect(url_for(".station", station_id=added.id))


@bp.route("/stations/<id:station_id>/edit", methods=["GET", "POST"])
@requires("staff")
def edit_station(station_id: int):
    """Edit a station from the version the form shows; a stale version gets the conflict
    page."""
    found, deleted = _station_or_404(station_id)
    if deleted:
        flash(_("This station is deleted; restore it before editing it."))
        return redirect(url_for(".station", station_id=station_id))
    region = _region(found.region)
    if request.method == "GET":
        return _render_form(region, _form_from_station(found), [], found)
    version = _version()
    values, problems = values_from_form(request.form)
    values.pop("region", None)
    try:
        saved = change_station(_atlas(), station_id, values, version, current_user.username,
                               problems)
    except Rejected as error:
        return _render_form(region, request.form, error.problems, found, 422)
    except VersionConflict as conflict:
        return _edit_conflict(conflict.current, version, values)
    except KeyError:
        flash(_("Someone deleted this station while you were editing it."))
        return redirect(url_for(".station", station_id=station_id))
    flash(_("Station %(name)s saved.", name=saved.name))
    return redirect(url_for(".station", station_id=station_id))


def _edit_conflict(current: Station, version: int, values: dict[str, object]):
    """The conflict page of an edit: yours against the stored version, field by field, with
    your changes re-applied on top of the stored version ready to save."""
    base = values_at_version(_atlas().store.history(current.id), version)
    yours = field_values(dataclasses.replace(current, **values))
    stored = field_values(current)
    mine = {name for name in yours
            if not same_value(name, yours[name], base.get(name, stored[name]))}
    theirs = {name for name in stored
              if base and not same_value(name, stored[name], base.get(name))}
    merged = {**stored, **{name: yours[name] for name in mine}}
    return render_template(
        "staff/conflict.html", station=current, version=version, action=None,
        rows=[(name, yours[name], stored[name], name in mine, name in theirs)
              for name in EDITABLE if name != "region"],
        hidden=_hidden_fields(merged),
    ), 409


def _hidden_fields(values: dict[str, object]) -> list[tuple[str, str]]:
    """JSON-ready station values as the (name, value) pairs of a form, points in WGS-84."""
    pairs = [("datum", "wgs84")]
    for name, value in values.items():
        if name == "region":
            continue
        if name == "amenities":
            pairs += [("amenities", a) for a in value]
        elif name == "smart_24h":
            pairs += [("smart_24h", "1")] if value else []
        else:
            pairs.append((name, "" if value is None else str(value)))
    return pairs


# --- status, delete, restore ------------------------------------------------------------------

def _action_conflict(current: Station, version: int, action: str, target: str = ""):
    """The conflict page of a status change, delete or restore: what changed since the
    version you saw, and a button to do it on the stored version."""
    base = values_at_version(_atlas().store.history(current.id), version)
    stored = field_values(current)
    return render_template(
        "staff/conflict.html", station=current, version=version, action=action,
        target=target, status_actions=status_actions(),
        rows=[(name, base.get(name, stored[name]), stored[name], False,
               not same_value(name, base.get(name, stored[name]), stored[name]))
              for name in EDITABLE if name != "region"],
        hidden=[],
    ), 409


@bp.post("/stations/<id:station_id>/status")
@requires("staff")
def change_status(station_id: int):
    """Close, suspend or reopen a station."""
    deleted = _station_or_404(station_id)[1]
    target = request.form.get("status", "")
    if target not in status_actions() or deleted:
        abort(400, description=_("Choose close, suspend or reopen for a station that is not "
                                 "deleted."))
    version = _version()
    try:
        changed = _atlas().store.set_status(station_id, target, version,
                                            actor=current_user.username)
    except VersionConflict as conflict:
        return _action_conflict(conflict.current, version, "status", target)
    flash(_("%(name)s is now: %(status)s.", name=changed.name,
            status=status_label(changed.status)))
    if request.form.get("back") == "list":
        return redirect(url_for(".stations", region=changed.region))
    return redirect(url_for(".station", station_id=station_id))


@bp.post("/stations/<id:station_id>/delete")
@requires("staff")
def delete_station(station_id: int):
    """Soft-delete a station, then offer to undo it."""
    found, deleted = _station_or_404(station_id)
    if deleted:
        return redirect(url_for(".station", station_id=station_id))
    version = _version()
    try:
        _atlas().store.delete(station_id, version, actor=current_user.username)
    except VersionConflict as conflict:
        return _action_conflict(conflict.current, version, "delete")
    return redirect(url_for(".stations", region=found.region, undo=station_id))


@bp.post("/stations/<id:station_id>/restore")
@requires("staff")
def restore_station(station_id: int):
    """Undo the deletion of a station."""
    deleted = _station_or_404(station_id)[1]
    if not deleted:
        return redirect(url_for(".station", station_id=station_id))
    version = _version()
    try:
        restored = _atlas().store.restore(station_id, version, actor=current_user.username)
    except VersionConflict as conflict:
        return _action_conflict(conflict.current, version, "restore")
    flash(_("Station %(name)s restored.", name=restored.name))
    return redirect(url_for(".station", station_id=station_id))


# --- what-if scenarios ------------------------------------------------------------------------

def _scenarios() -> ScenarioStore:
    return current_app.extensions["scenarios"]


def planner_link(scenario: Scenario) -> str:
    """The planner showing a scenario: its region, group and threshold, and the scenario."""
    query = urlencode({"region": scenario.region, "group": scenario.group,
                       "threshold": f"{scenario.threshold_min:g}", "scenario": scenario.id})
    return f"{url_for('planner.page')}?{query}"


def _back_to_scenarios():
    """Back to the scenario list, narrowed to the region the form came from, if any."""
    return redirect(url_for(".scenarios", region=request.form.get("region") or None))


@bp.get("/scenarios")
@requires("viewer")
def scenarios():
    """The planners' saved scenarios, newest first, each with a link to the planner; staff
    turn one into planned stations or delete it."""
    region_id = request.args.get("region") or None
    return render_template(
        "staff/scenarios.html", scenarios=_scenarios().list(region_id),
        regions={r.id: r for r in _atlas().regions()}, region_id=region_id,
        kinds=[(k, kind_label(k)) for k in KINDS], default_kinds=GROUP_KINDS,
        groups=GROUPS, group_label=group_label, planner_link=planner_link,
    )


@bp.post("/scenarios/<id:scenario_id>/plan")
@requires("staff")
def plan_scenario(scenario_id: int):
    """Turn a scenario's added sites into planned stations of the chosen kind, once."""
    kind = request.form.get("kind", "")
    if kind not in KINDS:
        abort(400, description=_("Choose one of the listed station kinds."))
    try:
        created = _scenarios().create_planned_stations(
            scenario_id, _atlas().store, actor=current_user.username, kind=kind)
    except KeyError:
        abort(404)
    except ScenarioInvalid as error:
        flash(_("No stations were created: %(reason)s",
                reason=error.errors.get("scenario", str(error))))
        return _back_to_scenarios()
    links = Markup(", ").join(
        Markup('<a href="{}">{}</a>').format(url_for(".edit_station", station_id=s.id), s.name)
        for s in created)
    flash(escape(_("%(n)s planned stations created:", n=len(created))) + Markup(" ") + links)
    return _back_to_scenarios()


@bp.post("/scenarios/<id:scenario_id>/delete")
@requires("staff")
def delete_scenario(scenario_id: int):
    """Delete a scenario; stations already created from it stay."""
    store = _scenarios()
    try:
        name = store.get(scenario_id).name
        store.delete(scenario_id, actor=current_user.username)
    except KeyError:
        abort(404)
    flash(_("Scenario %(name)s deleted.", name=name))
    return _back_to_scenarios()
