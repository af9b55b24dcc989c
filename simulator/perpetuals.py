"""Ground truth of the perpetual market's own series, in the dataset's column names: mark, index
and premium klines, open interest, and the funding interval history. Pure functions of their
arguments and the active universe, like simulator.market (which re-exports them).

Every venue serves the same series for a symbol (Binance USD-M, Bybit linear, Gate USDT
futures and MEXC contract all read one perpetual); which columns a venue fills differs, see
the README's simulator section.
"""

import numpy as np
import pandas as pd

from simulator import catalog, fundingrates, intervals, openinterest, pricecandles
from simulator.catalog import USDM
from simulator.pricepath import TICKS_PER_UNIT, UNITS_PER_QTY

KLINE_COLUMNS: tuple[str, ...] = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "trades",
    "taker_buy_base",
    "taker_buy_quote",
)
OPEN_INTEREST_COLUMNS: tuple[str, ...] = ("time", "open_interest", "open_interest_value")
FUNDING_INTERVAL_COLUMNS: tuple[str, ...] = ("from_time", "interval_hours")
NULL_KLINE_COLUMNS: tuple[str, ...] = (
    "volume",
    "quote_volume",
    "trades",
    "taker_buy_base",
    "taker_buy_quote",
)


def price_klines(
    kind: str, symbol: str, interval: str, start_ms: int, end_ms: int, seed: int = 0
) -> pd.DataFrame:
    """Mark ("mark"), index ("index") or premium ("premium") candles with open_time in
    [start_ms, end_ms), from the perpetual's first candle to its last before a delisting.

    open/high/low/close are prices (multiples of 0.01) or, for premium, rates (multiples of
    1e-8); close_time is the next open − 1 ms; volume, quote_volume, trades and the taker
    columns are null (NaN): no venue gives them for these series.
    """
    pricecandles.check_kind(kind)
    if not intervals.is_interval(interval):
        raise ValueError(f"unknown interval {interval!r}; one of {intervals.INTERVALS}")
    first = max(
        intervals.ceil_index(interval, start_ms), pricecandles.first_index(symbol, interval)
    )
    stop = pricecandles.last_index(symbol, interval, end_ms - 1) + 1
    rows = pricecandles.candles(kind, symbol, interval, first, max(first, stop), seed)
    scale = TICKS_PER_UNIT if kind != "premium" else pricecandles.PREMIUM_SCALE
    frame = {
        "open_time": rows.open_ms,
        "open": rows.open_v / scale,
        "high": rows.high_v / scale,
        "low": rows.low_v / scale,
        "close": rows.close_v / scale,
        "close_time": rows.close_ms,
    }
    nulls = np.full(len(rows), np.nan)
    frame.update({name: nulls for name in NULL_KLINE_COLUMNS})
    return pd.DataFrame(frame, columns=list(KLINE_COLUMNS))


def mark_klines(symbol: str, interval: str, start_ms: int, end_ms: int, seed: int = 0):
    """Mark price candles (see price_klines)."""
    return price_klines("mark", symbol, interval, start_ms, end_ms, seed)


def index_klines(symbol: str, interval: str, start_ms: int, end_ms: int, seed: int = 0):
    """Index price candles (see price_klines)."""
    return price_klines("index", symbol, interval, start_ms, end_ms, seed)


def premium_klines(symbol: str, interval: str, start_ms: int, end_ms: int, seed: int = 0):
    """Premium index candles (see price_klines); Binance and Bybit serve them, and Gate's
    /futures/usdt/premium_index; MEXC has none."""
    return price_klines("premium", symbol, interval, start_ms, end_ms, seed)


def open_interest(
    symbol: str, start_ms: int, end_ms: int, seed: int = 0, period: str = "5m"
) -> pd.DataFrame:
    """Open interest snapshots at the period's marks in [start_ms, end_ms): `time` (ms),
    `open_interest` (base units, multiples of 1e-8), `open_interest_value` (quote, multiples
    of 1e-8; Bybit serves none, so its rows leave it null)."""
    step_ms = openinterest.period_ms(period)
    lo, hi = openinterest.bounds(symbol, step_ms)
    first = max(lo, -(-start_ms // step_ms))
    stop = -(-end_ms // step_ms) if hi is None else min(hi, -(-end_ms // step_ms))
    rows = openinterest.snapshots(symbol, step_ms, first, max(first, stop), seed)
    return pd.DataFrame(
        {
            "time": rows.time_ms,
            "open_interest": rows.amount_u / UNITS_PER_QTY,
            "open_interest_value": rows.value_u / UNITS_PER_QTY,
        },
        columns=list(OPEN_INTEREST_COLUMNS),
    )


def funding_intervals(symbol: str) -> pd.DataFrame:
    """The symbol's funding schedule: from `from_time` (ms, a funding time) on, fundings come
    every `interval_hours` (8, 4 or 1) until the next row (or the delisting)."""
    schedule = catalog.listing(symbol, USDM).funding_schedule
    return pd.DataFrame(
        {
            "from_time": np.array([s for s, _ in schedule], dtype=np.int64),
            "interval_hours": np.array([i // 3_600_000 for _, i in schedule], dtype=np.int64),
        },
        columns=list(FUNDING_INTERVAL_COLUMNS),
    )


def funding_interval_hours(symbol: str, t_ms: int) -> int:
    """The funding interval in force at t_ms, in hours (what instrument lists show now)."""
    return fundingrates.interval_at(symbol, t_ms) // 3_600_000
