"""Ground truth of the simulated Binance markets as DataFrames in the project's column names.

Every function is a pure function of its arguments (no clock): the server serves exactly
these rows, clipped to the current time. Times are int64 ms UTC, ranges are half-open
[start_ms, end_ms), prices are float64 multiples of 0.01 and quantities of 1e-8.
"""

import numpy as np
import pandas as pd

from simulator import candles, catalog, fundingrates, intervals, trades
from simulator.pricepath import TICKS_PER_UNIT, UNITS_PER_QTY
from simulator.trades import DEFAULT_TRADES_PER_DAY

__all__ = [
    "AGGTRADE_COLUMNS",
    "DEFAULT_TRADES_PER_DAY",
    "DTYPES",
    "FUNDING_COLUMNS",
    "KLINE_COLUMNS",
    "aggtrades",
    "first_time_ms",
    "funding",
    "klines",
    "listing_ms",
]

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
AGGTRADE_COLUMNS: tuple[str, ...] = (
    "agg_id",
    "price",
    "qty",
    "first_id",
    "last_id",
    "time",
    "is_buyer_maker",
)
FUNDING_COLUMNS: tuple[str, ...] = ("funding_time", "funding_rate", "mark_price")
DTYPES: tuple[str, ...] = ("klines", "aggtrades", "funding")


def _price(ticks: np.ndarray) -> np.ndarray:
    return ticks / TICKS_PER_UNIT


def _qty(units: np.ndarray) -> np.ndarray:
    return units / UNITS_PER_QTY


def listing_ms(symbol: str, market: str) -> int:
    """When symbol was listed on market ("spot" or "usdm"); UnknownSymbolError if it is not."""
    return catalog.listing(symbol, market).listed_ms


def first_time_ms(symbol: str, market: str, dtype: str, interval: str = "1m") -> int:
    """Time of the symbol's first row of dtype ("klines", "aggtrades" or "funding").

    klines: the open time of the candle that contains the listing (for 1d, 1w or 1M this is
    before the listing, as on Binance); aggtrades: the listing itself (trade 0 is pinned
    there); funding: the first funding, usdm only.
    """
    if dtype == "klines":
        index = candles.first_index(symbol, market, interval)
        return int(intervals.open_ms(interval, np.array([index]))[0])
    if dtype == "aggtrades":
        return listing_ms(symbol, market)
    if dtype == "funding":
        if market != catalog.USDM:
            raise catalog.UnknownSymbolError(f"{market} has no funding")
        return fundingrates.first_time_ms(symbol)
    raise ValueError(f"dtype must be one of {DTYPES}, not {dtype!r}")


def klines(
    symbol: str, market: str, interval: str, start_ms: int, end_ms: int, seed: int = 0
) -> pd.DataFrame:
    """Candles whose open_time is in [start_ms, end_ms), from the symbol's first candle on."""
    if not intervals.is_interval(interval):
        raise ValueError(f"unknown interval {interval!r}; one of {intervals.INTERVALS}")
    first = max(
        intervals.ceil_index(interval, start_ms), candles.first_index(symbol, market, interval)
    )
    rows = candles.candles(
        symbol, market, interval, first, intervals.ceil_index(interval, end_ms), seed
    )
    return pd.DataFrame(
        {
            "open_time": rows.open_ms,
            "open": _price(rows.open_t),
            "high": _price(rows.high_t),
            "low": _price(rows.low_t),
            "close": _price(rows.close_t),
            "volume": _qty(rows.volume_u),
            "close_time": rows.close_ms,
            "quote_volume": _qty(rows.quote_u),
            "trades": rows.trades,
            "taker_buy_base": _qty(rows.taker_base_u),
            "taker_buy_quote": _qty(rows.taker_quote_u),
        },
        columns=list(KLINE_COLUMNS),
    )


def aggtrades(
    symbol: str,
    market: str,
    start_ms: int,
    end_ms: int,
    seed: int = 0,
    trades_per_day: int = DEFAULT_TRADES_PER_DAY,
) -> pd.DataFrame:
    """Aggregate trades with time in [start_ms, end_ms); agg_id is contiguous across calls."""
    first = trades.count_before(symbol, market, start_ms, seed, trades_per_day)
    stop = trades.count_before(symbol, market, end_ms, seed, trades_per_day)
    rows = trades.trades(symbol, market, first, stop, seed, trades_per_day)
    return pd.DataFrame(
        {
            "agg_id": rows.agg_id,
            "price": _price(rows.price_t),
            "qty": _qty(rows.qty_u),
            "first_id": rows.first_id,
            "last_id": rows.last_id,
            "time": rows.time_ms,
            "is_buyer_maker": rows.is_buyer_maker,
        },
        columns=list(AGGTRADE_COLUMNS),
    )


def funding(symbol: str, start_ms: int, end_ms: int, seed: int = 0) -> pd.DataFrame:
    """USD-M fundings with funding_time in [start_ms, end_ms), from the first funding on."""
    first = max(fundingrates.ceil_index(start_ms), fundingrates.first_index(symbol))
    rows = fundingrates.fundings(symbol, first, fundingrates.ceil_index(end_ms), seed)
    return pd.DataFrame(
        {
            "funding_time": rows.time_ms,
            "funding_rate": _qty(rows.rate_u),
            "mark_price": _price(rows.mark_t),
        },
        columns=list(FUNDING_COLUMNS),
    )
