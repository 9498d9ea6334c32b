"""Heavy work in a bounded pool: site recommendations, what-if coverage, coverage analyses the
atlas has not cached, and layer and station exports.

A request that needs heavy work hands it to the app's :class:`JobPool` and waits for the
answer. The pool runs at most ``JOB_WORKERS`` jobs at once, keeps at most ``JOB_QUEUE`` more
waiting, and holds one job at a time per client (the signed-in account, else the remote
address). Past that a request is refused at once instead of waiting: HTTP 503 when the pool and
its queue are full, 429 when the client's own job is still running, both with ``Retry-After``.
``JOB_WORKERS = 0`` switches the pool off (heavy work then runs in the request's own thread,
unbounded), which is only there to measure against.

On top of the pool, Flask-Limiter caps how many heavy requests one client may send a minute
(``HEAVY_RATE_ANONYMOUS``, ``HEAVY_RATE_SIGNED_IN``), shared across the heavy routes: the pool
bounds how many jobs run, the rate keeps one client from taking a worker again the moment its
last job ends. The pool, the clients' jobs and the counts of heavy requests (Flask-Limiter's
memory storage) belong to one server process: under ``yizhan serve``'s worker processes a
client may run a job and spend its rate in each (see :mod:`web.serve`).

Jobs run in threads of the server process, not in separate processes. Measured on the 2-core
machine, a site recommendation with every Jinan node a candidate (k = 100, 86 s) in a thread
left in-process nearest queries at a 1 ms median and a 5-37 ms 99th percentile (3 ms at rest):
HiGHS, where such a job spends most of its time, releases the GIL. scipy's bounded Dijkstra
does not (a 90 ms search stalls every other thread for 90 ms), but a job holds the GIL in
stretches of tens of milliseconds, not seconds. A process pool would need its own copy of every
region's networks and indexes and would have to ship coverage analyses back to be cached; the
thread pool needs neither. The job threads run at a lower CPU priority than the request threads
(``JOB_NICE``) so that with both cores busy the scheduler picks the request threads first: in
``scripts/bench_flood.py``'s flood of eight planners' such requests, nice 10 took the nearest
query's p99 over HTTP from 267 ms to 148 ms (p50 50 to 24 ms); without the pool the same flood
left it with no answer within 30 s.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from flask import (
    Flask,
    copy_current_request_context,
    current_app,
    jsonify,
    render_template,
    request,
)
from flask_babel import gettext as _
from flask_limiter import Limiter, RateLimitExceeded

T = TypeVar("T")


class JobRefused(Exception):
    """Heavy work refused because the pool is full (503) or the client's job is running (429).

    Attributes:
        status: 503 or 429.
        job: what was refused (``recommend``, ``whatif``, ``coverage``, ``export``).
        retry_after_s: when to try again, in seconds.
    """

    def __init__(self, status: int, job: str, retry_after_s: int) -> None:
        super().__init__(f"{job}: refused with HTTP {status}")
        self.status = status
        self.job = job
        self.retry_after_s = retry_after_s


class JobPool:
    """A bounded pool of threads for heavy work, one job at a time per client.

    Args:
        workers: jobs that run at once (0: no pool, work runs in the caller's thread).
        queue: jobs that may wait for a worker.
        retry_after_s: the ``Retry-After`` of a refusal, in seconds.
        nice: how much lower the workers' CPU priority is than the server's (Linux ``nice``).
        anonymous: most jobs of anonymous clients running or waiting at once (None: as many
            as the pool holds), so that a few addresses cannot take every place from the
            signed-in planners.
    """

    def __init__(self, workers: int, queue: int, retry_after_s: int, nice: int = 0,
                 anonymous: int | None = None) -> None:
        self.capacity = workers + queue
        self.anonymous_capacity = self.capacity if anonymous is None else anonymous
        self.retry_after_s = retry_after_s
        self._executor = ThreadPoolExecutor(
            workers, thread_name_prefix="yizhan-job", initializer=_lower_priority,
            initargs=(nice,)) if workers else None
        self._clients: dict[str, bool] = {}  # client -> anonymous
        self._lock = threading.Lock()

    def run(self, client: str, job: str, work: Callable[[], T], anonymous: bool = False) -> T:
        """Run ``work`` in the pool and return its result (or raise its exception).

        Args:
            client: who asks (an account or a remote address).
            job: what the work is, named in a refusal.
            work: the work, a callable taking nothing.
            anonymous: whether the client is anonymous.

        Raises:
            JobRefused: 429 if ``client`` has a job in the pool, 503 if the pool is full (or
                holds as many anonymous jobs as it may, for an anonymous client).
        """
        if self._executor is None:
            return work()
        with self._lock:
            if client in self._clients:
                raise JobRefused(429, job, self.retry_after_s)
            if len(self._clients) >= self.capacity or (
                    anonymous and sum(self._clients.values()) >= self.anonymous_capacity):
                raise JobRefused(503, job, self.retry_after_s)
            self._clients[client] = anonymous
        try:
            return self._executor.submit(work).result()
        finally:
            with self._lock:
                del self._clients[client]

    def jobs(self) -> int:
        """How many jobs are running or waiting."""
        with self._lock:
            return len(self._clients)


def _lower_priority(nice: int) -> None:
    """Lower the calling thread's CPU priority by ``nice`` (Linux gives each thread its own)."""
    if nice and hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
        except OSError:
            pass


def job_labels() -> dict[str, str]:
    """The kinds of heavy work in plain words, by job name."""
    return {"recommend": _("site recommendation"), "whatif": _("what-if"),
            "coverage": _("coverage analysis"), "export": _("export")}


def rate_limited(view: Callable) -> Callable:
    """Mark a view as heavy: it counts against its client's rate of heavy requests."""
    view.heavy = True
    return view


def rate_limited_unless(cached: Callable[[], bool]) -> Callable[[Callable], Callable]:
    """Mark a view as heavy unless ``cached()`` says the current request is answered from a
    cache: only the requests that make work count against the client's rate."""
    def mark(view: Callable) -> Callable:
        view.heavy = cached
        return view
    return mark


def run_job(job: str, work: Callable[[], T]) -> T:
    """Run heavy work for the current request in the app's pool (see :meth:`JobPool.run`);
    the work sees the request's context (the app, the language)."""
    pool: JobPool = current_app.extensions["jobs"]
    anonymous = not current_app.extensions["job_signed_in"]()
    return pool.run(current_app.extensions["job_client"](), job,
                    copy_current_request_context(work), anonymous)


def init_jobs(app: Flask, client: Callable[[], str], signed_in: Callable[[], bool]) -> None:
    """Give the app its job pool and the rate limit of the views marked :func:`rate_limited`,
    and answer refusals: JSON naming the job for the API, a page otherwise, with
    ``Retry-After``. Call it after the blueprints are registered.

    Args:
        app: the app, with ``JOB_WORKERS``, ``JOB_QUEUE``, ``JOB_RETRY_AFTER_S``,
            ``JOB_NICE``, ``HEAVY_RATE_ANONYMOUS`` and ``HEAVY_RATE_SIGNED_IN`` set.
        client: the current request's client key (an account or a remote address).
        signed_in: whether the current request comes from a signed-in account.
    """
    config = app.config
    app.extensions["jobs"] = JobPool(config["JOB_WORKERS"], config["JOB_QUEUE"],
                                     config["JOB_RETRY_AFTER_S"], config["JOB_NICE"],
                                     config["JOB_ANONYMOUS"])
    app.extensions["job_client"] = client
    app.extensions["job_signed_in"] = signed_in
    limiter = Limiter(client, app=app, storage_uri="memory://")
    # The app has no limit of its own, only the heavy views' shared one, which its decorator
    # checks: Flask-Limiter's check before every request would find nothing to count, at
    # 130 µs a worker query.
    app.before_request_funcs[None].remove(limiter._check_request_limit)

    def rate() -> str:
        return config["HEAVY_RATE_SIGNED_IN" if signed_in() else "HEAVY_RATE_ANONYMOUS"]

    for endpoint, view in list(app.view_functions.items()):
        mark = getattr(view, "heavy", None)
        if mark is not None:  # one shared count per client, whichever heavy view it hits
            exempt = None if mark is True else mark
            app.view_functions[endpoint] = limiter.shared_limit(
                rate, scope="heavy", exempt_when=exempt)(view)

    @app.errorhandler(JobRefused)
    def job_refused(error: JobRefused):
        job = job_labels()[error.job]
        if error.status == 429:
            title = _("Your earlier request is still running")
            message = _("Your earlier %(job)s is still running; wait for its answer, then try "
                        "again.", job=job)
        else:
            title = _("The server is busy")
            message = _("The server is busy with other requests and cannot start a %(job)s "
                        "now; try again in %(seconds)s seconds.", job=job,
                        seconds=error.retry_after_s)
        return _refused(error.job, title, message, error.status, error.retry_after_s)

    @app.errorhandler(RateLimitExceeded)
    def rate_exceeded(error: RateLimitExceeded):
        rate = error.limit.limit
        message = _("Too many heavy requests: at most %(n)s in %(seconds)s seconds.",
                    n=rate.amount, seconds=rate.get_expiry())
        if not signed_in():
            message += " " + _("Signing in raises the limit.")
        reset_at = limiter.current_limit.reset_at if limiter.current_limit else time.time()
        return _refused(request.endpoint.rpartition(".")[2], _("Too many requests"), message,
                        429, max(1, math.ceil(reset_at - time.time())))


def _refused(job: str, title: str, message: str, status: int, retry_after_s: int):
    """A refused job: JSON naming it for the API, the refusal page otherwise."""
    if request.blueprint == "api":
        response = jsonify(error={"job": job, "message": message})
    else:
        response = current_app.make_response(
            render_template("auth/refused.html", title=title, message=message))
    response.status_code = status
    response.headers["Retry-After"] = str(retry_after_s)
    return response
