"""Per-process resources: one event loop, one HTTP session, Redis clients, adapters."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from contextlib import suppress
from typing import Any, TypeVar

import redis.asyncio as aioredis

from storage.custody import Custody
from storage.ledger import Ledger
from workers.download import Downloader
from workers.exchanges.base import Adapter
from workers.http import Http
from workers.ratelimit import Limiter
from workers.redisconn import REDIS_TIMEOUTS, redis_client
from workers.settings import Settings

T = TypeVar("T")

__all__ = ["REDIS_TIMEOUTS", "Runtime", "redis_client"]


class Runtime:
    """Opened once per worker process (or CLI call) and closed at its shutdown.

    Celery tasks are synchronous; each runs its async fetch on this process's loop, so
    the aiohttp session and its keep-alive connections survive from shard to shard.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.redis = redis_client(settings.redis_url)
        self.ledger = Ledger(self.redis, settings.namespace)
        self.custody = Custody(self.redis, settings.namespace)
        self.store = settings.store()
        self._aioredis = aioredis.Redis.from_url(settings.redis_url, **REDIS_TIMEOUTS)
        self.limiter = Limiter(
            self._aioredis,
            settings.budgets,
            limit_key=settings.limit_key,
            margin_ms=settings.limit_margin_ms,
        )
        self.http = Http(self.limiter, timeout_s=settings.http_timeout_s)
        self._running: asyncio.Task[Any] | None = None
        self._interrupt: BaseException | None = None
        self.downloader = Downloader(
            self.http,
            concurrency=settings.archive_concurrency,
            attempts=settings.archive_attempts,
            timeout_s=settings.http_timeout_s,
        )
        self._adapters: dict[str, Adapter] = {}

    def adapter(self, exchange: str) -> Adapter:
        if exchange not in self._adapters:
            self._adapters[exchange] = self.settings.adapter(exchange)
        return self._adapters[exchange]

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on this process's loop. Interrupted (a SIGTERM raising in the middle of
        the loop, or `interrupt`), it is cancelled and awaited, so its cleanup runs and the
        loop stays usable."""
        if self._interrupt is not None:
            coro.close()
            raise self._interrupt
        task = self.loop.create_task(coro)
        self._running = task
        try:
            return self.loop.run_until_complete(task)
        except asyncio.CancelledError:
            if self._interrupt is not None:
                raise self._interrupt from None
            raise
        except BaseException:
            if not task.done():
                task.cancel()
                with suppress(BaseException):
                    self.loop.run_until_complete(task)
            raise
        finally:
            self._running = None

    def interrupt(self, exc: BaseException) -> None:
        """From a signal handler: the coroutine that `run` runs now is cancelled and `run`
        raises `exc`, and so does every `run` after it until `clear_interrupt`. The handler
        raises nothing itself: raised there, `exc` could land in one of the loop's callbacks
        (asyncio logs and swallows those), or in the synchronous code that takes or releases
        a shard's lock, leaving the lock held until it expires."""
        self._interrupt = exc
        if self._running is not None and not self._running.done():
            self.loop.call_soon_threadsafe(self._running.cancel)

    def clear_interrupt(self) -> None:
        self._interrupt = None

    def close(self) -> None:
        self.run(self.http.close())
        self.run(self._aioredis.aclose())
        self.loop.close()
        self.redis.close()
