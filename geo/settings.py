"""Explicit settings: where the instance folder and the shipped data live, and how what the app
writes there is kept private.

These are the only process-wide settings. Everything else (mode speeds, thresholds) is passed
as arguments or read from a region's configuration.

The instance folder holds the station database (with account password hashes and token
digests), uploaded station files, network caches and added regions. Every folder the app makes
there is readable by its owner only (:data:`PRIVATE_FOLDER_MODE`) and so is every file it
writes (:data:`PRIVATE_FILE_MODE`): the modes are given where each folder and file is made
(:func:`private_folder`, :func:`private_file`, :func:`open_private`) rather than through the
process umask, which would also change the files the ``yizhan`` command writes for the user
elsewhere (exports, coverage layers) and every other file of a program that uses :mod:`geo` as
a library.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

#: Attribution every map and export of OSM-derived data carries.
OSM_ATTRIBUTION = "© OpenStreetMap contributors, ODbL"
OSM_ATTRIBUTION_HTML = (
    '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors, ODbL'
)

#: Mode of every folder the app makes in the instance folder, and of the folder itself.
PRIVATE_FOLDER_MODE: int = 0o700

#: Mode of every file the app writes in the instance folder (and of a SQLite database file).
PRIVATE_FILE_MODE: int = 0o600


def data_dir() -> Path:
    """Return the folder with the shipped demo regions (``data/`` at the project root).

    The environment variable ``YIZHAN_DATA`` names another folder.
    """
    override = os.environ.get("YIZHAN_DATA")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "data"


def instance_dir() -> Path:
    """Return the instance folder (SQLite file, caches, user regions), creating it if needed.

    It is ``instance/`` in the current working directory unless the environment variable
    ``YIZHAN_INSTANCE`` names another folder. It is private (see :func:`private_folder`), so
    nothing in it can be read by other users even where a file's own mode would allow it.
    """
    return private_folder(Path(os.environ.get("YIZHAN_INSTANCE", "instance")).resolve())


def max_whole_build_nodes() -> int:
    """Return how many OSM nodes a file may hold (estimated from its size) for a region to be
    built from the whole of it rather than from a part cut out by a boundary or an area.

    Three million (a large prefecture-level city) unless the environment variable
    ``YIZHAN_MAX_BUILD_NODES`` gives another number.
    """
    raw = os.environ.get("YIZHAN_MAX_BUILD_NODES", "3000000")
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"YIZHAN_MAX_BUILD_NODES must be a whole number of OSM nodes, "
                         f"not {raw!r}") from None


def private_folder(path: Path) -> Path:
    """Make a folder, and the missing folders above it, readable by their owner only.

    A folder that exists and belongs to this process's user loses any access by others (an
    instance folder from an older version); one owned by another user is left as it is.

    Args:
        path: the folder.

    Returns:
        The folder.
    """
    missing, folder = [], path
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_FOLDER_MODE, exist_ok=True)
    _tighten(path, PRIVATE_FOLDER_MODE)
    return path


def private_file(path: Path) -> Path:
    """Make sure a file exists (empty if it is new) and is readable by its owner only.

    A file that exists is never opened: closing any descriptor of a file drops every POSIX
    lock this process holds on it, and SQLite, which may have the file open, keeps its locks
    that way (without them, another process can take a SQLite database for unused and reset
    its write-ahead log under this one).

    Args:
        path: the file; its folder must exist.

    Returns:
        The file.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        pass
    _tighten(path, PRIVATE_FILE_MODE)
    return path


def open_private(path: Path, mode: str = "wb", **options) -> IO:
    """Open a file for writing, from the start, readable by its owner only.

    Args:
        path: the file; its folder must exist.
        mode: ``"wb"`` or ``"w"``.
        **options: what :func:`open` takes besides, e.g. ``encoding``.

    Returns:
        The open file.
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    os.fchmod(descriptor, PRIVATE_FILE_MODE)
    return os.fdopen(descriptor, mode, **options)


def _tighten(path: Path, mode: int) -> None:
    """Take away others' access to a file or folder this process's user owns.

    Args:
        path: the file or folder.
        mode: the mode it gets if it allows more than its owner.
    """
    status = path.stat()
    if status.st_uid == os.getuid() and status.st_mode & 0o077:
        path.chmod(mode)
