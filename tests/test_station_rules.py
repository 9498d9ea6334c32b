"""The station rules hold wherever a station is entered: the staff form, the REST API, the import
page and the import command accept or refuse the same station the same way, just inside and
just outside the region's margin and the duplicate radius."""

import pytest
from click.testing import CliRunner

from geo.rules import (
    DUPLICATE_RADIUS_M,
    REGION_MARGIN_M,
    distance_m,
    metres_outside,
    name_key,
    nearest_duplicate,
    too_far_outside,
)
from tests.support import (
    add,
    make_app,
    moved,
    post,
    signed_in,
    station_form,
    store,
    token_for,
    upload,
)
from web.cli import main

#: A box of about 1.9 by 2.2 km around Xinjiekou.
BOX = (118.77, 32.03, 118.79, 32.05)

CHANNELS = ("form", "api", "import page", "import command")


def test_a_point_inside_the_box_is_no_distance_outside_it():
    assert metres_outside(118.78, 32.04, BOX) == 0.0


def test_a_point_outside_the_box_is_as_far_outside_as_the_boxs_nearest_point():
    east = moved(BOX[2], 32.04, 0, 1500)
    assert metres_outside(*east, BOX) == pytest.approx(1500, abs=0.01)
    corner = moved(BOX[2], BOX[3], 300, 400)
    assert metres_outside(*corner, BOX) == pytest.approx(500, abs=0.01)


def test_a_station_may_stand_up_to_the_margin_outside_the_box():
    assert too_far_outside(*moved(BOX[2], 32.04, 0, REGION_MARGIN_M - 1), BOX) is None
    beyond = too_far_outside(*moved(BOX[2], 32.04, 0, REGION_MARGIN_M + 1), BOX)
    assert beyond == pytest.approx(REGION_MARGIN_M + 1, abs=0.01)


def test_the_nearest_station_of_the_name_within_the_radius_is_the_duplicate():
    here = (118.78, 32.04)
    near, nearer, far = (moved(*here, m, 0) for m in (40, 10, DUPLICATE_RADIUS_M + 1))
    found = nearest_duplicate(*here, [(*near, "near"), (*nearer, "nearer"), (*far, "far")])
    assert found[1] == "nearer" and found[0] == pytest.approx(10, abs=0.01)
    assert nearest_duplicate(*here, [(*far, "far")]) is None
    assert distance_m(*here, *far) > DUPLICATE_RADIUS_M


def test_names_that_read_the_same_have_one_key():
    assert name_key(" 新街口 ＡＢＣ\u200b驿站 ") == name_key("新街口abc驿站")


def accepted(channel: str, app, tmp_path, monkeypatch, name: str, lon: float,
             lat: float) -> bool:
    """Whether a new love station of this name at this WGS-84 point is accepted by a channel
    (the imports only checked, the form and the API storing it)."""
    if channel == "form":
        response = post(signed_in(app, "staff"), "/staff/stations/new",
                        station_form(name=name, lon=repr(lon), lat=repr(lat)))
        return response.status_code == 302
    if channel == "api":
        body = {"region": "nanjing", "name": name, "kind": "love_station", "lon": lon,
                "lat": lat}
        response = app.test_client().post("/api/v1/stations", json=body,
                                          headers=token_for(app, "staff"))
        assert response.status_code in (201, 422)
        return response.status_code == 201
    path = tmp_path / "stations.csv"
    path.write_text(f"name,kind,lon,lat\n{name},love_station,{lon!r},{lat!r}\n",
                    encoding="utf-8")
    if channel == "import page":
        response = upload(signed_in(app, "staff"), path)
        return response.status_code == 200 and 'id="import-form"' in response.text
    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"])
    result = CliRunner().invoke(main, ["import", "--region", "nanjing", "--dry-run", str(path)])
    return result.exit_code == 0


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize(("metres", "accepts"), [(REGION_MARGIN_M - 100, True),
                                                 (REGION_MARGIN_M + 100, False)])
def test_a_station_near_the_regions_edge_is_taken_or_refused_alike_everywhere(
        tmp_path, monkeypatch, channel, metres, accepts):
    app = make_app(tmp_path)
    min_lon, min_lat, max_lon, max_lat = app.extensions["atlas"].index("nanjing").bounds
    lon, lat = moved(max_lon, (min_lat + max_lat) / 2, 0, metres)
    assert accepted(channel, app, tmp_path, monkeypatch, "江边驿站", lon, lat) is accepts


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize(("metres", "accepts"), [(DUPLICATE_RADIUS_M - 5, False),
                                                 (DUPLICATE_RADIUS_M + 5, True)])
def test_a_station_of_a_stored_name_close_by_is_taken_or_refused_alike_everywhere(
        tmp_path, monkeypatch, channel, metres, accepts):
    app = make_app(tmp_path)
    stored = add(app, "新街口爱心驿站")
    lon, lat = moved(stored.lon, stored.lat, metres, 0)
    assert accepted(channel, app, tmp_path, monkeypatch, "新街口 爱心驿站", lon, lat) is accepts
    assert store(app).count() == (2 if accepts and channel in ("form", "api") else 1)
