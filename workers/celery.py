"""The Celery app (`celery -A workers ...`), configured once from the environment."""

from __future__ import annotations

from celery import Celery
from celery.signals import worker_init

from workers.routing import route_shard, task_queues
from workers.settings import Settings


def configure(app: Celery, settings: Settings) -> None:
    app.conf.update(
        broker_url=settings.redis_url,
        broker_connection_retry_on_startup=True,
        # Delivery that survives crashes: ack after the work, requeue if the process dies,
        # take one message at a time, and let a message come back only after the longest
        # shard could have finished.
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={"visibility_timeout": settings.visibility_timeout_s},
        task_ignore_result=True,
        task_queues=task_queues(),
        task_routes=(route_shard,),
        task_default_queue=task_queues()[0].name,
        # Flower sees every task and worker.
        worker_send_task_events=True,
        task_send_sent_event=True,
        worker_hijack_root_logger=False,
    )


@worker_init.connect
def _preload(**_: object) -> None:
    """Import what every shard needs once, in the worker's main process before its pool
    forks: pyarrow imports pandas the first time it converts Python or NumPy data (0.3-0.5 s
    of CPU), which each pool process would otherwise pay on its first shard."""
    import pandas  # noqa: F401


app = Celery("shardfetch", include=["workers.tasks"])
configure(app, Settings.from_env())
