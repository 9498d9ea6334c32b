"""Load and fault test: the app under concurrent importers, editors and readers, on SQLite and
on PostGIS, then killed in the middle of an import.

For each back end it starts the app as ``yizhan serve`` does (gunicorn, two worker processes)
in a child process on 127.0.0.1 (a free port), over a new database (a SQLite file, or a scratch
PostgreSQL database it creates and drops; PostGIS is skipped with a message when the server is
unreachable), and for ``--seconds``:

- importers sign in on the staff pages and send a file of ``--rows`` new stations to
  ``/staff/import``, the dry run and then the import, with the session's CSRF token;
- editors ``PATCH /api/v1/stations/<id>`` with ``If-Match`` and a bearer token, and on 409
  read the stored version and try again;
- readers ask ``/api/v1/nearest`` and ``/api/v1/stations``.

Then the fault: it starts the import of a ``--kill-rows`` file and kills the server with
SIGKILL (the master and its workers) as soon as the import's write transaction is open, and
starts the server again. Last it checks that the killed file's stations are all stored or none
of them, and that every accepted write is stored: each accepted edit in its station's history
with its version and value, each imported file's stations all present.

It prints a table per back end and exits 1 if any request got a 5xx answer, an accepted write
is missing or the killed import left part of its rows. Every request goes to 127.0.0.1; every
loop ends by the clock.

    python scripts/load_fault.py [--seconds 30] [--importers 2] [--editors 6] [--readers 3]
        [--rows 2000] [--kill-rows 30000] [--backend both|sqlite|postgis] [--postgres URL]
        [--instance DIR] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.accounts import AccountStore  # noqa: E402
from geo.database import Database  # noqa: E402
from geo.stations import Station  # noqa: E402
from geo.store import StationStore  # noqa: E402

REGION = "nanjing"
#: Where the stations go: around Xinjiekou, inside the demo region.
CENTRE = (118.7784, 32.0411)
#: Half the width and height of the box new stations are placed in, in degrees.
SPREAD = (0.008, 0.006)
#: Stations the editors change.
EDITED_STATIONS = 12
PASSWORD = "load-and-fault-1"
#: How long one request may take, and the server may take to start, in seconds.
REQUEST_TIMEOUT_S = 120
START_TIMEOUT_S = 300
#: Tries of one edit before the editor gives up on it (each 409 is one).
EDIT_TRIES = 50

#: The child process: the app, without demo stations, served as ``yizhan serve`` serves it.
SERVER = """
import sys
from web import create_app
from web.serve import Server, server_options, warm
app = create_app({"SEED_DEMO": False})
warm(app)
Server(app, server_options("127.0.0.1", int(sys.argv[1]), 2, int(sys.argv[2]), None)).run()
"""


@dataclasses.dataclass
class Tally:
    """What one kind of worker did.

    Attributes:
        requests: requests sent.
        errors: requests answered with a 5xx status (or not answered at all).
        accepted: writes the app accepted (edits, or imported files).
        found: accepted writes found stored afterwards.
    """

    requests: int = 0
    errors: int = 0
    accepted: int = 0
    found: int = 0


@dataclasses.dataclass
class Run:
    """One back end's run: a tally per kind of worker, and what a check found."""

    backend: str
    tallies: dict[str, Tally]
    edits: list[tuple[int, int, str]] = dataclasses.field(default_factory=list)
    imports: list[list[str]] = dataclasses.field(default_factory=list)
    killed_import: str = ""
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def count(self, kind: str, response: requests.Response | None) -> None:
        """Count one request and whether it failed on the server's side."""
        with self.lock:
            tally = self.tallies[kind]
            tally.requests += 1
            tally.errors += response is None or response.status_code >= 500

    def ok(self) -> bool:
        """Whether no request failed, every accepted write was found and the kill left no
        partial import."""
        return (all(t.errors == 0 and t.found == t.accepted for t in self.tallies.values())
                and not self.killed_import.startswith("partial"))


# --- the server -------------------------------------------------------------------------------

