"""A worker's presence in its dataset: a heartbeat, the shards it receives, and its healer.

`Presence` is a bootstep of Celery's consumer (added in workers/celery.py). Each time the
consumer starts (at worker start and after every reconnection to the broker) the worker takes
a fresh holder id, so shards it received before a lost connection (which Celery may drop)
count as orphaned. When the consumer stops (a warm shutdown, a lost connection) it hands
back at once the shards it holds and is not running, and leaves. A background thread beats
every `heartbeat_s` and runs the healer; `task_received` records each shard received.
"""

from __future__ import annotations

import logging
import threading
import uuid
import warnings

import redis
from celery import bootsteps
from celery.signals import after_setup_logger, after_setup_task_logger, task_received

from storage.custody import Custody, Orphan
from storage.errors import RedisUnavailable
from storage.shards import Shard
from workers.credentials import mask_logging
from workers.dispatch import send
from workers.edge import REDIS_DOWN, mapped
from workers.healer import Healer
from workers.routing import FETCH_TASK
from workers.runtime import redis_client
from workers.settings import Settings

log = logging.getLogger(__name__)


class _Current:
    """This worker process's presence (the consumer's process only)."""

    holder: str | None = None
    custody: Custody | None = None
    namespace: str = ""


class Presence(bootsteps.StartStopStep):
    requires = ("celery.worker.consumer.connection:Connection",)

    def __init__(self, c, **kwargs) -> None:
        super().__init__(c, **kwargs)
        self.settings = Settings.from_env()
        self.custody = Custody(redis_client(self.settings.redis_url), self.settings.namespace)
        self.healer = Healer(c.app, self.custody, self.settings)
        self.app = c.app
        self.hostname = c.hostname
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, c) -> None:
        _Current.holder = f"{self.hostname}/{uuid.uuid4().hex[:8]}"
        _Current.custody, _Current.namespace = self.custody, self.settings.namespace
        self._beat()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="presence", daemon=True)
            self._thread.start()

    def stop(self, c) -> None:
        """The consumer stops (shutdown, or a lost connection): hand back what we hold."""
        holder, _Current.holder = _Current.holder, None
        if holder is None:
            return
        try:
            with mapped("Redis"):
                held = [
                    Orphan(s, holder, "its worker stopped") for s in self.custody.held_by(holder)
                ]
                back = self.custody.reclaim(held)
                self.custody.leave(holder)
                sources = self.custody.sources(back)
            if back:
                log.warning("handing back %d shards this worker held", len(back))
                send(self.app, back, sources, self.settings.namespace)
        except (RedisUnavailable, *REDIS_DOWN) as exc:
            log.warning("could not hand back held shards (%s): the healer will", exc)

    def shutdown(self, c) -> None:
        self.stop(c)
        self._stop.set()

    def _beat(self) -> None:
        holder = _Current.holder
        if holder is None:
            return
        try:
            self.custody.beat(holder, int(self.settings.lock_ttl_s * 1000))
        except REDIS_DOWN as exc:
            log.warning("heartbeat: cannot reach Redis (%s)", exc)

    def _run(self) -> None:
        while not self._stop.wait(self.settings.heartbeat_s):
            try:
                self._beat()
                self.healer.heal()
            except Exception:  # a bug here must not stop the heartbeat for good
                log.exception("presence: heartbeat or heal pass failed; trying again")


@task_received.connect
def _hold(request, **_: object) -> None:
    """Record that this worker holds the shard of a message it received (to run now, later
    or after a retry's countdown). Never blocks the consumer for long: on a Redis error the
    shard just looks unheld, which the healer treats with patience."""
    holder, custody = _Current.holder, _Current.custody
    if request.name != FETCH_TASK or holder is None or custody is None:
        return
    if (request.kwargs or {}).get("dataset", _Current.namespace) != _Current.namespace:
        return  # another dataset's shard: it is passed on, not held here
    try:
        custody.hold(Shard.parse(request.args[0]), holder)
    except redis.RedisError as exc:  # bookkeeping never stops the consumer
        log.warning("%s: could not record its holder: %s", request.args[0], exc)


@after_setup_logger.connect
@after_setup_task_logger.connect
def _after_logging_setup(logger: logging.Logger, **_: object) -> None:
    """Mask credentials in every log line; drop the warning Celery repeats on each lost
    connection about a setting workers/celery.py sets explicitly."""
    mask_logging(logger)
    mask_logging()
    warnings.filterwarnings("ignore", r"\s*In Celery 5.1 we introduced an optional breaking")
