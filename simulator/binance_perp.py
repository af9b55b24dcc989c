"""Binance USD-M's perpetual-only routes: mark/index/premium klines, open interest history and
funding info.

* `/fapi/v1/markPriceKlines` and `/fapi/v1/premiumIndexKlines` take `symbol`,
  `/fapi/v1/indexPriceKlines` takes `pair`; the same paging, limit (500, max 1500) and weight
  by limit as `/fapi/v1/klines`. Rows have the klines' twelve fields; volume, quote volume and
  the taker fields are "0", and the 9th is a count of underlying samples (the docs say ignore).
* `/futures/data/openInterestHist` (`symbol`, `period`, `limit` 30..500, startTime/endTime)
  serves only the latest 30 days, oldest first; weight 0 in the docs, counted here against a
  budget of its own (`usdm_data`, 1000 requests / 5 min: not in the stored docs, unverified).
* `/fapi/v1/fundingInfo` lists the symbols whose funding interval is not a plain 8 hours (the
  docs: "symbols that had FundingRateCap/FundingRateFloor/fundingIntervalHours adjustment"),
  with the interval in force now; it spends the fundingRate budget.
"""

from collections.abc import Callable

import numpy as np

from simulator import binance_format as fmt
from simulator import binance_params as params
from simulator import catalog, fundingrates, intervals, openinterest, pricecandles
from simulator.binance_paging import page
from simulator.catalog import USDM
from simulator.intervals import DAY_MS
from simulator.pricepath import TICKS_PER_UNIT, UNITS_PER_QTY
from simulator.venue import Context, Endpoint, Query

OI_REACH_MS = 30 * DAY_MS
OI_BUDGET = "usdm_data"
_PRICE = '"%d.%02d000000"'
_PREMIUM = '"%s%d.%08d"'


def _rows(kind: str, candles: pricecandles.PriceCandles) -> bytes:
    if kind == "premium":
        cells = []
        for v in (candles.open_v, candles.high_v, candles.low_v, candles.close_v):
            whole, frac = np.divmod(np.abs(v), pricecandles.PREMIUM_SCALE)
            sign = np.where(v < 0, "-", "")
            cells.append(
                [_PREMIUM % x for x in zip(sign, whole.tolist(), frac.tolist(), strict=True)]
            )
        samples_ms = 5_000
    else:
        cells = []
        for v in (candles.open_v, candles.high_v, candles.low_v, candles.close_v):
            whole, frac = np.divmod(v, TICKS_PER_UNIT)
            cells.append([_PRICE % x for x in zip(whole.tolist(), frac.tolist(), strict=True)])
        samples_ms = 1_000
    counts = ((candles.close_ms + 1 - candles.open_ms) // samples_ms).tolist()
    rows = [
        f'[{t},{o},{h},{lo},{c},"0",{ct},"0",{n},"0","0","0"]'
        for t, o, h, lo, c, ct, n in zip(
            candles.open_ms.tolist(), *cells, candles.close_ms.tolist(), counts, strict=True
        )
    ]
    return ("[" + ",".join(rows) + "]").encode()


def _price_klines(kind: str, symbol_param: str) -> Callable[[Query, Context], bytes]:
    def handle(query: Query, ctx: Context) -> bytes:
        symbol = params.named_symbol(query, symbol_param, USDM)
        interval = params.interval(query, USDM)
        limit = params.limit(query, 500, 1500)
        start_ms = params.time_ms(query, "startTime")
        end_ms = params.time_ms(query, "endTime")
        first, stop = page(
            pricecandles.first_index(symbol, interval),
            pricecandles.last_index(symbol, interval, ctx.now_ms),
            None if start_ms is None else intervals.ceil_index(interval, start_ms),
            None if end_ms is None else intervals.floor_index(interval, end_ms),
            limit,
        )
        return _rows(kind, pricecandles.candles(kind, symbol, interval, first, stop, ctx.seed))

    return handle


def _open_interest(query: Query, ctx: Context) -> bytes:
    symbol = params.symbol(query, USDM)
    period = query.get("period", "")
    if period not in openinterest.PERIODS_MS:
        raise params.error(-1120, "Invalid period.")
    step_ms = openinterest.PERIODS_MS[period]
    limit = params.limit(query, 30, 500)
    start_ms = params.time_ms(query, "startTime")
    end_ms = params.time_ms(query, "endTime")
    lo, hi = openinterest.bounds(symbol, step_ms)
    lo = max(lo, -(-(ctx.now_ms - OI_REACH_MS) // step_ms))  # only the latest 30 days
    last = ctx.now_ms // step_ms if hi is None else min(ctx.now_ms // step_ms, hi - 1)
    first, stop = page(
        lo,
        last,
        None if start_ms is None else -(-start_ms // step_ms),
        None if end_ms is None else end_ms // step_ms,
        limit,
    )
    rows = openinterest.snapshots(symbol, step_ms, first, stop, ctx.seed)
    amount = zip(*np.divmod(rows.amount_u, UNITS_PER_QTY), strict=True)
    value = zip(*np.divmod(rows.value_u, UNITS_PER_QTY), strict=True)
    items = [
        f'{{"symbol":"{symbol}","sumOpenInterest":"{a}.{af:08d}",'
        f'"sumOpenInterestValue":"{v}.{vf:08d}","timestamp":"{t}"}}'
        for (a, af), (v, vf), t in zip(amount, value, rows.time_ms.tolist(), strict=True)
    ]
    return ("[" + ",".join(items) + "]").encode()


def _funding_info(query: Query, ctx: Context) -> bytes:
    items = []
    for listing in catalog.listings(USDM):
        schedule = listing.funding_schedule
        if len(schedule) == 1 and schedule[0][1] == fundingrates.FUNDING_PERIOD_MS:
            continue
        items.append(
            {
                "symbol": listing.symbol,
                "adjustedFundingRateCap": "0.02500000",
                "adjustedFundingRateFloor": "-0.02500000",
                "fundingIntervalHours": fundingrates.interval_at(listing.symbol, ctx.now_ms)
                // 3_600_000,
                "disclaimer": False,
            }
        )
    return fmt.dumps(items)


def endpoints(
    usdm_budget: str, funding_budget: str, klines_weight: Callable[[Query], int]
) -> tuple[Endpoint, ...]:
    """The routes, charged to the venue's budgets (klines-style weight by limit)."""

    def flat(query: Query) -> int:
        return 1

    return (
        Endpoint(
            "/fapi/v1/markPriceKlines",
            usdm_budget,
            klines_weight,
            usdm_budget,
            _price_klines("mark", "symbol"),
        ),
        Endpoint(
            "/fapi/v1/indexPriceKlines",
            usdm_budget,
            klines_weight,
            usdm_budget,
            _price_klines("index", "pair"),
        ),
        Endpoint(
            "/fapi/v1/premiumIndexKlines",
            usdm_budget,
            klines_weight,
            usdm_budget,
            _price_klines("premium", "symbol"),
        ),
        Endpoint("/futures/data/openInterestHist", OI_BUDGET, flat, usdm_budget, _open_interest),
        Endpoint("/fapi/v1/fundingInfo", funding_budget, flat, usdm_budget, _funding_info),
    )