def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def server(env: dict[str, str], log: Path, threads: int = 8) -> Iterator[tuple[str, Callable]]:
    """Run the app in a child process until the block ends.

    Yields:
        Its base URL, and a function that kills it with SIGKILL.
    """
    port = free_port()
    with open(log, "ab") as out:
        child = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(threads)],
                                 env=env, cwd=ROOT, stdout=out, stderr=out,
                                 start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if child.poll() is not None:
                raise RuntimeError(f"the server stopped at start; see {log}")
            try:
                if requests.get(f"{base}/api/v1/regions", timeout=5).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start in {START_TIMEOUT_S} s")
            time.sleep(0.2)
        yield base, lambda: os.killpg(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
        child.wait()


@contextmanager
def database(backend: str, admin_url: str, folder: Path) -> Iterator[str]:
    """A new, empty database for one run: a SQLite file, or a scratch PostgreSQL database that
    is dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'load.db'}"
        return
    import psycopg

    name = f"yizhan_load_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def postgis_reason(admin_url: str) -> str | None:
    """Why PostGIS cannot be used at the URL, or None if it can."""
    try:
        import psycopg

        with psycopg.connect(admin_url, connect_timeout=3) as connection:
            if connection.execute("SELECT 1 FROM pg_available_extensions "
                                  "WHERE name = 'postgis'").fetchone() is None:
                return f"PostGIS is not installed on {admin_url}"
    except Exception as error:  # noqa: BLE001 (any failure means: skip, and say why)
        return f"PostgreSQL is unreachable at {admin_url}: {' '.join(str(error).split())}"
    return None


# --- the workers ------------------------------------------------------------------------------

def station_file(names: list[str], rng: random.Random) -> bytes:
    """A CSV file of new stations with these names, spread around the centre."""
    rows = ["name,kind,lon,lat"] + [
        f"{name},love_station,{CENTRE[0] + rng.uniform(-1, 1) * SPREAD[0]:.6f},"
        f"{CENTRE[1] + rng.uniform(-1, 1) * SPREAD[1]:.6f}" for name in names
    ]
    return ("\n".join(rows) + "\n").encode()


def csrf_token(page: str) -> str:
    """The CSRF token a page's form carries."""
    return re.search(r'name="csrf_token" value="([^"]+)"', page)[1]


def signed_in(base: str) -> requests.Session:
    """A browser-like session signed in as the staff account."""
    session = requests.Session()
    token = csrf_token(session.get(f"{base}/sign-in", timeout=REQUEST_TIMEOUT_S).text)
    answer = session.post(f"{base}/sign-in", data={
        "username": "loader", "password": PASSWORD, "csrf_token": token,
    }, allow_redirects=False, timeout=REQUEST_TIMEOUT_S)
    if answer.status_code != 302:
        raise RuntimeError(f"signing in was answered {answer.status_code}")
    return session


def send(run: Run, kind: str, call: Callable[[], requests.Response]) -> requests.Response | None:
    """Send one request and count it; None if it got no answer."""
    try:
        response = call()
    except requests.RequestException:
        response = None
    run.count(kind, response)
    return response


def check_and_import(run: Run, session: requests.Session, base: str, data: bytes,
                     kill_when_writing: tuple[str, Callable[[], None]] | None = None
                     ) -> requests.Response | None:
    """Send a station file to the import's dry run, then import it if the dry run offers to.

    Args:
        kill_when_writing: a database URL and a function that kills the server: it is called
            as soon as a write transaction is open in the database while the import runs.

    Returns:
        The import's answer (302 when it was imported), or None if it was not offered or
        got no answer.
    """
    page = send(run, "importer", lambda: session.get(f"{base}/staff/import",
                                                     timeout=REQUEST_TIMEOUT_S))
    if page is None or page.status_code != 200:
        return None
    checked = send(run, "importer", lambda: session.post(
        f"{base}/staff/import", timeout=REQUEST_TIMEOUT_S,
        data={"csrf_token": csrf_token(page.text), "step": "check", "region": REGION,
              "datum": "wgs84"},
        files={"file": ("stations.csv", data, "text/csv")}))
    form = checked is not None and re.search(r'<form[^>]*id="import-form".*?</form>',
                                             checked.text, re.S)
    if not form:
        return None
    fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form[0]))
    importing = lambda: session.post(  # noqa: E731
        f"{base}/staff/import", data=fields, allow_redirects=False, timeout=REQUEST_TIMEOUT_S)
    if kill_when_writing is None:
        return send(run, "importer", importing)
    url, kill = kill_when_writing
    answers: list[requests.Response | None] = []

    def send_import() -> None:
        try:
            answers.append(importing())
        except requests.RequestException:
            answers.append(None)

    sending = threading.Thread(target=send_import)
    sending.start()
    while sending.is_alive():
        if writing(url):
            kill()
            sending.join()
            return None  # the request the server was killed in is not counted
        time.sleep(0.01)
    sending.join()
    run.count("importer", answers[0])
    return answers[0]


