"""The network edge: what a failed request means, how long to wait, and when to stop trying.

Every call that leaves the process (an exchange's REST API, an archive host, the shared Redis
of the ledger and the limiter) fails in one of three ways, decided here and nowhere else:

* transient (timeout, reset, 5xx, truncated body, 429/418, Redis unreachable or loading):
  tried again after a jittered exponential backoff, up to the policy's attempts. A rate
  limit waits nothing here (the limiter already holds the cluster-wide cooldown). A Redis
  outage spends no attempt: it is waited out, up to `redis_wait_s`, since nothing anywhere
  can progress without Redis and it normally comes back (a restart, a failover).
* permanent (unknown symbol, 4xx, broken data): raised at once, never retried.
* anything else is a bug or an unexpected answer: raised at once, for the task to record.

HTTP statuses are mapped by the exchange's adapter (`Adapter.check`); transport errors and
Redis errors by `mapped`, below.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import aiohttp
import kombu.exceptions
import redis

from storage.errors import ExchangeUnavailable, RateLimited, RedisUnavailable, TransientError
from workers.credentials import mask

log = logging.getLogger(__name__)
T = TypeVar("T")

#: What a Redis client raises when the server is gone, restarting or still loading its AOF,
#: and what Celery raises when it cannot publish to the broker (the same Redis).
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError, kombu.exceptions.OperationalError)


def backoff_s(attempt: int, *, base_s: float = 0.5, cap_s: float = 30.0) -> float:
    """Exponential backoff with full jitter for the `attempt`-th retry (0-based)."""
    return random.uniform(0, min(cap_s, base_s * 2**attempt))


@contextmanager
def mapped(what: str) -> Iterator[None]:
    """Turn transport and Redis exceptions raised inside into our errors; `what` (a URL, with
    any credential masked) names the request in the message."""
    try:
        yield
    except REDIS_DOWN as exc:
        raise RedisUnavailable(f"Redis did not answer ({mask(str(exc))})") from None
    except TimeoutError:
        raise ExchangeUnavailable(f"timeout on {mask(what)}") from None
    except aiohttp.ClientError as exc:
        raise ExchangeUnavailable(
            f"{type(exc).__name__} on {mask(what)}: {mask(str(exc))}"
        ) from None


@dataclass(frozen=True)
class Retry:
    """How often and how patiently one kind of call is tried (see the module docstring)."""

    attempts: int
    base_s: float = 0.5
    cap_s: float = 30.0
    retry_on: tuple[type[BaseException], ...] = (TransientError,)
    redis_wait_s: float = 300.0

    def delay_s(self, exc: BaseException, attempt: int) -> float:
        """Seconds to wait before the retry after `exc` on the `attempt`-th try (0-based)."""
        if isinstance(exc, RateLimited):
            return 0.0
        if isinstance(exc, RedisUnavailable):  # steady polling until it is back
            ceiling = min(2.0, 0.25 * 2**attempt)
            return ceiling / 2 + random.uniform(0, ceiling / 2)
        return backoff_s(attempt, base_s=self.base_s, cap_s=self.cap_s)

    def gives_up(self, attempt: int) -> bool:
        """Whether the `attempt`-th try (1-based) that failed transiently was the last."""
        return attempt >= self.attempts

    async def run(self, once: Callable[[], Awaitable[T]], what: str) -> T:
        """Await `once()` until it succeeds; the last error is raised when the policy ends."""
        tries = _Tries(self, what)
        while True:
            try:
                return await once()
            except self.retry_on as exc:
                await asyncio.sleep(tries.after(exc))

    def call(self, once: Callable[[], T], what: str) -> T:
        """The same for a blocking call (Redis errors it raises are mapped first)."""
        tries = _Tries(self, what)
        while True:
            try:
                with mapped("Redis"):
                    return once()
            except self.retry_on as exc:
                time.sleep(tries.after(exc))


class _Tries:
    """One call's tries: counts them and says how long to wait, or re-raises at the end."""

    def __init__(self, policy: Retry, what: str) -> None:
        self.policy, self.what = policy, what
        self.attempt = 0
        self.redis_since: float | None = None
        self.redis_tries = 0

    def after(self, exc: BaseException) -> float:
        if isinstance(exc, RedisUnavailable):
            now = time.monotonic()
            if self.redis_since is None:
                self.redis_since = now
                wait_s = self.policy.redis_wait_s
                log.warning("%s: %s; waiting for it (up to %.0fs)", self.what, exc, wait_s)
            elif now - self.redis_since >= self.policy.redis_wait_s:
                raise exc
            self.redis_tries += 1
            return self.policy.delay_s(exc, self.redis_tries)
        self.redis_since, self.redis_tries = None, 0
        self.attempt += 1
        if self.policy.gives_up(self.attempt):
            raise exc
        delay = self.policy.delay_s(exc, self.attempt - 1)
        log.info("%s: %s; retry %d in %.2fs", self.what, exc, self.attempt, delay)
        return delay


def until_redis(once: Callable[[], T], what: str, wait_s: float) -> T:
    """`once()`, a blocking call on Redis, tried until Redis answers or `wait_s` has passed
    (then RedisUnavailable is raised). Other errors are raised at once."""
    return Retry(attempts=1, retry_on=(RedisUnavailable,), redis_wait_s=wait_s).call(once, what)
