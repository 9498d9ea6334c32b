"""Heavy work is bounded: recommendations, what-ifs, uncached coverage and exports run in a pool
of a few workers with a short queue and one job per client; past that the answer is 503 or 429
with Retry-After, while worker queries and cached coverage keep answering. Anonymous callers get
smaller limits than signed-in planners, and a refusal names the member and says so."""

import threading
import time

import pytest
from click.testing import CliRunner
from flask import Flask

from tests.support import sign_in
from web import create_app
from web.cli import main
from web.jobs import JobPool, JobRefused
from web.serve import behind_proxy

#: Nanjing couriers at 3 minutes leave gaps to close.
AREA = {"region": "nanjing", "group": "couriers", "threshold": 3}

#: A worker's query at Xinjiekou.
NEAREST = "/api/v1/nearest?region=nanjing&lat=32.0418&lon=118.7790"

#: A coverage query the tests warm up, so that it is cached.
CACHED_COVERAGE = "/api/v1/coverage?region=nanjing&group=couriers&threshold=3"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """An app with one worker and one place in the queue; every test here asks from few
    addresses, so the rate of heavy requests is raised (one test lowers it again)."""
    folder = tmp_path_factory.mktemp("jobs")
    app = create_app({"DATABASE_URL": f"sqlite:///{folder}/y.db", "JOB_WORKERS": 1,
                      "JOB_QUEUE": 1, "HEAVY_RATE_ANONYMOUS": "1000 per minute"})
    app.testing = True
    return app


def client_from(app, address: str):
    """A test client whose requests come from ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def planner_token(app) -> str:
    """An API token of a signed-in planner (any account)."""
    store = app.extensions["accounts"]
    if not any(u.username == "planner" for u in store.list_users()):
        store.add_user("planner", "a long enough password", "viewer")
    return store.issue_token("planner")


def wait_for(condition, timeout_s: float = 60.0) -> None:
    """Wait until ``condition()`` holds (a guard against a hung test, not a timing check)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.01)


# --- the pool itself ---------------------------------------------------------------------------

def test_the_pool_runs_work_and_hands_back_its_result_or_its_exception():
    pool = JobPool(workers=1, queue=0, retry_after_s=5)
    assert pool.run("a", "export", lambda: 42) == 42
    with pytest.raises(KeyError):
        pool.run("a", "export", lambda: {}["missing"])
    assert pool.jobs() == 0


def test_the_pool_refuses_a_second_job_of_one_client_and_any_job_past_its_capacity():
    pool = JobPool(workers=1, queue=1, retry_after_s=7)
    release = threading.Event()
    running = [threading.Thread(target=pool.run, args=(client, "recommend", release.wait))
               for client in ("a", "b")]
    for thread in running:
        thread.start()
    wait_for(lambda: pool.jobs() == 2)
    with pytest.raises(JobRefused) as own:
        pool.run("a", "recommend", lambda: None)
    with pytest.raises(JobRefused) as full:
        pool.run("c", "whatif", lambda: None)
    release.set()
    for thread in running:
        thread.join()
    assert (own.value.status, own.value.retry_after_s) == (429, 7)
    assert (full.value.status, full.value.job) == (503, "whatif")
    assert pool.run("c", "whatif", lambda: "done") == "done"


def test_anonymous_clients_hold_at_most_their_share_of_the_pool():
    pool = JobPool(workers=1, queue=2, retry_after_s=5, anonymous=1)
    release = threading.Event()
    held = threading.Thread(target=pool.run, args=("address:a", "recommend", release.wait),
                            kwargs={"anonymous": True})
    held.start()
    wait_for(lambda: pool.jobs() == 1)
    with pytest.raises(JobRefused) as refused:
        pool.run("address:b", "whatif", lambda: None, anonymous=True)
    planner = threading.Thread(target=pool.run, args=("account:li", "recommend", release.wait))
    planner.start()
    wait_for(lambda: pool.jobs() == 2)
    release.set()
    held.join()
    planner.join()
    assert refused.value.status == 503
    assert pool.run("address:b", "whatif", lambda: "done", anonymous=True) == "done"


