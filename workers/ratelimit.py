"""The cluster-wide rate limiter: one weighted rolling-window budget per exchange endpoint group.

The atomic part lives in `lua/*.lua` (spend N weight now, else how long to wait; take in what
the exchange reports spent) and reads Redis `TIME`, so every worker on every host shares one
clock and one budget. This module is the policy: ask, sleep with jitter, honour cooldowns,
give up at a deadline.

Budgets are kept per endpoint group, cooldowns per exchange host: an exchange that answers
429, 418 or 403 limits the IP on that host, so every group served from it stops.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files

import redis.asyncio as aioredis
from redis import Redis as SyncRedis

from storage.errors import ConfigError, RateLimited

PREFIX = "shardfetch:limit:"
BUCKETS_PER_WINDOW = 500
#: Local credit: a process asks for this many requests' weight at once (when that is at most
#: 1/CREDIT_SHARE of the budget) and spends the rest without asking Redis, within
#: CREDIT_TTL_S and a quarter of the margin of asking (the weight was counted then or later).
CREDIT_REQUESTS, CREDIT_SHARE, CREDIT_TTL_S = 4, 20, 0.1


@dataclass(frozen=True)
class Budget:
    """A rate budget: `weight` units per rolling `seconds`."""

    weight: int
    seconds: float

    @classmethod
    def parse(cls, text: str, name: str = "rate limit") -> Budget:
        try:
            weight_text, seconds_text = text.split("/")
            budget = cls(int(weight_text), float(seconds_text))
        except ValueError:
            raise ConfigError(
                f"{name}={text!r} is not weight/seconds; write it like 6000/60"
            ) from None
        if budget.weight <= 0 or not 0 < budget.seconds < math.inf:
            raise ConfigError(f"{name}={text!r} must be positive, like 6000/60")
        return budget


def window_key(exchange: str, group: str, limit_key: str = "") -> str:
    """The hash of a budget's rolling window: time bucket -> weight spent in it."""
    return f"{PREFIX}{exchange}:{group}" + (f":{limit_key}" if limit_key else "") + ":window"


def cooldown_key(exchange: str, host: str, limit_key: str = "") -> str:
    """Exists while the exchange's `host` told us to stay away; its PTTL is the time left."""
    return f"{PREFIX}{exchange}:cooldown:{host}" + (f":{limit_key}" if limit_key else "")


def _script(name: str) -> str:
    return files("workers").joinpath("lua", name).read_text()


