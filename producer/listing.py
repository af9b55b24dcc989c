"""Asking the exchange, before anything is queued, whether a symbol exists and since when."""

from __future__ import annotations

from datetime import UTC, datetime

import redis

from storage.errors import InputError, PermanentError, ShardfetchError, TransientError
from storage.keys import Keys
from workers.edge import Retry
from workers.exchanges.base import Adapter
from workers.http import Http

ATTEMPTS = 4


async def first_data(
    http: Http, adapter: Adapter, market: str, dtype: str, symbol: str
) -> datetime | None:
    """When the symbol's `dtype` data begins on `market`, None if it has none yet.

    Raises InputError with the exchange's own reason when the exchange does not know it.
    """
    request = adapter.listing_request(market, dtype, symbol)

    async def once() -> int | None:
        return adapter.parse_listing(await http.get(adapter, request), dtype)

    try:
        first_ms = await Retry(ATTEMPTS).run(once, f"{adapter.name} {market} {symbol}")
    except PermanentError as exc:
        raise InputError(
            f"{adapter.name} {market} refused symbol {symbol}: {exc}; check the spelling "
            "(BTCUSDT on every exchange: shardfetch maps it to the exchange's own) and "
            "that it trades on this market"
        ) from None
    except TransientError as exc:
        raise ShardfetchError(
            f"could not ask {adapter.name} {market} about {symbol}: {exc}; check the "
            "network and the exchange's URL setting, then try again"
        ) from None
    except Exception as exc:  # an answer the adapter cannot read: say so in one line
        raise ShardfetchError(
            f"{adapter.name} {market} answered about {symbol} with something shardfetch "
            f"cannot read ({type(exc).__name__}: {exc}); try again later"
        ) from None
    return None if first_ms is None else datetime.fromtimestamp(first_ms / 1000, UTC)


class FirstDataCache:
    """Remembers each symbol's first data time in the dataset's Redis keys, so a re-run asks
    the exchange nothing.

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

    def put(self, exchange: str, market: str, dtype: str, symbol: str, first: datetime) -> None:
        self.client.set(self._key(exchange, market, dtype, symbol), int(first.timestamp() * 1000))
