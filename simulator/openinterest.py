"""Open interest of each perpetual: a snapshot every 5 minutes, a pure function of its time.

Coarser periods (15m, 1h, 4h, 1d) are the 5-minute snapshots at their marks. Open interest is
in base units of 1e-8 and moves slowly around a level set by the symbol's volume; its value in
quote currency is the amount times the mark price at that moment, in units of 1e-8, so both
parse to exactly the ground truth's floats. Snapshots exist from the first 5-minute mark at or
after the perpetual's listing to the last one before its delisting.
"""

import math
from dataclasses import dataclass

import numpy as np

from simulator import catalog, pricecandles
from simulator.catalog import USDM
from simulator.intervals import DAY_MS, HOUR_MS, MINUTE_MS
from simulator.noise import stream_key, uniform
from simulator.pricepath import TICKS_PER_UNIT, UNITS_PER_QTY

STEP_MS = 5 * MINUTE_MS
PERIODS_MS: dict[str, int] = {
    "5m": STEP_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": HOUR_MS,
    "2h": 2 * HOUR_MS,
    "4h": 4 * HOUR_MS,
    "6h": 6 * HOUR_MS,
    "12h": 12 * HOUR_MS,
    "1d": DAY_MS,
}


@dataclass(frozen=True)
class Snapshots:
    """Consecutive snapshots: time (ms), amount (1e-8 base units), value (1e-8 quote units)."""

    time_ms: np.ndarray
    amount_u: np.ndarray
    value_u: np.ndarray

    def __len__(self) -> int:
        return len(self.time_ms)


def period_ms(period: str) -> int:
    try:
        return PERIODS_MS[period]
    except KeyError:
        raise ValueError(f"period must be one of {tuple(PERIODS_MS)}, not {period!r}") from None


def bounds(symbol: str, step_ms: int) -> tuple[int, int | None]:
    """Numbers (times / step) of the first snapshot and one past the last (None: open)."""
    listing = catalog.listing(symbol, USDM)
    first = -(-listing.listed_ms // step_ms)
    stop = None if listing.delisted_ms is None else -(-listing.delisted_ms // step_ms)
    return first, stop


def snapshots(symbol: str, step_ms: int, first: int, stop: int, seed: int) -> Snapshots:
    """Snapshots at times k * step_ms for k in first..stop-1 (no listing or clock checks)."""
    time_ms = np.arange(first, max(first, stop), dtype=np.int64) * step_ms
    listing = catalog.listing(symbol, USDM)
    mark_t = pricecandles.values("mark", symbol, time_ms, seed)
    # Typical open interest: about half a day of quote volume, in base units at the mark.
    level = listing.quote_per_minute * 720 / (mark_t / TICKS_PER_UNIT)
    phase = uniform(stream_key(seed, "oi-phase", symbol), np.zeros(1, np.int64))[0]
    slow = np.sin((time_ms % (17 * DAY_MS)) * (2 * math.pi / (17 * DAY_MS)) + 2 * math.pi * phase)
    noise = uniform(stream_key(seed, "oi", symbol), time_ms // STEP_MS) - 0.5
    amount_u = np.rint(level * np.exp(0.25 * slow + 0.02 * noise) * UNITS_PER_QTY)
    amount_u = np.maximum(amount_u, 1).astype(np.int64)
    # Served as text from these integers, so parsing gives exactly value_u / 1e8.
    value_u = np.rint(amount_u.astype(np.float64) * mark_t / TICKS_PER_UNIT).astype(np.int64)
    return Snapshots(time_ms, amount_u, value_u)
