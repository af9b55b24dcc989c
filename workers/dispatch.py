"""Sending shard tasks: each message names its shard, where to read it from, and its dataset.

The producer sends claimed shards here, the healer re-sends orphans, a stopping worker hands
its shard back, and a worker that received another dataset's shard passes it on, all the
same way. A message goes to its exchange's queue among the broker keys of its own dataset
(kombu's `global_keyprefix`, storage/keys.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from celery import Celery

from storage.keys import Keys
from storage.shards import Shard
from workers.routing import FETCH_TASK


def send(
    app: Celery,
    shards: Iterable[Shard],
    sources: str | Mapping[Shard, str],
    namespace: str,
    sent: list[Shard] | None = None,
) -> list[Shard]:
    """Send one message per shard, read from `sources` (one source for all, or per shard).

    Returns the shards sent; on a broker error the exception propagates and `sent`, when
    given, holds those sent before it.
    """
    sent = [] if sent is None else sent
    with app.producer_or_acquire() as producer:
        for shard in shards:
            source = sources if isinstance(sources, str) else sources.get(shard, "auto")
            app.send_task(
                FETCH_TASK,
                args=[shard.key],
                kwargs={"source": source, "dataset": namespace},
                producer=producer,
            )
            sent.append(shard)
    return sent


def pass_on(app: Celery, shard: Shard, source: str, namespace: str) -> None:
    """Send the shard to the queue of the dataset `namespace` (not this process's own)."""
    options = {"global_keyprefix": Keys(namespace).broker}
    with app.connection_for_write(transport_options=options) as connection:
        app.send_task(
            FETCH_TASK,
            args=[shard.key],
            kwargs={"source": source, "dataset": namespace},
            connection=connection,
        )
