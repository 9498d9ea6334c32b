"""Helpers and test data shared by several test modules: accounts and a hand-moved clock, the
staff app and its forms, stations in the store, hand-made networks and small OSM files.

Fixtures live in ``tests/conftest.py``; a test module imports helpers from here, never from
another test module.
"""

import dataclasses
import io
import math
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import osmium
from alembic.config import Config
from click.testing import CliRunner
from sqlalchemy import Connection

from geo.accounts import AccountStore
from geo.network import Network
from geo.stations import Station
from geo.store import EARTH_RADIUS_M, MIGRATIONS, StationStore
from tests.two_districts import lonlat
from web import create_app
from web.cli import main
from web.static import bundle_fingerprint

DATA = Path(__file__).resolve().parent / "data"

#: A small OSM file of a few streets in Nanjing.
SMALL = DATA / "small.osm"

#: Station files for the import tests.
RECORDS = DATA / "records"

# --- accounts ---------------------------------------------------------------------------------

PASSWORD = "长城-correct-horse"

#: A cheap password hash for the tests that check many passwords (production uses scrypt).
FAST_HASH = "pbkdf2:sha256:1000"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


# --- stations in the store --------------------------------------------------------------------

#: Where :func:`xinjiekou_station` stands.
STORE_XINJIEKOU = (118.7784, 32.0411)


def xinjiekou_station(**changes) -> Station:
    """A valid station in Nanjing with Chinese text and amenities."""
    station = Station(
        name="新街口爱心驿站",
        region="nanjing",
        kind="love_station",
        lon=STORE_XINJIEKOU[0],
        lat=STORE_XINJIEKOU[1],
        address="南京市玄武区中山路 1 号",
        host="中国移动新街口营业厅",
        union="玄武区总工会",
        amenities=("drinking_water", "microwave", "phone_charging"),
        opening_hours="Mo-Su 08:00-20:00",
        phone="(025) 8888-1234",
        capacity=12,
        verified_on=date(2024, 5, 1),
        notes="夏季提供防暑降温用品",
    )
    return dataclasses.replace(station, **changes)


def moved(lon: float, lat: float, north_m: float, east_m: float) -> tuple[float, float]:
    """The point ``north_m`` metres north and ``east_m`` metres east of (lon, lat), on the
    sphere the store measures on."""
    dlat = math.degrees(north_m / EARTH_RADIUS_M)
    dlon = math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return lon + dlon, lat + dlat


def migrations_config(connection: Connection) -> Config:
    """The Alembic configuration the store uses, on the given connection."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    config.attributes["connection"] = connection
    return config


def run_together(workers: int, work: Callable[[int], None]) -> None:
    """Run ``work(i)`` for i in range(workers), each in its own thread, all at once."""
    start = threading.Barrier(workers)

    def run(i: int) -> None:
        start.wait()
        work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()



@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """Create a database named ``yizhan_test_<random>`` on the server, drop it afterwards.

    Yields:
        Its URL, as a plain ``postgresql://`` URL like the server's.
    """
    import psycopg

    name = f"yizhan_test_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
        try:
            yield server_url.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


# --- the app ----------------------------------------------------------------------------------

#: A point on the streets of Xinjiekou, Nanjing (WGS-84).
XINJIEKOU = (118.7790, 32.0418)

#: A station name that would run as a script if it were not escaped.
SCRIPT_NAME = "<script>alert(1)</script>"

#: A new station at Xinjiekou, as an API client sends it.
NEW = {"name": "新街口爱心驿站", "region": "nanjing", "kind": "love_station",
       "lon": XINJIEKOU[0], "lat": XINJIEKOU[1], "amenities": ["drinking_water", "toilet"],
       "opening_hours": "Mo-Su 08:00-20:00", "capacity": 8, "verified_on": "2024-05-01"}

#: An asset link in a page: ``href`` or ``src`` under ``/static/`` or ``/vendor/``.
ASSET_LINK = re.compile(r'(?:href|src)="(/(?:static|vendor)/[^"]+)"')


def make_app(folder: Path, clock: Clock | None = None, **config):
    """An app with a store of its own and no demo stations; its accounts hash passwords
    cheaply and measure lock-outs on ``clock``."""
    app = create_app({"DATABASE_URL": f"sqlite:///{folder}/yizhan.db", "SEED_DEMO": False,
                      **config})
    app.testing = True
    app.extensions["accounts"] = AccountStore(
        app.extensions["database"], clock=clock or Clock(datetime.now(UTC)),
        password_method=FAST_HASH)
    return app


def demo_app(folder: Path):
    """An app with its own SQLite store, seeded with the demo stations."""
    app = create_app({"DATABASE_URL": f"sqlite:///{folder}/y.db"})
    app.testing = True
    return app


def store(app) -> StationStore:
    return app.extensions["atlas"].store


def csrf_token(client, url: str = "/sign-in") -> str:
    """The CSRF token a page of the client's session carries."""
    page = client.get(url)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def sign_in(client, name: str, password: str = PASSWORD):
    return client.post("/sign-in", data={"username": name, "password": password,
                                         "csrf_token": csrf_token(client)})


