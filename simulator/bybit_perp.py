"""Bybit v5 linear-only routes: mark, index and premium index klines, and open interest.

* `/v5/market/mark-price-kline` and `/index-price-kline` (category linear, limit 1-200,
  default 200) and `/premium-index-price-kline` (category optional, limit 1-1000): rows
  `[start, open, high, low, close]`, strings, newest first; start and end inclusive as on
  `/v5/market/kline`.
* `/v5/market/open-interest` (category linear, intervalTime 5min|15min|30min|1h|4h|1d,
  startTime/endTime, limit 1-200 default 50, cursor): the newest `limit` snapshots up to the
  end (or now), newest first, each `{"openInterest","timestamp"}` (no value in quote currency);
  `nextPageCursor` continues to older ones and is "" at the start of the range. Reaches back
  to the launch, as the docs say.
"""

import base64
from collections.abc import Callable

import numpy as np

from simulator import bybit_params as bp
from simulator import catalog, intervals, openinterest, pricecandles, textnum
from simulator.catalog import USDM
from simulator.pricecandles import PREMIUM_SCALE
from simulator.venue import Context, Query

OI_INTERVALS = {"5min": "5m", "15min": "15m", "30min": "30m", "1h": "1h", "4h": "4h", "1d": "1d"}


def _premium_text(values: np.ndarray) -> list[str]:
    sign = np.where(values < 0, "-", "").tolist()
    whole, frac = np.divmod(np.abs(values), PREMIUM_SCALE)
    return [f"{s}{w}.{f:08d}" for s, w, f in zip(sign, whole.tolist(), frac.tolist(), strict=True)]


def _price_kline(kind: str, max_limit: int, default: str | None):
    def handle(query: Query, ctx: Context) -> bytes:
        category = bp.category(query, ctx, default, ("linear",))
        symbol = query.get("symbol", "")
        if not catalog.is_listed(symbol, USDM):
            raise bp.error(10001, "Not supported symbols", ctx)
        interval = bp.INTERVALS.get(query.get("interval", ""))
        if interval is None:
            raise bp.error(10001, "Invalid period!", ctx)
        limit = bp.limit(query, ctx, 200, max_limit)
        start, end = bp.integer(query, "start", ctx), bp.integer(query, "end", ctx)
        lo = pricecandles.first_index(symbol, interval)
        hi = pricecandles.last_index(symbol, interval, ctx.now_ms)
        if end is not None:
            hi = min(hi, intervals.floor_index(interval, end))
        if start is not None:
            first = max(lo, intervals.ceil_index(interval, start))
            stop = min(hi + 1, first + limit)
        else:
            stop = hi + 1
            first = max(lo, stop - limit)
        rows = pricecandles.candles(kind, symbol, interval, first, max(first, stop), ctx.seed)
        text = _premium_text if kind == "premium" else textnum.prices
        cols = zip(
            [str(t) for t in rows.open_ms.tolist()],
            text(rows.open_v),
            text(rows.high_v),
            text(rows.low_v),
            text(rows.close_v),
            strict=True,
        )
        listed = [list(r) for r in cols][::-1]  # newest first
        return bp.ok({"symbol": symbol, "category": category, "list": listed}, ctx)

    return handle


def _cursor(end_ms: int) -> str:
    return base64.urlsafe_b64encode(f"end={end_ms}".encode()).decode()


def _cursor_end(cursor: str, ctx: Context) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        return int(text.removeprefix("end="))
    except ValueError:
        raise bp.error(10001, "Invalid cursor", ctx) from None


def _open_interest(query: Query, ctx: Context) -> bytes:
    category = bp.category(query, ctx, None, ("linear",))
    symbol = query.get("symbol", "")
    if not catalog.is_listed(symbol, USDM):
        raise bp.error(10001, "Not supported symbols", ctx)
    period = OI_INTERVALS.get(query.get("intervalTime", ""))
    if period is None:
        raise bp.error(10001, "Invalid intervalTime", ctx)
    step_ms = openinterest.period_ms(period)
    limit = bp.limit(query, ctx, 50, 200)
    start, end = bp.integer(query, "startTime", ctx), bp.integer(query, "endTime", ctx)
    if query.get("cursor"):
        end = _cursor_end(query["cursor"], ctx)
    lo, stop = openinterest.bounds(symbol, step_ms)
    if start is not None:
        lo = max(lo, -(-start // step_ms))
    hi = min(ctx.now_ms, end if end is not None else ctx.now_ms) // step_ms
    if stop is not None:
        hi = min(hi, stop - 1)
    first = max(lo, hi + 1 - limit)
    rows = openinterest.snapshots(symbol, step_ms, first, max(first, hi + 1), ctx.seed)
    items = [
        {"openInterest": a, "timestamp": str(t)}
        for a, t in zip(textnum.qtys(rows.amount_u), rows.time_ms.tolist(), strict=True)
    ][::-1]
    more = len(rows) > 0 and first > lo
    next_cursor = _cursor(int(rows.time_ms[0]) - 1) if more else ""
    result = {"symbol": symbol, "category": category, "list": items, "nextPageCursor": next_cursor}
    return bp.ok(result, ctx)


ROUTES: tuple[tuple[str, Callable[[Query, Context], bytes]], ...] = (
    ("/v5/market/mark-price-kline", _price_kline("mark", 200, None)),
    ("/v5/market/index-price-kline", _price_kline("index", 200, None)),
    ("/v5/market/premium-index-price-kline", _price_kline("premium", 1000, "linear")),
    ("/v5/market/open-interest", _open_interest),
)
