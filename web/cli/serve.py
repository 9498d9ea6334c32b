"""``yizhan serve``: the web app under the gunicorn production server."""

from __future__ import annotations

import click

from web.cli import main
from web.cli.common import EngineDefault


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=None, type=click.IntRange(min=1),
              help="worker processes  [default: one per CPU]")
@click.option("--threads", cls=EngineDefault, constant=("web.serve", "THREADS"),
              show_default=True, type=int,
              help="request threads of each worker process")
@click.option("--trusted-proxy", default=None, metavar="ADDRESS",
              help="the reverse proxy in front; its X-Forwarded-For names the client")
def serve(host: str, port: int, workers: int | None, threads: int,
          trusted_proxy: str | None) -> None:
    """Run the web app under the gunicorn production server, in worker processes.

    Every region's index is loaded before the workers start, so they share its memory (see
    :mod:`web.serve`). Heavy requests wait in the request threads for their process's job
    pool, so ``--threads`` must exceed the pool's workers and queue; behind a reverse proxy,
    name it with ``--trusted-proxy`` so that each client, not the proxy, gets its own job and
    rate of heavy requests.
    """
    from web import create_app
    from web.serve import Server, behind_proxy, default_workers, server_options, warm

    try:
        app = create_app()
    except ValueError as error:  # a setting in the environment that is not a number
        raise click.ClickException(str(error)) from error
    pool = app.config["JOB_WORKERS"] + app.config["JOB_QUEUE"]
    if threads <= pool:
        raise click.BadParameter(f"must exceed the job pool's workers and queue ({pool}), so "
                                 "that worker queries never wait behind heavy ones",
                                 param_hint="--threads")
    warm(app)
    options = server_options(host, port, workers or default_workers(), threads, trusted_proxy)
    click.echo(f"Yizhan on http://{host}:{port}/ ({options['workers']} worker processes)")
    Server(behind_proxy(app, trusted_proxy) if trusted_proxy else app, options).run()
