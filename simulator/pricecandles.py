"""Price-only candles of the perpetual market's mark price, index price and premium index.

Each series is a pure function of time, like the trade price path: the mark and index prices
follow the symbol's waves with their own per-millisecond noise (so they stay within a few
hundredths of a percent of the traded price, and of each other), and the premium index is a
small rate around zero in units of 1e-8. A candle opens at the series' value at its open time,
closes at the value at the next open time (so candles join up), and reaches a little above and
below both. Candles exist from the one containing the perpetual's listing to the last one
opening before its delisting, like the traded candles.
"""

import math
from dataclasses import dataclass

import numpy as np

from simulator import catalog, intervals
from simulator.catalog import USDM
from simulator.intervals import DAY_MS, MINUTE_MS
from simulator.noise import stream_key, uniform
from simulator.pricepath import price_ticks

KINDS: tuple[str, ...] = ("mark", "index", "premium")
PREMIUM_SCALE = 10**8  # premium values are integers in units of 1e-8


@dataclass(frozen=True)
class PriceCandles:
    """Columns of consecutive candles: times in ms; values in ticks of 0.01 (mark, index) or
    units of 1e-8 (premium, may be negative)."""

    open_ms: np.ndarray
    close_ms: np.ndarray
    open_v: np.ndarray
    high_v: np.ndarray
    low_v: np.ndarray
    close_v: np.ndarray

    def __len__(self) -> int:
        return len(self.open_ms)


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")


def values(kind: str, symbol: str, times_ms: np.ndarray, seed: int) -> np.ndarray:
    """The series at each time: mark/index in ticks (at least 1), premium in 1e-8 units."""
    check_kind(kind)
    times_ms = np.asarray(times_ms, dtype=np.int64)
    if kind != "premium":
        return price_ticks(symbol, f"{USDM}-{kind}", times_ms, seed)
    # A slow wave (a few days) of about +-0.03 % plus per-minute noise of +-0.02 %.
    phase = uniform(stream_key(seed, "premium-phase", symbol), np.zeros(1, np.int64))[0]
    angle = (times_ms % (5 * DAY_MS)) * (2 * math.pi / (5 * DAY_MS)) + 2 * math.pi * phase
    noise = uniform(stream_key(seed, "premium", symbol), times_ms // MINUTE_MS) - 0.5
    return np.rint((0.0003 * np.sin(angle) + 0.0004 * noise) * PREMIUM_SCALE).astype(np.int64)


def first_index(symbol: str, interval: str) -> int:
    return intervals.floor_index(interval, catalog.listing(symbol, USDM).listed_ms)


def last_index(symbol: str, interval: str, now_ms: int) -> int:
    """Index of the newest candle at now_ms: the one containing now, or the last one opening
    before the perpetual's delisting."""
    last = intervals.floor_index(interval, now_ms)
    delisted_ms = catalog.listing(symbol, USDM).delisted_ms
    if delisted_ms is not None:
        last = min(last, intervals.ceil_index(interval, delisted_ms) - 1)
    return last


def candles(
    kind: str, symbol: str, interval: str, first: int, stop: int, seed: int
) -> PriceCandles:
    """Candles number first..stop-1 on the interval's grid (no listing or clock checks here)."""
    edges_ms = intervals.open_ms(interval, np.arange(first, max(first, stop) + 1, dtype=np.int64))
    open_ms, next_ms = edges_ms[:-1], edges_ms[1:]
    edges = values(kind, symbol, edges_ms, seed)
    open_v, close_v = edges[:-1], edges[1:]
    key = stream_key(seed, "price-kline", kind, symbol, interval)
    up, down = uniform(stream_key(key, "up"), open_ms), uniform(stream_key(key, "down"), open_ms)
    minutes = (next_ms - open_ms) / MINUTE_MS
    if kind == "premium":
        spread = 20_000 * np.sqrt(minutes / 60)  # about 0.0002 an hour
        low_floor = np.iinfo(np.int64).min
    else:
        spread = np.abs(open_v) * 0.0005 * np.sqrt(minutes)
        low_floor = 1
    high_v = np.maximum(open_v, close_v) + np.rint(spread * up).astype(np.int64)
    low_v = np.maximum(
        np.minimum(open_v, close_v) - np.rint(spread * down).astype(np.int64), low_floor
    )
    return PriceCandles(open_ms, next_ms - 1, open_v, high_v, low_v, close_v)
