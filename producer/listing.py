"""Asking the exchange, before anything is queued, whether a symbol exists and since when.

Every question goes through the cluster-wide limiter; `Probes` bounds how many are in
flight at once (the limiter's Redis pool is finite), and answers are cached in the dataset's
Redis keys so that a re-run asks nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

import redis

from storage.errors import InputError, PermanentError, ShardfetchError, TransientError
from storage.keys import Keys
from workers.edge import Retry
from workers.exchanges.base import Adapter, PageRequest
from workers.http import Http

ATTEMPTS = 4
#: listing probes in flight at once: well under the limiter's pool of 100 Redis connections
CONCURRENCY = 16
#: how long a found first-data time is kept: it does not change, but a re-listed symbol may
FIRST_DATA_TTL_S = 7 * 86_400
T = TypeVar("T")


async def ask(
    http: Http, adapter: Adapter, request: PageRequest, read: Callable[[bytes], T], about: str
) -> T:
    """`read` of the answer to `request`, retried on transient faults; one-line errors.

    PermanentError (the exchange refuses) is re-raised for the caller to word; a transient
    fault that outlasts the retries and an unreadable answer become a ShardfetchError.
    """

    async def once() -> T:
        return read(await http.get(adapter, request))

    try:
        return await Retry(ATTEMPTS).run(once, f"{adapter.name} {about}")
    except PermanentError:
        raise
    except TransientError as exc:
        raise ShardfetchError(
            f"could not ask {adapter.name} about {about}: {exc}; check the network and the "
            "exchange's URL setting, then try again"
        ) from None
    except ShardfetchError:
        raise
    except Exception as exc:  # an answer the code cannot read: say so in one line
        raise ShardfetchError(
            f"{adapter.name} answered about {about} with something shardfetch cannot read "
            f"({type(exc).__name__}: {exc}); try again later"
        ) from None


async def first_data(
    http: Http, adapter: Adapter, market: str, dtype: str, symbol: str
) -> datetime | None:
    """When the symbol's `dtype` data begins on `market`, None if it has none yet.

    Raises InputError with the exchange's own reason when the exchange does not know it.
    """
    return (await first_data_of(http, adapter, market, (dtype,), symbol))[0]


async def first_data_of(
    http: Http, adapter: Adapter, market: str, dtypes: Sequence[str], symbol: str
) -> list[datetime | None]:
    """`first_data` of each of `dtypes`, whose listing requests must be one and the same:
    asked once, the answer read for each type."""
    request = adapter.listing_request(market, dtypes[0], symbol)

    def read(body: bytes) -> list[int | None]:
        return [adapter.parse_listing(body, dtype) for dtype in dtypes]

    try:
        firsts = await ask(http, adapter, request, read, f"{market} {symbol}")
    except PermanentError as exc:
        raise InputError(
            f"{adapter.name} {market} refused symbol {symbol}: {exc}; check the spelling "
            "(BTCUSDT on every exchange: shardfetch maps it to the exchange's own) and "
            "that it trades on this market"
        ) from None
    return [None if ms is None else datetime.fromtimestamp(ms / 1000, UTC) for ms in firsts]


class FirstDataCache:
    """Remembers each symbol's first data time in the dataset's Redis keys (for a week), so a
    re-run asks the exchange nothing.

    Only found times are kept: a symbol without data yet may list later.
    """

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.client = client
        self.prefix = keys.first_data

    def _key(self, exchange: str, market: str, dtype: str, symbol: str) -> str:
        return f"{self.prefix}{exchange}:{market}:{dtype}:{symbol}"

    def get(self, exchange: str, market: str, dtype: str, symbol: str) -> datetime | None:
        raw = self.client.get(self._key(exchange, market, dtype, symbol))
        return None if raw is None else datetime.fromtimestamp(int(raw) / 1000, UTC)

    def get_many(self, wanted: list[tuple[str, str, str, str]]) -> list[datetime | None]:
        """`get` of each (exchange, market, dtype, symbol), in one round trip."""
        if not wanted:
            return []
        raws = self.client.mget([self._key(*where) for where in wanted])
        return [None if r is None else datetime.fromtimestamp(int(r) / 1000, UTC) for r in raws]

    def put(self, exchange: str, market: str, dtype: str, symbol: str, first: datetime) -> None:
        self.client.set(
            self._key(exchange, market, dtype, symbol),
            int(first.timestamp() * 1000),
            ex=FIRST_DATA_TTL_S,
        )


async def bounded(jobs: list[Callable[[], Awaitable[T]]], limit: int = CONCURRENCY) -> list[T]:
    """Run `jobs` with at most `limit` in flight; results in order. The first failure cancels
    the rest and is raised."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    tasks = [asyncio.ensure_future(one(job)) for job in jobs]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
