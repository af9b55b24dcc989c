"""The `fetch_shard` task: arguments, retries and the ledger on every way out; the work is in
workers/backfill.py.

No exception leaves the task without the ledger saying what became of the shard: stored
(done or partial), queued again (a retry, a worker that stops), passed on (another dataset's
shard) or failed with its reason. A failure nobody foresaw (a parser bug, an answer of the
wrong type, MemoryError) is recorded as `<ExceptionType>: <message>`, its traceback logged.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar

from celery.signals import worker_process_init, worker_process_shutdown
from celery.worker.request import Request
from celery.worker.request import logger as logger_of_requests

from storage.errors import PermanentError, ShardBusy, TransientError
from storage.shards import Shard
from workers.backfill import backfill
from workers.celery import app
from workers.dispatch import pass_on, send
from workers.edge import Retry, until_redis
from workers.routing import FETCH_TASK
from workers.runtime import Runtime
from workers.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
_runtime: Runtime | None = None


class Handback(BaseException):
    """The worker is stopping (SIGTERM) while this process fetches a shard: stop at once and
    hand the shard back to the queue. A BaseException, so no library's `except Exception`
    swallows it on its way out of the fetch."""


def runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = Runtime(Settings.from_env())
    return _runtime


@contextmanager
def _sigterm_hands_back(rt: Runtime) -> Iterator[None]:
    """While a shard is fetched, SIGTERM (a deploy stopping the worker's process group) stops
    the fetch at its next step on the loop, which raises Handback, instead of ending the pool
    process at once with the shard's lock held until it expires. A shard past its last step
    is finished. Outside a fetch, the pool's own handling applies."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only (a threads pool)
        return

    def on_sigterm(signum: int, frame: object) -> None:
        rt.interrupt(Handback("the worker is stopping"))

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        rt.clear_interrupt()


@worker_process_init.connect
def _open_runtime(**_: object) -> None:
    runtime()


@worker_process_shutdown.connect
def _close_runtime(**_: object) -> None:
    global _runtime
    if _runtime is not None:
        _runtime.close()
        _runtime = None


class ShardRequest(Request):
    """A task request whose late acknowledgement survives a lost broker connection.

    A task running when the connection drops carries on and finishes; acknowledging its
    message on the closed channel then raises AttributeError in kombu 5.7, not a connection
    error, which stops the whole worker. Caught like a connection error, the message stays
    unacknowledged and comes back after the visibility timeout, to find its shard done.
    """

    def acknowledge(self) -> None:
        if not self.acknowledged:
            self._on_ack(logger_of_requests, (*self._connection_errors, AttributeError))
            self.acknowledged = True

    def reject(self, requeue: bool = False) -> None:
        if not self.acknowledged:
            errors = (*self._connection_errors, AttributeError)
            self._on_reject(logger_of_requests, errors, requeue)
            self.acknowledged = True
            self.send_event("task-rejected", requeue=requeue)


@app.task(name=FETCH_TASK, bind=True, max_retries=None, Request=ShardRequest)
def fetch_shard(self, key: str, source: str = "auto", dataset: str | None = None) -> dict:
    """Fetch one shard by key from `source` (auto|archive|rest) into `dataset` (its
    namespace); retried with backoff on transient faults, failed on permanent ones."""
    rt = runtime()
    shard = Shard.parse(key)
    if dataset and dataset != rt.settings.namespace:
        return _pass_on(rt, shard, source, dataset)
    try:
        with _sigterm_hands_back(rt):
            return backfill(shard, rt, source).as_dict()
    except ShardBusy:
        # Not this delivery's failure: come back when the holder's lock could have expired.
        until_redis(
            lambda: self.retry(countdown=rt.settings.lock_ttl_s), key, rt.settings.redis_wait_s
        )
        raise AssertionError("unreachable: retry raises") from None
    except Handback:
        return _hand_back(rt, shard, source)
    except PermanentError as exc:
        return _fail(rt, shard, str(exc))
    except TransientError as exc:
        attempt = self.request.retries + 1
        policy = Retry(rt.settings.shard_attempts, base_s=2.0, cap_s=120.0)
        if policy.gives_up(attempt):
            return _fail(rt, shard, f"gave up after {attempt} attempts: {exc}")
        countdown = policy.delay_s(exc, attempt) + 1.0
        log.warning("%s: attempt %d failed (%s); retry in %.1fs", key, attempt, exc, countdown)
        _on_redis(rt, key, lambda: rt.ledger.mark_retrying(shard))
        _on_redis(rt, key, partial(self.retry, exc=exc, countdown=countdown))
        raise AssertionError("unreachable: retry raises") from None
    except Exception as exc:  # a bug, an answer of an unforeseen shape, MemoryError ...
        log.exception("%s: failed on an unexpected error", key)
        return _fail(rt, shard, f"{type(exc).__name__}: {exc}")


def _on_redis(rt: Runtime, key: str, call: Callable[[], T]) -> T:
    return until_redis(call, key, rt.settings.redis_wait_s)


def _fail(rt: Runtime, shard: Shard, reason: str) -> dict[str, Any]:
    log.error("%s: failed: %s", shard.key, reason)
    _on_redis(rt, shard.key, lambda: rt.ledger.mark_failed(shard, reason))
    return {"shard": shard.key, "state": "failed", "note": reason}


def _hand_back(rt: Runtime, shard: Shard, source: str) -> dict[str, Any]:
    """Queue the shard again at once for the other workers; if Redis cannot be reached
    while we stop, the healer re-sends it once this worker's heartbeat is gone."""
    log.warning("%s: the worker is stopping: the shard goes back to the queue", shard.key)

    def requeue_and_send() -> None:
        if rt.ledger.requeue(shard):
            send(app, [shard], source, rt.settings.namespace)
            rt.custody.count_resent()

    until_redis(requeue_and_send, shard.key, rt.settings.lock_ttl_s)
    return {"shard": shard.key, "state": "handed back"}


def _pass_on(rt: Runtime, shard: Shard, source: str, dataset: str) -> dict[str, Any]:
    """A shard of another dataset reached this worker (its message named another namespace):
    it is not written here; it goes to that dataset's own queue."""
    log.error(
        "%s: belongs to dataset %s, this worker serves %s: passed on to its queue",
        shard.key,
        dataset,
        rt.settings.namespace,
    )
    _on_redis(rt, shard.key, lambda: pass_on(app, shard, source, dataset))
    return {"shard": shard.key, "state": "passed on", "note": dataset}