def test_a_pool_without_workers_runs_work_in_the_callers_thread_unbounded():
    pool = JobPool(workers=0, queue=0, retry_after_s=5)
    assert pool.run("a", "export", threading.current_thread) is threading.current_thread()


# --- a full pool over HTTP ---------------------------------------------------------------------

@pytest.fixture
def full_pool(app, monkeypatch):
    """Fill the pool: two anonymous clients' recommendations, one running and one waiting, both
    held until the test ends; yields their answers (filled in when they finish)."""
    atlas = app.extensions["atlas"]
    client_from(app, "10.0.0.9").get(CACHED_COVERAGE)  # warm: this one is cached
    release = threading.Event()
    original = atlas.recommend

    def held(*args, **kwargs):
        release.wait()
        return original(*args, **kwargs)

    monkeypatch.setattr(atlas, "recommend", held)
    answers = {}

    def ask(address: str):
        answers[address] = client_from(app, address).post(
            "/api/v1/recommend", json={**AREA, "k": 1, "curve": False})

    threads = [threading.Thread(target=ask, args=(a,)) for a in ("10.0.0.1", "10.0.0.2")]
    for thread in threads:
        thread.start()
    wait_for(lambda: app.extensions["jobs"].jobs() == 2)
    yield answers
    release.set()
    for thread in threads:
        thread.join()
    assert [answers[a].status_code for a in ("10.0.0.1", "10.0.0.2")] == [200, 200]


def test_a_full_pool_answers_503_with_retry_after_naming_the_job(app, full_pool):
    answer = client_from(app, "10.0.0.3").post("/api/v1/recommend", json={**AREA, "k": 1})
    assert answer.status_code == 503
    assert int(answer.headers["Retry-After"]) > 0
    assert answer.get_json()["error"]["job"] == "recommend"
    assert answer.get_json()["error"]["message"]
    whatif = client_from(app, "10.0.0.3").post("/api/v1/whatif", json=AREA)
    assert (whatif.status_code, whatif.get_json()["error"]["job"]) == (503, "whatif")


def test_a_client_whose_job_is_running_gets_429_with_retry_after(app, full_pool):
    answer = client_from(app, "10.0.0.1").post("/api/v1/whatif", json=AREA)
    assert answer.status_code == 429
    assert int(answer.headers["Retry-After"]) > 0
    assert answer.get_json()["error"]["job"] == "whatif"


def test_worker_queries_and_cached_coverage_answer_while_the_pool_is_full(app, full_pool):
    client = client_from(app, "10.0.0.4")
    assert client.get(NEAREST).status_code == 200
    assert client.get("/api/v1/regions").status_code == 200
    assert client.get(CACHED_COVERAGE).status_code == 200
    uncached = client.get("/api/v1/coverage?region=nanjing&group=couriers&threshold=4.5")
    assert uncached.status_code == 503 and uncached.get_json()["error"]["job"] == "coverage"


def test_layer_exports_run_in_the_pool(app, full_pool):
    client = client_from(app, "10.0.0.4")
    for url in ("/api/v1/gaps?region=nanjing&group=couriers&threshold=3",
                "/api/v1/service-areas?region=nanjing&group=couriers&threshold=3&format=gpkg",
                "/api/v1/cells.csv?region=nanjing&group=couriers&threshold=3"):
        answer = client.get(url)
        assert answer.status_code == 503, url
        assert answer.get_json()["error"]["job"] == "export"


def test_pages_say_the_server_is_busy_in_the_users_language(app, full_pool):
    client = client_from(app, "10.0.0.5")
    page = client.get("/planner?region=nanjing&group=couriers&threshold=6.5")
    assert page.status_code == 503 and "Retry-After" in page.headers
    assert "服务器正忙" in page.text
    english = client.get("/planner?region=nanjing&group=couriers&threshold=6.5&lang=en")
    assert english.status_code == 503 and "The server is busy" in english.text


