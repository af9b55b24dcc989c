"""The naive alternative `bench/ratelimit.py` compares with: Celery's own `rate_limit`.

One task per page request, `rate_limit` from NAIVE_RATE_LIMIT (e.g. "30/s"), which Celery
enforces per worker instance. Each task honours the Retry-After of its own 429 or 418, as a
careful single-process client would; nothing is shared between workers.

    NAIVE_RATE_LIMIT=30/s celery -A bench.naive_app worker -Q naive -c 1
"""

from __future__ import annotations

import os
import urllib.error
import urllib.parse
import urllib.request

import redis
from celery import Celery

QUEUE = "naive"
TASK = "naive.fetch_page"
DONE = "naive:done"  # pages fetched, counted in Redis for the bench to wait on

app = Celery("naive", broker=os.environ.get("REDIS_URL", "redis://localhost:6379/0"))
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_default_queue=QUEUE,
    worker_hijack_root_logger=False,
)
_counter = redis.Redis.from_url(app.conf.broker_url)


@app.task(name=TASK, bind=True, max_retries=None, rate_limit=os.environ.get("NAIVE_RATE_LIMIT"))
def fetch_page(self, url: str, params: list[list[str]]) -> int:
    request = f"{url}?{urllib.parse.urlencode([tuple(pair) for pair in params])}"
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        retry_after_s = float(exc.headers.get("Retry-After") or 1)
        raise self.retry(countdown=retry_after_s) from None
    except OSError:
        raise self.retry(countdown=1) from None
    _counter.incr(DONE)
    return 200
