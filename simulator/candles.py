"""Candles of every Binance interval as integer columns, each a pure function of its open time."""

from dataclasses import dataclass

import numpy as np

from simulator import catalog, intervals
from simulator.intervals import MINUTE_MS
from simulator.noise import stream_key, uniform
from simulator.pricepath import TICKS_PER_UNIT, UNITS_PER_QTY, price_ticks

# Typical quote volume per minute per symbol: catalog.Listing.quote_per_minute, kept modest so
# a 1M candle's quote volume in units of 1e-8 stays far below 2**63.
TRADES_PER_MINUTE = 400.0


@dataclass(frozen=True)
class Candles:
    """Columns of consecutive candles: times in ms, prices in ticks, quantities in 1e-8 units."""

    open_ms: np.ndarray
    close_ms: np.ndarray
    open_t: np.ndarray
    high_t: np.ndarray
    low_t: np.ndarray
    close_t: np.ndarray
    volume_u: np.ndarray
    quote_u: np.ndarray
    trades: np.ndarray
    taker_base_u: np.ndarray
    taker_quote_u: np.ndarray

    def __len__(self) -> int:
        return len(self.open_ms)


def first_index(symbol: str, market: str, interval: str) -> int:
    """Index of the symbol's first candle: the one containing the listing time."""
    return intervals.floor_index(interval, catalog.listing(symbol, market).listed_ms)


def last_index(symbol: str, market: str, interval: str, now_ms: int) -> int:
    """Index of the newest candle that exists at now_ms: the one containing now, or the last
    one opening before the delisting."""
    last = intervals.floor_index(interval, now_ms)
    delisted_ms = catalog.listing(symbol, market).delisted_ms
    if delisted_ms is not None:
        last = min(last, intervals.ceil_index(interval, delisted_ms) - 1)
    return last


def candles(symbol: str, market: str, interval: str, first: int, stop: int, seed: int) -> Candles:
    """Candles number first..stop-1 on the interval's grid (no listing or clock checks here).

    A candle closes at the next open's price, so consecutive candles join up; its other
    fields come from noise keyed by (interval, open time), so any sub-range is identical to
    the same rows of a larger one.
    """
    edges_ms = intervals.open_ms(interval, np.arange(first, max(first, stop) + 1, dtype=np.int64))
    open_ms, next_ms = edges_ms[:-1], edges_ms[1:]
    edges_t = price_ticks(symbol, market, edges_ms, seed)
    open_t, close_t = edges_t[:-1], edges_t[1:]
    key = stream_key(seed, "kline", symbol, market, interval)
    u = [uniform(stream_key(key, str(field)), open_ms) for field in range(7)]
    minutes = (next_ms - open_ms) / MINUTE_MS

    spread_t = open_t * 0.001 * np.sqrt(minutes) * (0.3 + u[0])
    high_t = np.maximum(open_t, close_t) + np.rint(spread_t * u[1]).astype(np.int64)
    low_t = np.maximum(np.minimum(open_t, close_t) - np.rint(spread_t * u[2]).astype(np.int64), 1)

    quote_per_minute = catalog.listing(symbol, market).quote_per_minute
    volume = quote_per_minute * minutes * (0.4 + 1.2 * u[3]) / (open_t / TICKS_PER_UNIT)
    volume_u = np.maximum(np.rint(volume * UNITS_PER_QTY), 1)
    vwap_t = low_t + (high_t - low_t) * u[4]
    taker_base_u = np.maximum(np.floor(volume_u * (0.3 + 0.4 * u[5])), 1)
    return Candles(
        open_ms=open_ms,
        close_ms=next_ms - 1,
        open_t=open_t,
        high_t=high_t,
        low_t=low_t,
        close_t=close_t,
        volume_u=volume_u.astype(np.int64),
        # rint of a float product is an exactly representable integer, so the int64 and the
        # float column built from it agree exactly.
        quote_u=np.rint(volume_u * vwap_t / TICKS_PER_UNIT).astype(np.int64),
        trades=(1 + np.floor(minutes * TRADES_PER_MINUTE * (0.5 + u[6]))).astype(np.int64),
        taker_base_u=taker_base_u.astype(np.int64),
        taker_quote_u=np.rint(taker_base_u * vwap_t / TICKS_PER_UNIT).astype(np.int64),
    )
