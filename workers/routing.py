"""Queues and routing: one Celery queue per registered exchange, chosen from the shard key."""

from __future__ import annotations

from typing import Any

from kombu import Queue

from storage.shards import Shard
from workers.exchanges import ADAPTERS

FETCH_TASK = "shardfetch.fetch_shard"


def task_queues() -> list[Queue]:
    return [Queue(name) for name in ADAPTERS]


def route_shard(name: str, args: tuple, kwargs: dict, options: dict, task: Any = None, **kw):
    """Celery router: a fetch_shard task goes to the queue of its shard's exchange."""
    if name != FETCH_TASK:
        return None
    key = args[0] if args else kwargs["key"]
    return {"queue": Shard.parse(key).queue}
