"""The Celery app (`celery -A workers ...`), configured once from the environment."""

from __future__ import annotations

from celery import Celery
from celery.signals import worker_init
from kombu.transport import redis as kombu_redis

from storage.keys import Keys
from workers.presence import Presence
from workers.routing import route_shard, task_queues
from workers.settings import Settings


def configure(app: Celery, settings: Settings) -> None:
    app.conf.update(
        broker_url=settings.redis_url,
        broker_connection_retry_on_startup=True,
        # A worker reconnects however long Redis is gone; the ledger heals what was lost.
        broker_connection_max_retries=None,
        # A task running when the broker connection drops carries on (its lock and the
        # ledger say what it does); cancelling it would throw its pages away. Said
        # explicitly, as Celery 6 changes the default.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        # Delivery that survives crashes: ack after the work, requeue if the process dies,
        # take one message at a time, and let a message come back only after the longest
        # shard could have finished.
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # Each dataset has its own broker keys (queues, unacked messages, event channels)
        # under its namespace, so `-Q binance` serves the dataset of this DATA_DIR only.
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout_s,
            "global_keyprefix": Keys(settings.namespace).broker,
            # Look for messages past the visibility timeout a tenth of it apart (10 s at
            # most), so they come back (and find their shard done) soon after it.
            "unacked_restore_interval": max(1, min(10, int(settings.visibility_timeout_s / 10))),
            "unacked_restore_throttle": 1,
        },
        task_ignore_result=True,
        task_queues=task_queues(),
        task_routes=(route_shard,),
        task_default_queue=task_queues()[0].name,
        # Flower sees every task and worker.
        worker_send_task_events=True,
        task_send_sent_event=True,
        worker_hijack_root_logger=False,
    )


# kombu puts a closing channel's unacknowledged messages back on the queue. Here the ledger
# does that (workers/presence.py hands back what a stopping worker holds, the healer re-sends
# what a dead one held); kombu's copy would only race a shard whose worker is still fetching
# it across a lost connection, and closing a lost connection twice crashes the worker
# (kombu 5.7: AttributeError in Channel._connparams). Messages it would have restored come
# back after the visibility timeout and find their shard done.
kombu_redis.Channel.do_restore = False


@worker_init.connect
def _preload(**_: object) -> None:
    """Import what every shard needs once, in the worker's main process before its pool
    forks: pyarrow imports pandas the first time it converts Python or NumPy data (0.3-0.5 s
    of CPU), which each pool process would otherwise pay on its first shard."""
    import pandas  # noqa: F401


app = Celery("shardfetch", include=["workers.tasks"])
configure(app, Settings.from_env())
# Heartbeat, holders of received shards, hand-back on stop, and healing (workers/presence.py).
app.steps["consumer"].add(Presence)
