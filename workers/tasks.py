"""The `fetch_shard` task: arguments, retries and the ledger on failure; the work is in backfill."""

from __future__ import annotations

import logging

from celery.signals import worker_process_init, worker_process_shutdown

from storage.errors import PermanentError, ShardBusy, TransientError
from storage.shards import Shard
from workers.backfill import backfill
from workers.celery import app
from workers.edge import Retry
from workers.routing import FETCH_TASK
from workers.runtime import Runtime
from workers.settings import Settings

log = logging.getLogger(__name__)
_runtime: Runtime | None = None


def runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = Runtime(Settings.from_env())
    return _runtime


@worker_process_init.connect
def _open_runtime(**_: object) -> None:
    runtime()


@worker_process_shutdown.connect
def _close_runtime(**_: object) -> None:
    global _runtime
    if _runtime is not None:
        _runtime.close()
        _runtime = None


@app.task(name=FETCH_TASK, bind=True, max_retries=None)
def fetch_shard(self, key: str, source: str = "auto") -> dict:
    """Fetch one shard by key from `source` (auto|archive|rest); retried with backoff on
    transient faults, failed on permanent ones."""
    rt = runtime()
    shard = Shard.parse(key)
    try:
        return backfill(shard, rt, source).as_dict()
    except ShardBusy:
        # Not this delivery's failure: come back when the holder's lock could have expired.
        raise self.retry(countdown=rt.settings.lock_ttl_s) from None
    except PermanentError as exc:
        log.error("%s: failed: %s", key, exc)
        rt.ledger.mark_failed(shard, str(exc))
        return {"shard": key, "state": "failed", "note": str(exc)}
    except TransientError as exc:
        attempt = self.request.retries + 1
        policy = Retry(rt.settings.shard_attempts, base_s=2.0, cap_s=120.0)
        if policy.gives_up(attempt):
            reason = f"gave up after {attempt} attempts: {exc}"
            log.error("%s: %s", key, reason)
            rt.ledger.mark_failed(shard, reason)
            return {"shard": key, "state": "failed", "note": reason}
        countdown = policy.delay_s(exc, attempt) + 1.0
        log.warning("%s: attempt %d failed (%s); retry in %.1fs", key, attempt, exc, countdown)
        rt.ledger.mark_retrying(shard)
        raise self.retry(exc=exc, countdown=countdown) from None