def test_the_staff_export_runs_in_the_pool(app, full_pool):
    app.extensions["accounts"].add_user("exporter", "a long enough password", "viewer")
    staff = client_from(app, "10.0.0.6")
    assert sign_in(staff, "exporter", "a long enough password").status_code == 302
    answer = staff.get("/staff/export?region=nanjing&format=csv")
    assert answer.status_code == 503 and "Retry-After" in answer.headers


# --- errors inside a job -----------------------------------------------------------------------

def test_an_error_inside_a_job_is_answered_as_before(app, monkeypatch):
    client = client_from(app, "10.0.1.1")
    beyond = client.post("/api/v1/recommend", json={**AREA, "problem": "lscp", "target": 1.0})
    assert beyond.status_code == 400 and beyond.get_json()["error"]["parameter"] == "target"
    far = client.post("/api/v1/recommend", json={**AREA, "k": 1, "categories": ["bank"],
                                                  "min_distance_m": 100_000})
    assert far.status_code == 400 and far.get_json()["error"]["parameter"] == "candidates"

    def broken(*args, **kwargs):
        raise RuntimeError("a defect")

    monkeypatch.setattr(app.extensions["atlas"], "recommend", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    assert client.post("/api/v1/recommend", json={**AREA, "k": 1}).status_code == 500
    assert app.extensions["jobs"].jobs() == 0


# --- anonymous and signed-in limits ------------------------------------------------------------

@pytest.mark.parametrize(("url", "body", "member"), [
    ("/api/v1/recommend", {**AREA, "k": 11, "curve": False}, "k"),
    ("/api/v1/recommend", {**AREA, "k": 1, "time_limit_s": 20, "curve": False},
     "time_limit_s"),
    ("/api/v1/recommend", {**AREA, "k": 1, "candidates": "nodes", "curve": False},
     "candidates"),
    ("/api/v1/whatif", {**AREA, "added": [{"lon": 118.779 + i / 10_000, "lat": 32.0418}
                                          for i in range(11)]}, "added"),
])
def test_anonymous_callers_get_smaller_limits_and_signed_in_planners_the_larger(
        app, url, body, member):
    anonymous = client_from(app, "10.0.2.1").post(url + "?lang=en", json=body)
    assert anonymous.status_code == 400
    error = anonymous.get_json()["error"]
    assert error["parameter"] == member and "signing in" in error["message"]
    headers = {"Authorization": f"Bearer {planner_token(app)}"}
    assert client_from(app, "10.0.2.1").post(url, json=body, headers=headers).status_code == 200


def test_anonymous_callers_send_few_candidate_points_of_their_own(app):
    points = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {},
         "geometry": {"type": "Point", "coordinates": [118.779, 32.0418]}}] * 501}
    answer = client_from(app, "10.0.2.2").post("/api/v1/recommend",
                                               json={**AREA, "k": 1, "candidates": points})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["parameter"] == "candidates"


def test_a_bad_token_is_refused_not_taken_for_anonymous(app):
    answer = client_from(app, "10.0.2.3").post(
        "/api/v1/recommend", json={**AREA, "k": 11}, headers={"Authorization": "Bearer nope"})
    assert answer.status_code == 401
    assert answer.get_json()["error"]["parameter"] == "Authorization"


def test_pages_go_by_the_session_and_ignore_an_authorization_header(app):
    app.extensions["accounts"].add_user("reader", "a long enough password", "viewer")
    staff = client_from(app, "10.0.2.4")
    assert sign_in(staff, "reader", "a long enough password").status_code == 302
    export = staff.get("/staff/export?region=nanjing&format=csv",
                       headers={"Authorization": "Bearer nope"})
    assert export.status_code == 200 and export.data.startswith("\ufeff".encode())


