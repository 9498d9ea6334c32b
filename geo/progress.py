"""How long operations tell their caller how far they are.

A :class:`Progress` is any callable taking ``(stage, done, total)``: the stage's name (a short
phrase such as ``"reading city.osm.pbf"``), how much of it is done and how much there is in all
(None while unknown), in the stage's own unit (ways, modes). A stage is announced with
``done=0``; the CLI draws one progress bar per stage.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Progress", "silent"]


class Progress(Protocol):
    """Told how far a long operation is."""

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        """Report that ``done`` of ``total`` units of ``stage`` are done."""


def silent(stage: str, done: int, total: int | None) -> None:
    """A :class:`Progress` that tells no one."""
