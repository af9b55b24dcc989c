"""Perpetual fundings as integer columns, on each symbol's funding schedule.

A schedule is a list of (from_ms, interval_ms) segments (catalog.Listing.funding_schedule):
fundings fall on multiples of the segment's interval from its start until the next segment or
the delisting. Fundings are numbered from 0 (the first funding), so venues page by number as
they do for trades. Today's symbols fund every 8 hours (00:00, 08:00, 16:00 UTC), with the
values they always had: a funding's rate is a pure function of its time, whatever the
schedule around it.
"""

import math
from dataclasses import dataclass

import numpy as np

from simulator import catalog
from simulator.intervals import HOUR_MS
from simulator.noise import stream_key, uniform
from simulator.pricepath import price_ticks

FUNDING_PERIOD_MS = 8 * HOUR_MS  # the usual interval, and the grid of the original noise
MARKET = catalog.USDM


@dataclass(frozen=True)
class Fundings:
    """Columns of consecutive fundings: rate in units of 1e-8 (may be negative), mark in ticks,
    and the interval in force from each funding to the next (ms; 8 hours if not given)."""

    time_ms: np.ndarray
    rate_u: np.ndarray
    mark_t: np.ndarray
    interval_ms: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.interval_ms is None:
            eight = np.full(len(self.time_ms), FUNDING_PERIOD_MS, dtype=np.int64)
            object.__setattr__(self, "interval_ms", eight)

    def __len__(self) -> int:
        return len(self.time_ms)


def _segments(symbol: str) -> list[tuple[int, int, int]]:
    """(start_ms, interval_ms, count) per segment; count is -1 for an open-ended one."""
    listing = catalog.listing(symbol, MARKET)
    schedule = listing.funding_schedule
    out = []
    for k, (start_ms, interval_ms) in enumerate(schedule):
        end_ms = schedule[k + 1][0] if k + 1 < len(schedule) else listing.delisted_ms
        count = -1 if end_ms is None else max(0, -(-(end_ms - start_ms) // interval_ms))
        out.append((start_ms, interval_ms, count))
    return out


def count_before(symbol: str, t_ms: int) -> int:
    """How many fundings happen before t_ms: also the number of the first at or after it."""
    total = 0
    for start_ms, interval_ms, count in _segments(symbol):
        if t_ms <= start_ms:
            break
        n = -(-(t_ms - start_ms) // interval_ms)
        total += n if count < 0 else min(n, count)
    return total


def times_ms(symbol: str, first: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Times and intervals of fundings number first..stop-1 (clipped to those that exist)."""
    times, intervals = [], []
    offset = 0
    for start_ms, interval_ms, count in _segments(symbol):
        lo = max(first - offset, 0)
        hi = stop - offset if count < 0 else min(stop - offset, count)
        if hi > lo:
            j = np.arange(lo, hi, dtype=np.int64)
            times.append(start_ms + j * interval_ms)
            intervals.append(np.full(len(j), interval_ms, dtype=np.int64))
        if count < 0:
            break
        offset += count
    if not times:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return np.concatenate(times), np.concatenate(intervals)


def first_time_ms(symbol: str) -> int:
    return catalog.listing(symbol, MARKET).funding_schedule[0][0]


def interval_at(symbol: str, t_ms: int) -> int:
    """The interval (ms) of the segment in force at t_ms (the first one before it starts)."""
    schedule = catalog.listing(symbol, MARKET).funding_schedule
    current = schedule[0][1]
    for start_ms, interval_ms in schedule:
        if start_ms <= t_ms:
            current = interval_ms
    return current


def fundings(symbol: str, first: int, stop: int, seed: int) -> Fundings:
    """Fundings number first..stop-1 (no clock checks here)."""
    time_ms, interval_ms = times_ms(symbol, first, max(first, stop))
    key = stream_key(seed, "funding", symbol)
    # The original 8-hour noise for times on the 8-hour grid, another stream elsewhere.
    on_grid = time_ms % FUNDING_PERIOD_MS == 0
    u = np.where(
        on_grid,
        uniform(key, time_ms // FUNDING_PERIOD_MS),
        uniform(stream_key(key, "off-grid"), time_ms // HOUR_MS),
    )
    # A slow wave of sentiment plus noise: mostly around +0.01 % per 8 h, sometimes negative;
    # shorter intervals pay proportionally less each time.
    wave = np.sin(time_ms.astype(np.float64) * (2 * math.pi / (30 * 24 * HOUR_MS)))
    per_8h = 2_000 + 6_000 * wave + 8_000 * (u - 0.25)
    rate_u = np.rint(per_8h * (interval_ms / FUNDING_PERIOD_MS)).astype(np.int64)
    return Fundings(
        time_ms=time_ms,
        rate_u=rate_u,
        mark_t=price_ticks(symbol, MARKET, time_ms, seed),
        interval_ms=interval_ms,
    )
