"""`yizhan` starts light, and every `yizhan … --json` prints JSON and nothing else on standard
output, so it can be piped into `jq`; progress and solver logs go to standard error.

The commands run in a child process: HiGHS writes its banner from C code straight to file
descriptor 1, which an in-process runner would never see."""

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from geo.recommend import PROBLEMS
from geo.records import IMPORT_PROBLEM_LIMIT
from web.cli import main

ROOT = Path(__file__).resolve().parent.parent

AREA = ("--region", "nanjing", "--group", "couriers", "--threshold", "3")

#: One run of every command that has a --json option.
JSON_RUNS = {
    "nearest": ("nearest", "--region", "nanjing", "--lat", "32.0418", "--lon", "118.7790",
                "--mode", "walk", "--json"),
    "coverage": ("coverage", *AREA, "--json"),
    "recommend": ("recommend", *AREA, "--k", "2", "--json"),
}


def _json_commands(group: click.Group, prefix: str = "") -> set[str]:
    """The names (with their groups) of the commands under ``group`` that take --json."""
    found = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found |= _json_commands(command, f"{prefix}{name} ")
        elif any("--json" in option.opts for option in command.params
                 if isinstance(option, click.Option)):
            found.add(prefix + name)
    return found


def test_every_json_command_is_run_here():
    assert _json_commands(main) == set(JSON_RUNS)


@pytest.mark.parametrize("command", sorted(JSON_RUNS))
def test_standard_output_is_json_alone(command):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", "from web.cli import main; main()",
                           *JSON_RUNS[command]], capture_output=True, text=True, cwd=ROOT,
                          env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert isinstance(json.loads(done.stdout), dict)


def test_the_command_loads_no_numerical_library_until_a_command_needs_it():
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, web.cli; print(' '.join(sorted(sys.modules)))"],
        capture_output=True, text=True, cwd=ROOT, check=True).stdout.split()
    heavy = {"geopandas", "osmnx", "matplotlib", "scipy", "highspy", "pandas", "osmium",
             "openpyxl", "pyproj"}
    assert heavy.isdisjoint(loaded)


def test_help_lists_every_command():
    shown = CliRunner().invoke(main, ["--help"]).output
    assert all(f"  {name} " in shown for name in main.commands)


def test_help_of_a_command_shows_the_engine_s_defaults_and_choices():
    shown = CliRunner().invoke(main, ["import", "--help"], terminal_width=200).output
    assert f"[default: {IMPORT_PROBLEM_LIMIT}; x>=1]" in shown
    shown = CliRunner().invoke(main, ["recommend", "--help"], terminal_width=200).output
    assert f"[{'|'.join(PROBLEMS)}]" in shown
