"""What Binance serves: spot and USD-M futures (`usdm`), over REST and in its public archive
(data.binance.vision), per data type and interval.

REST serves everything back to the listing except open interest history (the latest 30
days). The archive has every closed month as one zip (klines and the price klines; funding)
and every closed day as one (the same kinds, plus aggTrades and the daily `metrics` with
open interest every 5 minutes), each with a `.CHECKSUM`; daily files appear about 9 hours
after their day ends ("the next day"), monthly ones on the first Monday of the next month
(up to a week). For the month not yet closed, daily kline files are read only for 1s and 1m,
where a day holds at least half a REST page.
"""

from __future__ import annotations

from dataclasses import replace

from workers.capabilities import Capabilities, Capability, Files, Market, Reach, Rest

SPOT_INTERVALS = ("1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h")
SPOT_INTERVALS += ("1d", "3d", "1w", "1M")
USDM_INTERVALS = SPOT_INTERVALS[1:]  # no 1s
#: intervals with daily archive files read for the open month (a day is >= half a page)
DAILY = ("1s", "1m")
DAILY_DELAY_H, MONTHLY_DELAY_H = 9.0, 7 * 24.0
MONTHS_THEN_DAYS = Files(monthly=True, daily=True, delay_h=DAILY_DELAY_H)
MONTHS = Files(monthly=True, daily=False, delay_h=MONTHLY_DELAY_H)
DAYS = Files(monthly=False, daily=True, delay_h=DAILY_DELAY_H)
SPOT_FILES_UNIT = "ms (µs in spot files from 2025-01-01)"
#: columns the price candles (mark, index, premium index) never have: Binance sends "0"
PRICE_NULLS = ("volume", "quote_volume", "trades", "taker_buy_base", "taker_buy_quote")
PRICES = {"nulls": PRICE_NULLS}
OPEN_INTEREST_REACH = Reach(
    "days", 30, margin=3_600_000, why="Binance's REST API serves open interest history for "
    "the latest 30 days only"
)  # fmt: skip
FIVE_MINUTES_MS = 300_000
# USD-M klines cost by limit ([100, 500) -> 2): 499 candles is the cheapest page per candle.
USDM_PAGE, USDM_WEIGHT = 499, 2


def _candles(dtype: str, path: str, intervals: tuple[str, ...], market: str, **kw) -> tuple:
    """One capability per archive cadence: 1s/1m read daily files in the open month."""
    page, weight = (1000, 2) if market == "spot" else (USDM_PAGE, USDM_WEIGHT)
    rest = Rest(path, page, weight, market)
    unit = SPOT_FILES_UNIT if market == "spot" else "ms"
    daily = tuple(i for i in intervals if i in DAILY)
    rest_of = tuple(i for i in intervals if i not in DAILY)
    return (
        Capability(dtype, daily, rest, replace(MONTHS_THEN_DAYS, time_unit=unit), **kw),
        Capability(dtype, rest_of, rest, replace(MONTHS, time_unit=unit), **kw),
    )


SPOT = Market(
    "binance",
    "spot",
    "spot",
    "ms",
    (
        *_candles("klines", "/api/v3/klines", SPOT_INTERVALS, "spot"),
        Capability(
            "aggtrades",
            rest=Rest("/api/v3/aggTrades", 1000, 4, "spot"),
            archive=replace(DAYS, time_unit=SPOT_FILES_UNIT),
        ),
    ),
)
USDM = Market(
    "binance",
    "usdm",
    "perp",
    "ms",
    (
        *_candles("klines", "/fapi/v1/klines", USDM_INTERVALS, "usdm"),
        Capability(
            "aggtrades",
            rest=Rest("/fapi/v1/aggTrades", 1000, 20, "usdm"),
            archive=DAYS,
        ),
        Capability(
            "funding",
            rest=Rest("/fapi/v1/fundingRate", 1000, 1, "usdm_funding"),
            archive=replace(MONTHS, lacks=("mark_price",)),
        ),
        *_candles("markklines", "/fapi/v1/markPriceKlines", USDM_INTERVALS, "usdm", **PRICES),
        *_candles("indexklines", "/fapi/v1/indexPriceKlines", USDM_INTERVALS, "usdm", **PRICES),
        *_candles("premiumklines", "/fapi/v1/premiumIndexKlines", USDM_INTERVALS, "usdm", **PRICES),
        Capability(
            "openinterest",
            # The docs: weight 0, and "IP rate limit 1000 requests/5min" for /futures/data.
            rest=Rest("/futures/data/openInterestHist", 500, 1, "usdm_data", OPEN_INTEREST_REACH),
            archive=DAYS,  # the daily `metrics` files: open interest every 5 minutes
            snapshot_ms=FIVE_MINUTES_MS,
        ),
    ),
)

BINANCE = Capabilities("binance", (SPOT, USDM))
