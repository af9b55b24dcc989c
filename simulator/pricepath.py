"""The deterministic price path of each symbol: a sum of sine waves plus per-millisecond noise."""

import functools
import math
import zlib

import numpy as np

from simulator.intervals import DAY_MS, HOUR_MS, MINUTE_MS
from simulator.noise import stream_key, uniform

# The two fixed-point scales: prices are integer ticks of 0.01, quantities units of 1e-8, so
# ticks / 100 and units / 1e8 are exactly the floats that parsing the served decimals gives.
TICKS_PER_UNIT = 100
UNITS_PER_QTY = 10**8

BASE_PRICES: dict[str, float] = {
    "BTCUSDT": 30_000.0,
    "ETHUSDT": 2_000.0,
    "BNBUSDT": 300.0,
    "NEWUSDT": 12.0,
}

# (period ms, amplitude of log price): slow regimes down to hourly wiggles.
_WAVES: tuple[tuple[int, float], ...] = (
    (3 * 365 * DAY_MS, 0.45),
    (180 * DAY_MS, 0.20),
    (21 * DAY_MS, 0.08),
    (DAY_MS, 0.015),
    (HOUR_MS, 0.003),
)
# The waves are evaluated on a one-minute grid and interpolated: a day of 3 million trades
# then needs 1440 sines per wave instead of 3 million.
_GRID_MS = MINUTE_MS
_NOISE = 0.001  # +-0.05 % per millisecond, keyed by market so spot and usdm differ a little


def base_price(symbol: str) -> float:
    return BASE_PRICES.get(symbol, 1.0 + zlib.crc32(symbol.encode()) % 1000)


@functools.lru_cache(maxsize=8192)
def _phases(symbol: str, seed: int) -> tuple[float, ...]:
    """The symbol's wave phases (cached: tickers of hundreds of symbols ask for them often)."""
    phases = uniform(stream_key(seed, "phase", symbol), np.arange(len(_WAVES))) * 2 * math.pi
    return tuple(phases.tolist())


def _waves(symbol: str, seed: int, grid: np.ndarray) -> np.ndarray:
    phases = _phases(symbol, seed)
    times_ms = grid * _GRID_MS
    log_price = np.zeros(len(grid))
    for (period_ms, amplitude), phase in zip(_WAVES, phases, strict=True):
        # Reduce the angle in exact integers first, so large times lose no precision.
        log_price += amplitude * np.sin((times_ms % period_ms) * (2 * math.pi / period_ms) + phase)
    return log_price


def _distinct(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values and the inverse index; linear time when the input is sorted."""
    if len(grid) and np.all(grid[1:] >= grid[:-1]):
        is_new = np.empty(len(grid), dtype=bool)
        is_new[0] = True
        np.not_equal(grid[1:], grid[:-1], out=is_new[1:])
        return grid[is_new], np.cumsum(is_new) - 1
    return np.unique(grid, return_inverse=True)


def price_ticks(symbol: str, market: str, times_ms: np.ndarray, seed: int) -> np.ndarray:
    """Price (int64 ticks, at least 1) of symbol at each time; a time always gets the same price."""
    times_ms = np.asarray(times_ms, dtype=np.int64)
    grid = times_ms // _GRID_MS
    fraction = (times_ms - grid * _GRID_MS) * (1.0 / _GRID_MS)
    distinct, inverse = _distinct(grid)
    left = _waves(symbol, seed, distinct)
    slope = _waves(symbol, seed, distinct + 1) - left
    log_price = left[inverse] + slope[inverse] * fraction
    log_price += _NOISE * (uniform(stream_key(seed, "tick", symbol, market), times_ms) - 0.5)
    price = base_price(symbol) * TICKS_PER_UNIT * np.exp(log_price)
    return np.maximum(np.rint(price), 1).astype(np.int64)
