"""Shared test set-up: every test session gets its own instance folder, never the repo's."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def session_instance(tmp_path_factory):
    """Point ``YIZHAN_INSTANCE`` at a fresh folder for the whole session; networks built by one
    test are cached there for the next."""
    folder = tmp_path_factory.mktemp("instance")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("YIZHAN_INSTANCE", str(folder))
        patch.delenv("DATABASE_URL", raising=False)
        yield folder


@pytest.fixture
def fresh_instance(tmp_path, monkeypatch):
    """An empty instance folder of the test's own (no regions added, no stations, no caches)."""
    folder = tmp_path / "instance"
    folder.mkdir()
    monkeypatch.setenv("YIZHAN_INSTANCE", str(folder))
    return folder
