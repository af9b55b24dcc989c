"""24-hour ticker statistics of a symbol at a moment, as every venue's ticker route serves them.

Prices come from the price path (last price now, open price 24 h ago, high and low over the
hourly marks between). The 24 h quote volume is the symbol's typical daily quote volume
(catalog.Listing.quote_per_minute × 1440): it does not move with the clock, so "the top N by
24 h quote volume" has one answer (`ranked`), and the klines' volumes average to it. A symbol
that is not trading (before its listing, after its delisting) has zero volume.
"""

from dataclasses import dataclass

import numpy as np

from simulator import catalog, trades
from simulator.intervals import DAY_MS, HOUR_MS
from simulator.pricepath import TICKS_PER_UNIT, UNITS_PER_QTY, price_ticks


@dataclass(frozen=True)
class Ticker:
    """One symbol's last 24 h: prices in ticks, volumes in 1e-8 units, trade ids and count."""

    symbol: str
    open_ms: int
    close_ms: int
    open_t: int
    high_t: int
    low_t: int
    last_t: int
    volume_u: int
    quote_u: int
    first_id: int
    last_id: int
    count: int

    @property
    def change_t(self) -> int:
        return self.last_t - self.open_t


def quote_volume_u(listing: catalog.Listing, now_ms: int) -> int:
    """The 24 h quote volume (1e-8 units): the typical day's, or 0 if not trading now."""
    if not listing.trading_at(now_ms):
        return 0
    return round(listing.quote_per_minute * 1440) * UNITS_PER_QTY


def ticker(symbol: str, market: str, now_ms: int, seed: int, trades_per_day: int) -> Ticker:
    listing = catalog.listing(symbol, market)
    market = catalog.market_name(market)
    end_ms = now_ms if listing.delisted_ms is None else min(now_ms, listing.delisted_ms - 1)
    start_ms = end_ms - DAY_MS
    marks = np.append(np.arange(start_ms, end_ms, HOUR_MS, dtype=np.int64), end_ms)
    marks = marks[marks >= listing.listed_ms] if end_ms >= listing.listed_ms else marks[-1:]
    prices = price_ticks(symbol, market, marks, seed)
    quote_u = quote_volume_u(listing, now_ms)
    last_t = int(prices[-1])
    volume_u = round(quote_u * TICKS_PER_UNIT / last_t)

    def before(t_ms: int) -> int:
        return trades.count_before(symbol, market, t_ms, seed, trades_per_day)

    first, stop = before(start_ms), before(end_ms + 1)
    if not listing.trading_at(now_ms):  # a delisted symbol's day: no trades, no volume
        first = stop
    offset = trades.first_agg_id(symbol, market)
    return Ticker(
        symbol=symbol,
        open_ms=start_ms,
        close_ms=end_ms,
        open_t=int(prices[0]),
        high_t=int(prices.max()),
        low_t=int(prices.min()),
        last_t=last_t,
        volume_u=volume_u,
        quote_u=quote_u,
        first_id=offset + first if stop > first else -1,
        last_id=offset + stop - 1 if stop > first else -1,
        count=stop - first,
    )


def ranked(market: str, now_ms: int) -> list[str]:
    """Symbols of market by 24 h quote volume, largest first (ties by name)."""
    listings = catalog.listings(market)
    return [
        x.symbol for x in sorted(listings, key=lambda x: (-quote_volume_u(x, now_ms), x.symbol))
    ]