def _bucket_ms(window_ms: int) -> int:
    return max(window_ms // BUCKETS_PER_WINDOW, 1)


class Limiter:
    """Spends request weight from budgets shared by every worker that uses the same Redis.

    `margin_ms` keeps each spend in the window that much longer than the budget says: a
    request is counted here when it is sent and at the exchange when it arrives, so the
    margin must cover the delay between the two. `limit_key` separates budgets for hosts
    that reach the exchange from their own egress IP (the exchange counts per IP).

    Where the budget is large, one acquire takes CREDIT_REQUESTS requests' weight and keeps
    the rest as a local credit that later requests of this process spend without a round
    trip to Redis; unspent credit lapses a quarter of the margin (at most CREDIT_TTL_S)
    after it was asked for (not after the answer came: a slow answer must not stretch
    it), so every request is still sent within the window that counted it.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        budgets: Mapping[tuple[str, str], Budget],
        *,
        limit_key: str = "",
        margin_ms: int = 0,
    ) -> None:
        self.budgets = dict(budgets)
        self.limit_key = limit_key
        self.margin_ms = margin_ms
        self._acquire = client.register_script(_script("acquire.lua"))
        self._cooldown = client.register_script(_script("cooldown.lua"))
        self._observe = client.register_script(_script("observe.lua"))
        self._credit = _Credit(min(CREDIT_TTL_S, margin_ms / 4000))

    def _window(self, exchange: str, group: str) -> tuple[Budget, int, int]:
        """The budget, its window held in ms (margin included) and its bucket in ms."""
        budget = self.budgets[(exchange, group)]
        held_ms = int(budget.seconds * 1000) + self.margin_ms
        return budget, held_ms, _bucket_ms(int(budget.seconds * 1000))

    async def acquire(
        self,
        exchange: str,
        group: str,
        weight: int,
        *,
        host: str = "",
        deadline_s: float = 600.0,
    ) -> float:
        """Wait until `weight` may be spent and `host` is not cooling down, spend it, and
        return the seconds waited.

        Raises RateLimited if that would take longer than `deadline_s`.
        """
        budget, held_ms, bucket_ms = self._window(exchange, group)
        if weight > budget.weight:
            raise ConfigError(
                f"a request of weight {weight} can never fit {exchange} {group}'s budget of "
                f"{budget.weight}/{budget.seconds:g}s; raise the budget"
            )
        started = time.monotonic()
        credit_key = (exchange, group, host)
        if self._credit.spend(credit_key, weight, started):
            return 0.0
        keys = [
            window_key(exchange, group, self.limit_key),
            cooldown_key(exchange, host, self.limit_key),
        ]
        ask = self._credit.ask(credit_key, weight, budget.weight)
        args = [ask, budget.weight, held_ms, bucket_ms]
        try:
            while True:
                # The script counts the weight at some instant between asking and its answer:
                # credit lapses counted from the asking, so none is spent later than a
                # quarter of the margin after the moment it was counted, however slow the
                # answer came back.
                asked_at = time.monotonic()
                wait_ms = int(await self._acquire(keys=keys, args=args))
                if wait_ms == 0:
                    self._credit.add(credit_key, args[0] - weight, asked_at)
                    return time.monotonic() - started
                if args[0] > weight:  # no room for a batch: ask for this request alone
                    args[0] = weight
                    continue
                waited = time.monotonic() - started
                if waited + wait_ms / 1000 > deadline_s:
                    raise RateLimited(
                        f"{exchange} {group}: no budget within {deadline_s:g}s",
                        retry_after_s=wait_ms / 1000,
                    )
                # Jitter spreads the waiters so they do not all ask again in the same instant.
                await asyncio.sleep(wait_ms / 1000 + random.uniform(0, bucket_ms / 1000))
        finally:
            self._credit.asked(credit_key, ask > weight)

    async def cool_down(self, exchange: str, host: str, seconds: float) -> None:
        """Stop every worker from sending to the exchange's `host` for `seconds` (the server
        said so: 429, 418, 403 with Retry-After)."""
        key = cooldown_key(exchange, host, self.limit_key)
        self._credit.drop(exchange)
        await self._cooldown(keys=[key], args=[max(int(seconds * 1000), 1)])

    async def observe(self, exchange: str, group: str, used: int, window_s: float) -> int:
        """Take in the weight the exchange reports this IP used in its `window_s` window
        (X-MBX-USED-WEIGHT-1M); returns the weight added to the budget, 0 if none.

        Only a report over the budget's own window corrects it: another window's figure
        says nothing about this one.
        """
        budget = self.budgets.get((exchange, group))
        if budget is None or budget.seconds != window_s:
            return 0
        # Compared with all the window holds, margin included: weight we spent a little
        # more than `window_s` ago may have reached the exchange within its window.
        _, held_ms, bucket_ms = self._window(exchange, group)
        args = [used, held_ms, bucket_ms, held_ms + 2 * bucket_ms]
        key = window_key(exchange, group, self.limit_key)
        return int(await self._observe(keys=[key], args=args))


class _Credit:
    """Weight one process acquired ahead, per (exchange, group, host), each amount with the
    time it lapses. One batch is asked for at a time per key: concurrent requests that find
    no credit ask for their own weight only, so a burst never takes more than it needs."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._left: dict[tuple[str, str, str], tuple[int, float]] = {}
        self._asking: set[tuple[str, str, str]] = set()

    def spend(self, key: tuple[str, str, str], weight: int, now: float) -> bool:
        left, lapses = self._left.get(key, (0, 0.0))
        if left < weight or now >= lapses:
            return False
        self._left[key] = (left - weight, lapses)
        return True

    def ask(self, key: tuple[str, str, str], weight: int, budget: int) -> int:
        """The weight to ask Redis for: a batch where credit applies and none is asked yet."""
        batch = weight * CREDIT_REQUESTS
        if self.ttl_s <= 0 or batch > budget // CREDIT_SHARE or key in self._asking:
            return weight
        self._asking.add(key)
        return batch

    def asked(self, key: tuple[str, str, str], batched: bool) -> None:
        if batched:
            self._asking.discard(key)

    def add(self, key: tuple[str, str, str], extra: int, asked_at: float) -> None:
        """Credit `extra` weight counted no earlier than `asked_at`; it lapses `ttl_s` after."""
        if extra <= 0:
            return
        left, lapses = self._left.get(key, (0, 0.0))
        # What was left keeps its earlier lapse: no weight outlives the time it may wait.
        if asked_at >= lapses:
            left, lapses = 0, asked_at + self.ttl_s
        self._left[key] = (left + extra, lapses)

    def drop(self, exchange: str) -> None:
        self._left = {k: v for k, v in self._left.items() if k[0] != exchange}


def usage(
    client: SyncRedis, budgets: Mapping[tuple[str, str], Budget], *, limit_key: str = ""
) -> dict[tuple[str, str], int]:
    """Weight spent in the current window per budget, in one round trip.

    For watching only: it reads the same buckets `acquire.lua` counts, without spending.
    """
    pipe = client.pipeline(transaction=False)
    pipe.time()
    names = list(budgets)
    for exchange, group in names:
        pipe.hgetall(window_key(exchange, group, limit_key))
    seconds, micros = (replies := pipe.execute())[0]
    now_ms = seconds * 1000 + micros // 1000
    out = {}
    for name, buckets in zip(names, replies[1:], strict=True):
        window_ms = int(budgets[name].seconds * 1000)
        bucket_ms = _bucket_ms(window_ms)
        oldest = now_ms // bucket_ms - -(-window_ms // bucket_ms)
        out[name] = sum(int(w) for b, w in buckets.items() if int(b) >= oldest)
    return out


def cooldowns(client: SyncRedis, exchanges: list[str]) -> dict[tuple[str, str], float]:
    """Seconds left per (exchange, host) that is cooling down now (for watching)."""
    out = {}
    for exchange in exchanges:
        for key in client.scan_iter(match=f"{PREFIX}{exchange}:cooldown:*", count=100):
            left_ms = client.pttl(key)
            if left_ms > 0:
                host = key.decode().removeprefix(f"{PREFIX}{exchange}:cooldown:")
                out[(exchange, host)] = left_ms / 1000
    return out
