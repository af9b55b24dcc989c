"""USD-M perpetual funding every 8 hours (00:00, 08:00, 16:00 UTC) as integer columns."""

import math
from dataclasses import dataclass

import numpy as np

from simulator import catalog
from simulator.intervals import HOUR_MS
from simulator.noise import stream_key, uniform
from simulator.pricepath import price_ticks

FUNDING_PERIOD_MS = 8 * HOUR_MS
MARKET = catalog.USDM


@dataclass(frozen=True)
class Fundings:
    """Columns of consecutive fundings: rate in units of 1e-8 (may be negative), mark in ticks."""

    time_ms: np.ndarray
    rate_u: np.ndarray
    mark_t: np.ndarray

    def __len__(self) -> int:
        return len(self.time_ms)


def floor_index(t_ms: int) -> int:
    """Index of the last funding at or before t_ms."""
    return t_ms // FUNDING_PERIOD_MS


def ceil_index(t_ms: int) -> int:
    """Index of the first funding at or after t_ms."""
    return -(-t_ms // FUNDING_PERIOD_MS)


def first_index(symbol: str) -> int:
    listing = catalog.listing(symbol, MARKET)
    if listing.first_funding_ms is not None:
        return ceil_index(listing.first_funding_ms)
    return ceil_index(listing.listed_ms)


def first_time_ms(symbol: str) -> int:
    return first_index(symbol) * FUNDING_PERIOD_MS


def fundings(symbol: str, first: int, stop: int, seed: int) -> Fundings:
    """Fundings number first..stop-1 on the 8-hour grid (no listing or clock checks here)."""
    index = np.arange(first, max(first, stop), dtype=np.int64)
    time_ms = index * FUNDING_PERIOD_MS
    key = stream_key(seed, "funding", symbol)
    u = uniform(key, index)
    # A slow wave of sentiment plus noise: mostly around +0.01 %, sometimes negative.
    wave = np.sin(time_ms.astype(np.float64) * (2 * math.pi / (30 * 24 * HOUR_MS)))
    rate_u = np.rint(2_000 + 6_000 * wave + 8_000 * (u - 0.25)).astype(np.int64)
    return Fundings(
        time_ms=time_ms, rate_u=rate_u, mark_t=price_ticks(symbol, MARKET, time_ms, seed)
    )
