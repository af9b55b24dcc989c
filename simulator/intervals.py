"""Binance kline intervals: the grid of candle open times behind each interval string."""

import numpy as np

SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS

# Fixed-length intervals open on multiples of their length counted from the Unix epoch,
# except 1w, which opens on Mondays: 1970-01-05 was the first Monday after the epoch.
_FIXED_MS: dict[str, tuple[int, int]] = {
    "1s": (SECOND_MS, 0),
    "1m": (MINUTE_MS, 0),
    "3m": (3 * MINUTE_MS, 0),
    "5m": (5 * MINUTE_MS, 0),
    "15m": (15 * MINUTE_MS, 0),
    "30m": (30 * MINUTE_MS, 0),
    "1h": (HOUR_MS, 0),
    "2h": (2 * HOUR_MS, 0),
    "4h": (4 * HOUR_MS, 0),
    "6h": (6 * HOUR_MS, 0),
    "8h": (8 * HOUR_MS, 0),
    "12h": (12 * HOUR_MS, 0),
    "1d": (DAY_MS, 0),
    "3d": (3 * DAY_MS, 0),
    "1w": (7 * DAY_MS, 4 * DAY_MS),
}
MONTH = "1M"
INTERVALS: tuple[str, ...] = (*_FIXED_MS, MONTH)


def is_interval(interval: str) -> bool:
    return interval in _FIXED_MS or interval == MONTH


def open_ms(interval: str, index: np.ndarray) -> np.ndarray:
    """Open time (int64 ms) of candle number `index` (for 1M: months since 1970-01)."""
    index = np.asarray(index, dtype=np.int64)
    if interval == MONTH:
        return index.astype("datetime64[M]").astype("datetime64[ms]").astype(np.int64)
    step_ms, offset_ms = _FIXED_MS[interval]
    return offset_ms + index * step_ms


def floor_index(interval: str, t_ms: int) -> int:
    """Index of the candle that contains t_ms (the last candle opening at or before it)."""
    if interval == MONTH:
        return int(np.datetime64(int(t_ms), "ms").astype("datetime64[M]").astype(np.int64))
    step_ms, offset_ms = _FIXED_MS[interval]
    return (t_ms - offset_ms) // step_ms


def ceil_index(interval: str, t_ms: int) -> int:
    """Index of the first candle opening at or after t_ms."""
    index = floor_index(interval, t_ms)
    if int(open_ms(interval, np.array([index]))[0]) < t_ms:
        index += 1
    return index
