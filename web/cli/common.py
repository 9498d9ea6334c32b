"""What the ``yizhan`` commands share: the stores and atlas of the configured database,
progress bars on standard error, and options whose choices or default come from the engine,
imported only when needed so that light commands start without the numerical libraries."""

from __future__ import annotations

import functools
import importlib
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

if TYPE_CHECKING:
    from geo import Atlas, StationStore

SHANGHAI = ZoneInfo("Asia/Shanghai")


def station_store() -> StationStore:
    """The station store of the configured database (``DATABASE_URL``)."""
    from geo import Database, StationStore, default_store_url

    return StationStore(Database(default_store_url()))


class EngineChoice(click.Choice):
    """A choice among the names of a vocabulary of an engine module, imported when the option
    is first checked or its help shown: `yizhan --help` and the light commands do not load
    the engine's numerical libraries."""

    def __init__(self, module: str, name: str) -> None:
        self._vocabulary = (module, name)
        self.case_sensitive = True

    @functools.cached_property
    def choices(self) -> tuple[str, ...]:
        """The vocabulary's names."""
        module, name = self._vocabulary
        return tuple(getattr(importlib.import_module(module), name))


class EngineDefault(click.Option):
    """An option whose default is a constant of an engine module, imported when the command
    runs or its help is shown."""

    def __init__(self, *args, constant: tuple[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._constant = constant

    def get_default(self, ctx: click.Context, call: bool = True) -> object:
        """The constant."""
        module, name = self._constant
        return getattr(importlib.import_module(module), name)


def open_atlas() -> Atlas:
    """The atlas over the configured store."""
    from geo import Atlas

    return Atlas(station_store())


class _RateColumn(ProgressColumn):
    """How many units of a stage are done per second."""

    def render(self, task: Task) -> Text:
        """The rate, once there is one."""
        return Text(f"{task.speed:,.0f}/s" if task.speed else "", style="progress.data.speed")


def show_progress(stage: str, done: int, total: int | None) -> None:
    """Draw a long operation's stages as progress bars on standard error (a
    :class:`geo.progress.Progress`); the bars live as long as the running command."""
    context = click.get_current_context()
    bars = context.meta.get("yizhan.progress")
    if bars is None:
        bars = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), _RateColumn(),
            TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        bars.start()
        context.meta["yizhan.progress"] = bars
        context.call_on_close(bars.stop)
    task = next((t.id for t in bars.tasks if t.description == stage), None)
    if task is None:
        task = bars.add_task(stage, total=total)
    bars.update(task, completed=done, total=total)
