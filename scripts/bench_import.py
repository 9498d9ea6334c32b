"""Benchmark: checking a large station file of bad rows on the staff import page and the CLI.

Writes a CSV of about ``--megabytes`` MB whose every row has several bad cells, then, each in a
fresh process so that its peak memory is its own:

- ``page``: a signed-in staff member uploads it to ``/staff/import`` (the Flask test client);
- ``cli``: ``yizhan import --dry-run`` reads it.

It prints, for each, the wall time, the process's peak resident memory and the size of the
answer (the page's HTML, the CLI's standard output and error).

    python scripts/bench_import.py [--megabytes 14] [--instance DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: A bad row: an unknown kind, a longitude that is no number, a latitude out of range, a phone
#: with letters, a date that is no date and a negative capacity.
BAD_ROW = "驿站 {i},nope,east,123.5,call-me,2024-13-45,-3\n"
HEADER = "name,kind,lon,lat,phone,verified_on,capacity\n"

#: Run in a child process: upload the file to the staff import page, print what it measured.
PAGE = """
import json, re, sys, tempfile, time
from web import create_app
database = f"sqlite:///{tempfile.mkdtemp(dir=sys.argv[2])}/bench.db"
app = create_app({"DATABASE_URL": database, "SEED_DEMO": False})
app.extensions["accounts"].add_user("bench", "bench-password-1", "staff")
client = app.test_client()
token = lambda url: re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).text)[1]
client.post("/sign-in", data={"username": "bench", "password": "bench-password-1",
                              "csrf_token": token("/sign-in")})
app.extensions["atlas"].index("nanjing")
form = {"csrf_token": token("/staff/import"), "step": "check", "region": "nanjing"}
started = time.perf_counter()
with open(sys.argv[1], "rb") as file:
    page = client.post("/staff/import", data={**form, "file": (file, "bad.csv")},
                       content_type="multipart/form-data")
print(json.dumps({"seconds": time.perf_counter() - started, "status": page.status_code,
                  "answer_bytes": len(page.data)}))
"""


def write_bad_csv(path: Path, megabytes: float) -> int:
    """Write a CSV of bad rows of about the given size; return its number of rows."""
    limit = int(megabytes * 1_000_000)
    rows = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write(HEADER)
        written = len(HEADER)
        while written < limit:
            line = BAD_ROW.format(i=rows)
            out.write(line)
            written += len(line.encode())
            rows += 1
    return rows


def measure(command: list[str], env: dict[str, str]) -> dict:
    """Run a command; return its wall time, peak RSS and output size (and its own report)."""
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    out, err = child.communicate()
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = {"seconds": seconds, "peak_rss_mb": peak_kb / 1024, "exit": child.returncode,
              "answer_bytes": len(out) + len(err)}
    if out.startswith(b"{"):  # the page's child reports its own timing
        result |= json.loads(out)
    return result


def main() -> None:
    """Write the file, measure the page and the CLI, print the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=float, default=14.0)
    parser.add_argument("--instance", type=Path, default=None)
    parser.add_argument("--only", choices=("page", "cli"), default=None)
    args = parser.parse_args()
    folder = args.instance or Path(tempfile.mkdtemp(prefix="yizhan-bench-import-"))
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / "bad.csv"
    rows = write_bad_csv(csv_path, args.megabytes)
    print(f"{csv_path}: {csv_path.stat().st_size / 1e6:.1f} MB, {rows} rows")
    env = {**os.environ, "YIZHAN_INSTANCE": str(folder), "YIZHAN_SECURE_COOKIES": "0"}
    env.pop("DATABASE_URL", None)
    # Build (or load) the region's networks once, so that neither run times that.
    subprocess.run([sys.executable, "-c", "from web.cli import main; main()", "build",
                    "--region", "nanjing"], env=env, cwd=ROOT, check=True, capture_output=True)
    commands = {
        "page": [sys.executable, "-c", PAGE, str(csv_path), str(folder)],
        "cli": [sys.executable, "-c", "from web.cli import main; main()", "import", "--region",
                "nanjing", str(csv_path), "--dry-run"],
    }
    for name, command in commands.items():
        if args.only in (None, name):
            # Each child is measured alone: RUSAGE_CHILDREN reports the largest child so far,
            # so the runs go in separate grandchildren.
            wrapper = [sys.executable, __file__, "--measure", json.dumps(command)]
            report = subprocess.run(wrapper, env=env, cwd=ROOT, check=True,
                                    capture_output=True, text=True).stdout
            print(f"{name:5}", report.strip())


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        print(json.dumps(measure(json.loads(sys.argv[2]), dict(os.environ))))
    else:
        main()
