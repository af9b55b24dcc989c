"""Asking the exchange, before anything is queued, whether a symbol exists and since when."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from storage.errors import InputError, PermanentError, ShardfetchError, TransientError
from workers.exchanges.base import Adapter
from workers.fetch import backoff_s
from workers.http import Http

ATTEMPTS = 4


async def first_data(
    http: Http, adapter: Adapter, market: str, dtype: str, symbol: str
) -> datetime | None:
    """When the symbol's `dtype` data begins on `market`, None if it has none yet.

    Raises InputError with the exchange's own reason when the exchange does not know it.
    """
    request = adapter.listing_request(market, dtype, symbol)
    for attempt in range(ATTEMPTS):
        try:
            body = await http.get(adapter, request)
            first_ms = adapter.parse_listing(body, dtype)
            return None if first_ms is None else datetime.fromtimestamp(first_ms / 1000, UTC)
        except PermanentError as exc:
            raise InputError(
                f"{adapter.name} {market} refused symbol {symbol}: {exc}; check the spelling "
                "(the exchange's own, e.g. BTCUSDT) and that it trades on this market"
            ) from None
        except TransientError as exc:
            if attempt + 1 == ATTEMPTS:
                raise ShardfetchError(
                    f"could not ask {adapter.name} {market} about {symbol}: {exc}; check the "
                    "network and the exchange's URL setting, then try again"
                ) from None
            await asyncio.sleep(backoff_s(attempt))
    raise AssertionError("unreachable")