def signed_in(app, role: str, name: str | None = None):
    """A client signed in to a new account with ``role`` (named after the role by default)."""
    app.extensions["accounts"].add_user(name or role, PASSWORD, role)
    client = app.test_client()
    assert sign_in(client, name or role).status_code == 302
    return client


def token_for(app, role: str, name: str | None = None) -> dict[str, str]:
    """The Authorization header of a new account with ``role``."""
    accounts = app.extensions["accounts"]
    accounts.add_user(name or role, PASSWORD, role)
    return {"Authorization": f"Bearer {accounts.issue_token(name or role)}"}


def post(client, url: str, data: dict):
    """POST a form as the page sends it: with the session's CSRF token."""
    return client.post(url, data={**data, "csrf_token": csrf_token(client)})


def station_form(**changes) -> dict:
    """The add form filled in for a station at Xinjiekou."""
    form = {
        "region": "nanjing", "name": "新街口爱心驿站", "kind": "love_station", "status": "open",
        "level": "district", "lon": str(XINJIEKOU[0]), "lat": str(XINJIEKOU[1]),
        "datum": "wgs84", "address": "南京市玄武区中山路 1 号", "host": "中国移动新街口营业厅",
        "union": "玄武区总工会", "amenities": ["drinking_water", "toilet"],
        "opening_hours": "Mo-Su 08:00-20:00", "phone": "(025) 8888-1234", "capacity": "8",
        "verified_on": "2024-05-01", "notes": "",
    }
    return {**form, **changes}


def edit_form(station: Station, **changes) -> dict:
    """The edit form of a stored station, as its page fills it, with some fields changed."""
    form = station_form(
        name=station.name, kind=station.kind, status=station.status, level=station.level,
        lon=repr(station.lon), lat=repr(station.lat), address=station.address,
        host=station.host, union=station.union, amenities=list(station.amenities),
        opening_hours=station.opening_hours, phone=station.phone,
        capacity="" if station.capacity is None else str(station.capacity),
        verified_on=station.verified_on.isoformat() if station.verified_on else "",
        notes=station.notes, version=str(station.version),
    )
    del form["region"]
    return {**form, **changes}


def add(app, name: str = "新街口爱心驿站", at: tuple[float, float] = XINJIEKOU, **fields):
    """Store a station directly, as someone else would have."""
    return store(app).add(Station(name=name, region="nanjing", kind="love_station", lon=at[0],
                                  lat=at[1], **fields), actor="someone")


def nearest_ids(client, at: tuple[float, float], limit: int = 3) -> list[int]:
    """The ids of the nearest open stations the worker API answers with."""
    body = client.get(f"/api/v1/nearest?lon={at[0]}&lat={at[1]}&limit={limit}").get_json()
    return [f["properties"]["id"] for f in body["features"]
            if f["properties"]["feature_type"] == "station"]


def upload(client, path: Path, datum: str = "wgs84"):
    """Send a station file to the import's dry run."""
    return client.post("/staff/import", data={
        "csrf_token": csrf_token(client), "step": "check", "region": "nanjing", "datum": datum,
        "file": (io.BytesIO(path.read_bytes()), path.name),
    }, content_type="multipart/form-data")


def pages(station) -> list[str]:
    """The pages a signed-in admin opens, with ``station``'s own."""
    return ["/?lang=en", "/planner?region=nanjing&group=couriers&threshold=3", "/sign-in",
            "/staff?region=nanjing", f"/staff/stations/{station.id}",
            f"/staff/stations/{station.id}/history", f"/staff/stations/{station.id}/edit",
            "/staff/stations/new?region=nanjing", "/staff/import", "/staff/scenarios",
            "/staff/users"]


def run(*args: str):
    """Run the ``yizhan`` command in this process."""
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def run_cli(*args: str, stdin: str | None = None):
    """Run the ``yizhan`` command in this process with ``stdin`` as its standard input, as a
    user would: an error ends it with its exit code."""
    return CliRunner().invoke(main, list(args), input=stdin)


