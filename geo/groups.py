"""Worker groups: who a station serves, how they travel, and how far they will go for a rest."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkerGroup:
    """A group of workers a station network is planned for.

    Attributes:
        id: short id (``street``, ``couriers``, ``trucks``).
        label_zh, label_en: display names.
        mode: the travel mode the group uses.
        threshold_min: default travel-time threshold in minutes.
    """

    id: str
    label_zh: str
    label_en: str
    mode: str
    threshold_min: float


#: The groups Yizhan plans for, with their default thresholds.
GROUPS: dict[str, WorkerGroup] = {
    "street": WorkerGroup("street", "户外劳动者", "street workers", "walk", 10.0),
    "couriers": WorkerGroup("couriers", "快递外卖骑手", "couriers", "ebike", 10.0),
    "trucks": WorkerGroup("trucks", "货车司机", "truck drivers", "truck", 15.0),
}


def worker_group(group_id: str) -> WorkerGroup:
    """Return a group by id; ``ValueError`` naming the known ids otherwise."""
    if group_id not in GROUPS:
        raise ValueError(f"unknown worker group {group_id!r}; use one of {', '.join(GROUPS)}")
    return GROUPS[group_id]
