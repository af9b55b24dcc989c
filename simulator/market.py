"""Ground truth of the simulated markets as DataFrames in the project's column names.

Every function is a pure function of its arguments and the active universe (no clock): the
server serves exactly these rows, clipped to the current time. Times are int64 ms UTC, ranges
are half-open [start_ms, end_ms), prices are float64 multiples of 0.01 and quantities of 1e-8.
`market` is "spot" or the perpetual market, by any of its names ("usdm", "linear", "futures",
"contract"): every venue serves the same perpetual. The perpetual-only series (mark, index and
premium klines, open interest, funding intervals) are in simulator.perpetuals, re-exported
here; the universe (which symbols, since when, how busy) is `symbols`, `listing`, `top_symbols`.
"""

import numpy as np
import pandas as pd

from simulator import candles, catalog, fundingrates, intervals, openinterest, tickers, trades
from simulator.catalog import Listing
from simulator.perpetuals import (
    FUNDING_INTERVAL_COLUMNS,
    OPEN_INTEREST_COLUMNS,
    funding_interval_hours,
    funding_intervals,
    index_klines,
    mark_klines,
    open_interest,
    premium_klines,
    price_klines,
)
from simulator.pricepath import TICKS_PER_UNIT, UNITS_PER_QTY
from simulator.trades import DEFAULT_TRADES_PER_DAY

__all__ = [
    "AGGTRADE_COLUMNS",
    "DEFAULT_TRADES_PER_DAY",
    "DTYPES",
    "FUNDING_COLUMNS",
    "FUNDING_INTERVAL_COLUMNS",
    "KLINE_COLUMNS",
    "OPEN_INTEREST_COLUMNS",
    "aggtrades",
    "delisted_ms",
    "first_time_ms",
    "funding",
    "funding_interval_hours",
    "funding_intervals",
    "index_klines",
    "klines",
    "listing",
    "listing_ms",
    "mark_klines",
    "open_interest",
    "premium_klines",
    "price_klines",
    "quote_volume_24h",
    "symbols",
    "top_symbols",
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
DTYPES: tuple[str, ...] = (
    "klines",
    "aggtrades",
    "funding",
    "markklines",
    "indexklines",
    "premiumklines",
    "openinterest",
)
_PRICE_KINDS = {"markklines": "mark", "indexklines": "index", "premiumklines": "premium"}


def _price(ticks: np.ndarray) -> np.ndarray:
    return ticks / TICKS_PER_UNIT


def _qty(units: np.ndarray) -> np.ndarray:
    return units / UNITS_PER_QTY


def listing_ms(symbol: str, market: str) -> int:
    """When symbol was listed on market ("spot" or "usdm"); UnknownSymbolError if it is not."""
    return catalog.listing(symbol, market).listed_ms


def delisted_ms(symbol: str, market: str) -> int | None:
    """When symbol stopped trading on market (its last trading day is the UTC day before this
    instant, or this day if it is not a midnight); None if it still trades."""
    return catalog.listing(symbol, market).delisted_ms


def listing(symbol: str, market: str) -> Listing:
    """Everything the universe says about symbol on market (listed_ms, delisted_ms,
    quote_per_minute, funding_schedule...); UnknownSymbolError if it is not listed."""
    return catalog.listing(symbol, market)


def symbols(market: str, include_delisted: bool = True) -> list[str]:
    """The symbols listed on market, sorted; what the instrument lists hold."""
    names = catalog.symbols(market)
    if include_delisted:
        return names
    return [s for s in names if catalog.listing(s, market).delisted_ms is None]


def quote_volume_24h(symbol: str, market: str, now_ms: int) -> float:
    """The 24 h quote volume every venue's ticker shows at now_ms (constant while the symbol
    trades: its typical day; 0 before its listing and after its delisting)."""
    return tickers.quote_volume_u(catalog.listing(symbol, market), now_ms) / UNITS_PER_QTY


def top_symbols(market: str, n: int, now_ms: int) -> list[str]:
    """The n symbols with the largest 24 h quote volume at now_ms, largest first."""
    return tickers.ranked(market, now_ms)[:n]


def first_time_ms(symbol: str, market: str, dtype: str, interval: str = "1m") -> int:
    """Time of the symbol's first row of dtype (one of DTYPES).

    klines (and mark/index/premium klines): the open time of the candle that contains the
    listing (for 1d, 1w or 1M this is before the listing, as on Binance); aggtrades: the
    listing itself (trade 0 is pinned there); funding: the first funding; openinterest: the
    first 5-minute mark at or after the listing. All but klines and aggtrades are perp only.
    """
    market = catalog.market_name(market)
    if dtype in _PRICE_KINDS or dtype in ("funding", "openinterest"):
        if market != catalog.USDM:
            raise catalog.UnknownSymbolError(f"{market} has no {dtype}")
        catalog.listing(symbol, market)
    if dtype in _PRICE_KINDS:
        index = candles.first_index(symbol, market, interval)
        return int(intervals.open_ms(interval, np.array([index]))[0])
    if dtype == "openinterest":
        return openinterest.bounds(symbol, openinterest.STEP_MS)[0] * openinterest.STEP_MS
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
    """Candles whose open_time is in [start_ms, end_ms), from the symbol's first candle on
    (and, for a delisted symbol, up to its last candle opening before the delisting)."""
    market = catalog.market_name(market)
    if not intervals.is_interval(interval):
        raise ValueError(f"unknown interval {interval!r}; one of {intervals.INTERVALS}")
    first = max(
        intervals.ceil_index(interval, start_ms), candles.first_index(symbol, market, interval)
    )
    stop = candles.last_index(symbol, market, interval, end_ms - 1) + 1
    rows = candles.candles(symbol, market, interval, first, max(first, stop), seed)
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
    """Aggregate trades with time in [start_ms, end_ms); agg_id is contiguous across calls.

    Venues without aggregation (Gate, Bybit, MEXC) serve one trade per row: the same rows."""
    market = catalog.market_name(market)
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
    """Perpetual fundings with funding_time in [start_ms, end_ms), from the first funding on,
    on the symbol's schedule (funding_intervals); none at or after a delisting."""
    first = fundingrates.count_before(symbol, start_ms)
    rows = fundingrates.fundings(symbol, first, fundingrates.count_before(symbol, end_ms), seed)
    return pd.DataFrame(
        {
            "funding_time": rows.time_ms,
            "funding_rate": _qty(rows.rate_u),
            "mark_price": _price(rows.mark_t),
        },
        columns=list(FUNDING_COLUMNS),
    )
