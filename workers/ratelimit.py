"""The cluster-wide rate limiter: one weighted rolling-window budget per exchange endpoint group.

The atomic part lives in `lua/acquire.lua` (spend N weight now, else how long to wait) and
reads Redis `TIME`, so every worker on every host shares one clock and one budget. This
module is the policy: ask, sleep with jitter, honour cooldowns, give up at a deadline.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping
from importlib.resources import files

import redis.asyncio as aioredis
from redis import Redis as SyncRedis

from storage.errors import ConfigError, RateLimited
from workers.settings import Budget

PREFIX = "shardfetch:limit:"
BUCKETS_PER_WINDOW = 100


def _key_pair(exchange: str, group: str, host_key: str) -> tuple[str, str]:
    """The budget's rolling-window hash and its cooldown key."""
    base = f"{PREFIX}{exchange}:{group}" + (f":{host_key}" if host_key else "")
    return base + ":window", base + ":cooldown"


def _script(name: str) -> str:
    return files("workers").joinpath("lua", name).read_text()


class Limiter:
    """Spends request weight from shared budgets keyed by (exchange, group[, host])."""

    def __init__(
        self,
        client: aioredis.Redis,
        budgets: Mapping[tuple[str, str], Budget],
        *,
        host_key: str = "",
    ) -> None:
        self.budgets = dict(budgets)
        self.host_key = host_key
        self._acquire = client.register_script(_script("acquire.lua"))
        self._cooldown = client.register_script(_script("cooldown.lua"))

    def _keys(self, exchange: str, group: str) -> list[str]:
        return list(_key_pair(exchange, group, self.host_key))

    async def acquire(
        self, exchange: str, group: str, weight: int, *, deadline_s: float = 600.0
    ) -> float:
        """Wait until `weight` may be spent, spend it, and return the seconds waited.

        Raises RateLimited if that would take longer than `deadline_s`.
        """
        budget = self.budgets[(exchange, group)]
        if weight > budget.weight:
            raise ConfigError(
                f"a request of weight {weight} can never fit {exchange} {group}'s budget of "
                f"{budget.weight}/{budget.seconds:g}s; raise the budget"
            )
        window_ms = int(budget.seconds * 1000)
        bucket_ms = max(window_ms // BUCKETS_PER_WINDOW, 1)
        args = [weight, budget.weight, window_ms, bucket_ms]
        started = time.monotonic()
        while True:
            wait_ms = int(await self._acquire(keys=self._keys(exchange, group), args=args))
            if wait_ms == 0:
                return time.monotonic() - started
            waited = time.monotonic() - started
            if waited + wait_ms / 1000 > deadline_s:
                raise RateLimited(
                    f"{exchange} {group}: no budget within {deadline_s:g}s",
                    retry_after_s=wait_ms / 1000,
                )
            # Jitter spreads the waiters so they do not all ask again in the same instant.
            await asyncio.sleep(wait_ms / 1000 + random.uniform(0, bucket_ms / 1000))

    async def cool_down(self, exchange: str, group: str, seconds: float) -> None:
        """Stop every worker from sending to this group for `seconds` (server feedback)."""
        await self._cooldown(keys=self._keys(exchange, group)[1:], args=[int(seconds * 1000)])


def usage(
    client: SyncRedis, budgets: Mapping[tuple[str, str], Budget], *, host_key: str = ""
) -> dict[tuple[str, str], tuple[int, float]]:
    """(weight spent in the current window, cooldown seconds left) per budget, in one round trip.

    For watching only: it reads the same buckets `acquire.lua` counts, without spending.
    """
    pipe = client.pipeline(transaction=False)
    pipe.time()
    names = list(budgets)
    for exchange, group in names:
        window, cooldown = _key_pair(exchange, group, host_key)
        pipe.hgetall(window)
        pipe.pttl(cooldown)
    replies = pipe.execute()
    seconds, micros = replies[0]
    now_ms = seconds * 1000 + micros // 1000
    out = {}
    for i, name in enumerate(names):
        buckets, pttl = replies[1 + 2 * i], replies[2 + 2 * i]
        window_ms = int(budgets[name].seconds * 1000)
        bucket_ms = max(window_ms // BUCKETS_PER_WINDOW, 1)
        oldest = now_ms // bucket_ms - -(-window_ms // bucket_ms)
        used = sum(int(w) for b, w in buckets.items() if int(b) >= oldest)
        out[name] = (used, max(pttl, 0) / 1000)
    return out