def importer(run: Run, base: str, number: int, rows: int, deadline: float) -> None:
    """Import files of new stations until the deadline."""
    session = signed_in(base)
    rng = random.Random(number)
    batch = 0
    while time.monotonic() < deadline:
        names = [f"负载 {run.backend} {number}-{batch}-{i}" for i in range(rows)]
        answer = check_and_import(run, session, base, station_file(names, rng))
        if answer is not None and answer.status_code == 302:
            with run.lock:
                run.tallies["importer"].accepted += 1
                run.imports.append(names)
        batch += 1


def editor(run: Run, base: str, number: int, token: str, ids: list[int],
           deadline: float) -> None:
    """Change stations' notes until the deadline, each change based on the version read and
    tried again with the stored version after a conflict."""
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(1000 + number)
    edit = 0
    while time.monotonic() < deadline:
        station_id = rng.choice(ids)
        url = f"{base}/api/v1/stations/{station_id}"
        value = f"editor {number} edit {edit}"
        edit += 1
        answer = None
        for _ in range(EDIT_TRIES):
            read = send(run, "editor", lambda: requests.get(url, timeout=REQUEST_TIMEOUT_S))
            if read is None or read.status_code != 200:
                break
            answer = send(run, "editor", lambda: requests.patch(
                url, json={"notes": value}, timeout=REQUEST_TIMEOUT_S,
                headers={**headers, "If-Match": read.headers["ETag"]}))
            if answer is None or answer.status_code != 409:
                break
        else:
            continue
        if answer is not None and answer.status_code == 200:
            version = int(answer.headers["ETag"].strip('"'))
            with run.lock:
                run.tallies["editor"].accepted += 1
                run.edits.append((station_id, version, value))


def reader(run: Run, base: str, number: int, deadline: float) -> None:
    """Ask for the nearest stations and the station list until the deadline."""
    rng = random.Random(2000 + number)
    while time.monotonic() < deadline:
        lon = CENTRE[0] + rng.uniform(-1, 1) * SPREAD[0]
        lat = CENTRE[1] + rng.uniform(-1, 1) * SPREAD[1]
        send(run, "reader", lambda: requests.get(
            f"{base}/api/v1/nearest", timeout=REQUEST_TIMEOUT_S,
            params={"region": REGION, "lon": f"{lon:.6f}", "lat": f"{lat:.6f}", "k": 3}))
        send(run, "reader", lambda: requests.get(
            f"{base}/api/v1/stations", params={"region": REGION}, timeout=REQUEST_TIMEOUT_S))


# --- one back end -----------------------------------------------------------------------------

def prepare(url: str, editors: int) -> tuple[list[int], list[str]]:
    """Make the staff account, the editors' tokens and the stations they edit."""
    database = Database(url)
    accounts = AccountStore(database)
    accounts.add_user("loader", PASSWORD, "staff")
    tokens = [accounts.issue_token("loader") for _ in range(editors)]
    store = StationStore(database)
    stations = store.add_many([
        Station(name=f"编辑 {i}", region=REGION, kind="love_station",
                lon=CENTRE[0] + (i - EDITED_STATIONS / 2) * 0.001, lat=CENTRE[1])
        for i in range(EDITED_STATIONS)
    ], action="create")
    store.close()
    return [s.id for s in stations], tokens


def verify(run: Run, url: str) -> None:
    """Count the accepted writes that are stored."""
    store = StationStore(Database(url))
    histories: dict[int, dict[int, object]] = {}
    run.tallies["editor"].found = 0
    for station_id, version, value in run.edits:
        if station_id not in histories:
            histories[station_id] = {e.version: e.changes.get("notes", [None, None])[1]
                                     for e in store.history(station_id)}
        run.tallies["editor"].found += histories[station_id].get(version) == value
    stored = {s.name for s in store.list(region=REGION)}
    run.tallies["importer"].found = sum(all(n in stored for n in names) for names in run.imports)
    store.close()


def kill_during_import(run: Run, base: str, kill: Callable[[], None], url: str,
                       rows: int) -> bool:
    """Start importing a file of new stations and kill the server with SIGKILL as soon as the
    import's write transaction is open.

    Returns:
        Whether the server was killed (else the import ended first).
    """
    names = [f"中断 {run.backend} {i}" for i in range(rows)]
    answer = check_and_import(run, signed_in(base), base,
                              station_file(names, random.Random(7)),
                              kill_when_writing=(url, kill))
    return answer is None


def killed_import(url: str, rows: int, killed: bool) -> str:
    """Say whether the killed import's stations are all stored, none, or some (which must
    never happen)."""
    store = StationStore(Database(url))
    stored = sum(1 for s in store.list(region=REGION) if s.name.startswith("中断 "))
    store.close()
    if not killed:
        return f"not killed: the import ended first ({stored} of {rows} stored)"
    if stored == 0:
        return "killed in its transaction, none stored"
    return f"partial: killed in its transaction, {stored} of {rows} stored"