# --- hand-made networks -----------------------------------------------------------------------

# A 2 x 4 grid plus a separate piece, coordinates in Nanjing:
#
#   0 --> 1 --> 2 --- 3        8 --- 9
#   |     |     |     |
#   4 --- 5 --- 6 --- 7
#
# 0 -> 1 and 1 -> 2 are one-way; every other street runs both ways. Each row step takes 60 s
# and is 100 m long, except 5 - 6, a fast 300 m road taking 30 s.
ONE_WAY = [(0, 1, 60, 100), (1, 2, 60, 100)]
TWO_WAY = [
    (2, 3, 60, 100), (4, 5, 60, 100), (5, 6, 30, 300), (6, 7, 60, 100),
    (0, 4, 60, 100), (1, 5, 60, 100), (2, 6, 60, 100), (3, 7, 60, 100), (8, 9, 60, 100),
]


def grid_network() -> Network:
    """The network drawn above."""
    edges = ONE_WAY + TWO_WAY + [(v, u, t, m) for u, v, t, m in TWO_WAY]
    u, v, t, m = (np.array(c) for c in zip(*edges, strict=True))
    lon = 118.78 + 0.001 * np.array([0, 1, 2, 3, 0, 1, 2, 3, 6, 7])
    lat = 32.04 + 0.001 * np.array([1, 1, 1, 1, 0, 0, 0, 0, 1, 1])
    return Network.from_edges("walk", np.arange(10) + 100, lon, lat, u, v, m, t)


def station_at(net: Network, node: int, name: str, **fields) -> Station:
    """A station placed exactly on a node of ``net``."""
    fields.setdefault("kind", "love_station")
    return Station(name=name, region="test", lon=float(net.lon[node]), lat=float(net.lat[node]),
                   **fields)


# --- OSM files --------------------------------------------------------------------------------

#: A way cut by the edge of an extract: nodes 3, 7 and 9 are missing.
CLIPPED = """<?xml version="1.0"?>
<osm version="0.6">
 <node id="1" lat="32.0400" lon="118.7800"/>
 <node id="2" lat="32.0400" lon="118.7810"/>
 <node id="4" lat="32.0400" lon="118.7830"/>
 <node id="5" lat="32.0400" lon="118.7840"/>
 <node id="6" lat="32.0400" lon="118.7850"/>
 <node id="8" lat="32.0400" lon="118.7870"/>
 <node id="10" lat="32.0410" lon="118.7840"/>
 <way id="2"><nd ref="5"/><nd ref="10"/><tag k="highway" v="footway"/></way>
 <way id="1">
  <nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="5"/><nd ref="6"/>
  <nd ref="7"/><nd ref="8"/><nd ref="9"/>
  <tag k="highway" v="residential"/>
 </way>
</osm>
"""

#: What a clip of :mod:`tests.two_districts` to 东区 keeps: the nodes inside, way 2 whole (with
#: node 3 between the districts and node 4 in 西区), the industrial multipolygon whole (way 12
#: has no node inside), the district's and the village's boundaries and the bus route over way 2.
EAST = (
    {1, 2, 3, 4, 8, 9, 11, 12, 13, 14, 1001, 1002, 1003, 1004, 1021, 1022, 1023, 1024},
    {1, 2, 5, 11, 12, 13, 901, 903},
    {101, 103, 107, 201},
)


def contents(path):
    """The node, way and relation ids of an OSM file."""
    found: dict[str, set[int]] = {"n": set(), "w": set(), "r": set()}
    for obj in osmium.FileProcessor(str(path)):
        found[obj.type_str()].add(obj.id)
    return found["n"], found["w"], found["r"]


def triangle():
    """A triangle inside 东区 of :mod:`tests.two_districts`, as a GeoJSON geometry."""
    return {"type": "Polygon", "coordinates": [[lonlat(1, 4), lonlat(9, 4), lonlat(5, 9.5),
                                                lonlat(1, 4)]]}


#: How a fingerprinted asset is cached: for a year, never asked for again.
IMMUTABLE = "public, max-age=31536000, immutable"


def asset_links(client, path: str) -> list[str]:
    """The asset URLs a page links."""
    page = client.get(path)
    assert page.status_code == 200, path
    return ASSET_LINK.findall(page.text)


def fingerprinted(url: str) -> bool:
    """Whether an asset URL carries its bundle's current fingerprint."""
    match = re.fullmatch(r"/(?:static|vendor/(\w+))/(\w{12})/.+", url)
    return bool(match) and match[2] == bundle_fingerprint(match[1] or "static")
