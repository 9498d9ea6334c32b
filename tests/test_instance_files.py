"""What the app keeps in its instance folder (the station database with account hashes,
uploaded station files, network caches, added regions, the session key) is readable by its
owner only: folders 0700, files 0600, whatever the process umask."""

import os
import stat
from pathlib import Path

import pytest

from geo.regions import add_region
from geo.settings import instance_dir, open_private, private_file, private_folder
from tests.support import RECORDS, SMALL, csrf_token, make_app, signed_in


@pytest.fixture
def loose_umask():
    """Run with a umask that lets everyone read new files, as many servers are set up."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_everything_the_app_writes_in_its_instance_folder_is_its_owners_alone(
        fresh_instance, loose_umask):
    fresh_instance.chmod(0o755)
    add_region("tiny", SMALL, modes=("walk",))
    app = make_app(instance_dir(), SECRET_KEY=None)
    client = signed_in(app, "staff")
    with open(RECORDS / "good_chinese_gcj02.csv", "rb") as file:
        page = client.post("/staff/import", data={
            "csrf_token": csrf_token(client, "/staff/import"), "step": "check",
            "region": "tiny", "file": (file, "stations.csv")})
    assert page.status_code == 200 and 'id="import-form"' in page.text
    kept = list((fresh_instance / "uploads").iterdir())
    files = [p for p in fresh_instance.rglob("*") if p.is_file()]
    folders = [fresh_instance, *(p for p in fresh_instance.rglob("*") if p.is_dir())]
    names = {p.name for p in files}
    assert {"yizhan.db", "yizhan.db-wal", "yizhan.db-shm", "secret_key", "region.json",
            "source.osm", kept[0].name} <= names
    assert any(p.suffix == ".npz" for p in files)
    assert {p: oct(mode(p)) for p in files if mode(p) != 0o600} == {}
    assert {p: oct(mode(p)) for p in folders if mode(p) != 0o700} == {}


def test_private_folders_are_made_with_their_missing_parents(tmp_path, loose_umask):
    made = private_folder(tmp_path / "a" / "b" / "c")
    assert made.is_dir()
    assert [mode(tmp_path / p) for p in ("a", "a/b", "a/b/c")] == [0o700] * 3


def test_an_existing_folder_or_file_open_to_others_is_made_private(tmp_path, loose_umask):
    folder = tmp_path / "old"
    folder.mkdir(mode=0o755)
    (folder / "old.db").write_bytes(b"kept")
    (folder / "old.db").chmod(0o644)
    private_folder(folder)
    private_file(folder / "old.db")
    assert (mode(folder), mode(folder / "old.db")) == (0o700, 0o600)
    assert (folder / "old.db").read_bytes() == b"kept"


def test_a_file_opened_privately_is_written_from_the_start_with_mode_0600(tmp_path,
                                                                          loose_umask):
    path = tmp_path / "upload"
    path.write_bytes(b"an older, longer file")
    path.chmod(0o644)
    with open_private(path) as file:
        file.write(b"new")
    assert (path.read_bytes(), mode(path)) == (b"new", 0o600)