def writing(url: str) -> bool:
    """Whether a write transaction is open in the database (other than this check's)."""
    if url.startswith("sqlite:///"):
        probe = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0,
                                isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()
    import psycopg

    with psycopg.connect(url) as connection:
        return connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()").fetchone()[0] > 0


def run_backend(backend: str, args: argparse.Namespace, folder: Path) -> Run:
    """Load one back end, check it, then kill it during an import."""
    run = Run(backend, {kind: Tally() for kind in ("importer", "editor", "reader")})
    log = folder / f"server-{backend}.log"
    with database(backend, args.postgres, folder) as url:
        ids, tokens = prepare(url, args.editors)
        env = {**os.environ, "YIZHAN_INSTANCE": str(args.instance), "DATABASE_URL": url,
               "YIZHAN_SECURE_COOKIES": "0", "YIZHAN_SECRET_KEY": secrets.token_hex(32)}
        with server(env, log) as (base, kill):
            requests.get(f"{base}/api/v1/nearest", timeout=START_TIMEOUT_S, params={
                "region": REGION, "lon": CENTRE[0], "lat": CENTRE[1]})  # build the networks
            deadline = time.monotonic() + args.seconds
            workers = (
                [threading.Thread(target=importer, args=(run, base, i, args.rows, deadline))
                 for i in range(args.importers)]
                + [threading.Thread(target=editor, args=(run, base, i, t, ids, deadline))
                   for i, t in enumerate(tokens)]
                + [threading.Thread(target=reader, args=(run, base, i, deadline))
                   for i in range(args.readers)]
            )
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            killed = bool(args.kill_rows) and kill_during_import(run, base, kill, url,
                                                                  args.kill_rows)
        if killed:
            with server(env, log) as (base, _):  # the app starts again on its database
                requests.get(f"{base}/api/v1/stations", params={"region": REGION}, timeout=60)
        if args.kill_rows:
            run.killed_import = killed_import(url, args.kill_rows, killed)
        verify(run, url)  # after the kill too: what was accepted before it is still there
    return run


def table(run: Run) -> str:
    """The run as a table."""
    lines = [f"{run.backend}:",
             f"  {'':10}{'requests':>10}{'5xx':>7}{'accepted writes':>17}{'found stored':>14}"]
    for kind, t in run.tallies.items():
        writes = "" if kind == "reader" else t.accepted
        found = "" if kind == "reader" else t.found
        lines.append(f"  {kind:10}{t.requests:>10}{t.errors:>7}{writes:>17}{found:>14}")
    if run.killed_import:
        lines.append(f"  SIGKILL during an import: {run.killed_import}")
    return "\n".join(lines)


def main() -> int:
    """Run the chosen back ends and print what happened."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="load time per back end")
    parser.add_argument("--importers", type=int, default=2)
    parser.add_argument("--editors", type=int, default=6)
    parser.add_argument("--readers", type=int, default=3)
    parser.add_argument("--rows", type=int, default=2000, help="stations per imported file")
    parser.add_argument("--kill-rows", type=int, default=30000,
                        help="stations of the import the server is killed in (0: no kill)")
    parser.add_argument("--backend", choices=("both", "sqlite", "postgis"), default="both")
    parser.add_argument("--postgres", default=os.environ.get(
        "YIZHAN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL URL of a role that may create databases")
    parser.add_argument("--instance", type=Path, default=None,
                        help="instance folder (its network cache is reused); a new one if absent")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="yizhan-load-") as scratch:
        folder = Path(scratch)
        args.instance = args.instance or folder / "instance"
        backends = ["sqlite", "postgis"] if args.backend == "both" else [args.backend]
        runs, skipped = [], {}
        for backend in backends:
            reason = postgis_reason(args.postgres) if backend == "postgis" else None
            if reason:
                skipped[backend] = reason
                print(f"postgis: skipped: {reason}", file=sys.stderr)
                continue
            runs.append(run_backend(backend, args, folder))
            if not args.json:
                print(table(runs[-1]), flush=True)
        if args.json:
            print(json.dumps({
                "runs": {r.backend: {"tallies": {k: dataclasses.asdict(t)
                                                 for k, t in r.tallies.items()},
                                     "killed_import": r.killed_import} for r in runs},
                "skipped": skipped,
            }))
        failed = [r for r in runs if not r.ok()]
        for run in failed:
            log = folder / f"server-{run.backend}.log"
            print(f"{run.backend}: FAILED; the server's log:\n{log.read_text()[-5000:]}",
                  file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