def test_each_client_has_a_rate_of_heavy_requests_and_signing_in_raises_it(app, monkeypatch):
    monkeypatch.setitem(app.config, "HEAVY_RATE_ANONYMOUS", "2 per minute")
    client = client_from(app, "10.0.3.1")
    bad = {**AREA, "k": 0}  # refused at once, yet counted
    assert [client.post("/api/v1/recommend", json=bad).status_code for _ in range(2)] == \
        [400, 400]
    refused = client.post("/api/v1/whatif?lang=en", json=AREA)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    error = refused.get_json()["error"]
    assert error["job"] == "whatif" and "Signing in raises the limit" in error["message"]
    assert client_from(app, "10.0.3.2").post("/api/v1/whatif", json=AREA).status_code == 200
    headers = {"Authorization": f"Bearer {planner_token(app)}"}
    assert client.post("/api/v1/whatif", json=AREA, headers=headers).status_code == 200


def test_the_openapi_document_describes_the_refusals(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    for path in ("/recommend", "/whatif"):
        responses = spec["paths"][path]["post"]["responses"]
        assert {"429", "503"} <= set(responses), path
    busy = spec["components"]["responses"]["Busy"]
    assert "Retry-After" in busy["headers"]


def test_serve_keeps_threads_for_worker_queries_and_trusts_only_a_named_proxy(monkeypatch):
    served = []
    monkeypatch.setattr("web.serve.warm", lambda app: None)
    monkeypatch.setattr("web.serve.Server.run", lambda server: served.append(server))
    runner = CliRunner()
    too_few = runner.invoke(main, ["serve", "--threads", "4"])
    assert too_few.exit_code == 2 and "--threads" in too_few.output and not served
    assert runner.invoke(main, ["serve"]).exit_code == 0
    assert served[-1].cfg.forwarded_allow_ips == []
    assert isinstance(served[-1].load(), Flask)
    assert runner.invoke(main, ["serve", "--trusted-proxy", "10.1.1.1"]).exit_code == 0
    assert served[-1].cfg.forwarded_allow_ips == ["10.1.1.1"]
    assert not isinstance(served[-1].load(), Flask)  # wrapped by behind_proxy


def test_serve_runs_one_worker_process_per_cpu_unless_told(monkeypatch):
    served = []
    monkeypatch.setattr("web.serve.warm", lambda app: None)
    monkeypatch.setattr("web.serve.Server.run", lambda server: served.append(server))
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    runner = CliRunner()
    assert runner.invoke(main, ["serve"]).exit_code == 0
    assert runner.invoke(main, ["serve", "--workers", "3", "--threads", "12", "--host", "::1",
                                "--port", "8123"]).exit_code == 0
    assert runner.invoke(main, ["serve", "--workers", "0"]).exit_code == 2
    default, told = (server.cfg for server in served)
    assert (default.workers, default.threads, default.address) == (6, 8, [("127.0.0.1", 5000)])
    assert (told.workers, told.threads, told.address[0][:2]) == (3, 12, ("::1", 8123))
    assert told.worker_class_str == "gthread" and told.preload_app


def test_only_the_trusted_proxy_names_the_client():
    seen = []

    def app(environ, start_response):
        seen.append(environ["REMOTE_ADDR"])
        return []

    proxied = behind_proxy(app, "10.1.1.1")
    for peer in ("10.1.1.1", "198.51.100.2"):
        proxied({"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": "192.0.2.9, 203.0.113.7"}, None)
    assert seen == ["203.0.113.7", "198.51.100.2"]


def test_an_ipv6_client_is_known_by_its_64_network(app):
    from web.api import client_key

    keys = set()
    for address in ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:db8:1:3::1", "10.0.0.1"):
        with app.test_request_context(environ_base={"REMOTE_ADDR": address}):
            keys.add(client_key())
    assert keys == {"address:2001:db8:1:2::/64", "address:2001:db8:1:3::/64",
                    "address:10.0.0.1"}


def test_a_coverage_analysis_with_shapes_answers_for_one_without(app):
    atlas = app.extensions["atlas"]
    full = atlas.coverage("nanjing", "street", 7.5)
    assert atlas.cached_coverage("nanjing", "street", 7.5, geometry=False) is full
    assert atlas.coverage("nanjing", "street", 7.5, geometry=False) is full
