"""Sending shard tasks: each message names its shard, where to read it from, and its dataset.

The producer sends claimed shards here, the healer re-sends orphans, a stopping worker hands
its shard back, and a worker that received another dataset's shard passes it on, all the
same way: workers/publish.py builds the messages `send_task` would and pushes them in
batches. A message goes to its exchange's queue among the broker keys of its own dataset
(kombu's `global_keyprefix`, storage/keys.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from celery import Celery

from storage.shards import Shard
from workers.publish import publish, publisher


def send(
    app: Celery,
    shards: Iterable[Shard],
    sources: str | Mapping[Shard, str],
    namespace: str,
    sent: list[Shard] | None = None,
) -> list[Shard]:
    """Send one message per shard of the dataset `namespace` to this app's queues, read
    from `sources` (one source for all, or per shard).

    Returns the shards sent; on a broker error the exception propagates and `sent`, when
    given, holds those sent before it.
    """
    sent = [] if sent is None else sent
    with publisher(app, namespace) as pub:
        return publish(pub, shards, sources, sent)


def pass_on(app: Celery, shard: Shard, source: str, namespace: str) -> None:
    """Send the shard to the queue of the dataset `namespace` (not this process's own)."""
    with publisher(app, namespace, to=namespace) as pub:
        publish(pub, [shard], source, [])
