"""The app served by gunicorn (two worker processes) under a few seconds of concurrent
importers, editors and readers, on SQLite and on PostGIS, then killed during an import
(``scripts/load_fault.py``): no request fails on the server's side, no accepted write is lost,
and the killed import stores all its rows or none."""

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "load_fault.py"


def load_and_fault(*options: str) -> dict:
    """Run the script briefly with a few workers; return its JSON report."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--seconds", "4", "--importers", "1", "--editors", "3",
         "--readers", "2", "--rows", "200", "--kill-rows", "1500", "--json",
         "--instance", os.environ["YIZHAN_INSTANCE"], *options],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def assert_no_failure_and_nothing_lost(report: dict) -> None:
    tallies = report["tallies"]
    assert {kind: t["errors"] for kind, t in tallies.items()} == {
        "importer": 0, "editor": 0, "reader": 0}
    for kind in ("importer", "editor"):
        assert tallies[kind]["accepted"] >= 1
        assert tallies[kind]["found"] == tallies[kind]["accepted"]
    assert tallies["reader"]["requests"] >= 1
    assert not report["killed_import"].startswith("partial")


def test_on_sqlite_under_load_nothing_fails_and_no_accepted_write_is_lost():
    report = load_and_fault("--backend", "sqlite")
    assert_no_failure_and_nothing_lost(report["runs"]["sqlite"])


def test_on_postgis_under_load_nothing_fails_and_no_accepted_write_is_lost(
        postgres_server):
    report = load_and_fault("--backend", "postgis", "--postgres", postgres_server)
    assert_no_failure_and_nothing_lost(report["runs"]["postgis"])
