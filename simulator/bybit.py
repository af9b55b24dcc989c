"""Bybit v5 market data under /v5/market: spot and linear klines, linear funding history,
recent trades.

Everything is wrapped in `{"retCode","retMsg","result","retExtInfo","time"}`, errors come
with HTTP 200 and a non-zero retCode, lists are newest first with every value a string,
and one IP budget covers the whole host: a breach answers HTTP 403 and bans the IP.
"""

from simulator import bybit_info, bybit_perp, candles, fundingrates, intervals, textnum, trades
from simulator.bybit_params import CATEGORIES, INTERVALS
from simulator.bybit_params import error as _error
from simulator.bybit_params import integer as _int
from simulator.bybit_params import market_symbol as _market_symbol
from simulator.bybit_params import ok as _ok
from simulator.limits import BudgetSpec
from simulator.venue import Context, Endpoint, Query, Venue

BAN_S = 600.0
KLINE_MAX, FUNDING_MAX = 1000, 200


def _kline(query: Query, ctx: Context) -> bytes:
    category, symbol = _market_symbol(query, ctx)
    market = CATEGORIES[category]
    interval = INTERVALS.get(query.get("interval", ""))
    if interval is None:
        raise _error(10001, "Invalid period!", ctx)
    limit = _int(query, "limit", ctx, 200)
    if not 1 <= limit <= KLINE_MAX:
        raise _error(10001, "Invalid limit", ctx)
    start, end = _int(query, "start", ctx), _int(query, "end", ctx)
    lo = candles.first_index(symbol, market, interval)
    hi = candles.last_index(symbol, market, interval, ctx.now_ms)
    if end is not None:
        hi = min(hi, intervals.floor_index(interval, end))  # inclusive
    if start is not None:
        first = max(lo, intervals.ceil_index(interval, start))
        stop = min(hi + 1, first + limit)
    else:
        stop = hi + 1
        first = max(lo, stop - limit)
    rows = candles.candles(symbol, market, interval, first, max(first, stop), ctx.seed)
    cols = zip(
        [str(t) for t in rows.open_ms.tolist()],
        textnum.prices(rows.open_t),
        textnum.prices(rows.high_t),
        textnum.prices(rows.low_t),
        textnum.prices(rows.close_t),
        textnum.qtys(rows.volume_u),
        textnum.qtys(rows.quote_u),
        strict=True,
    )
    listed = [list(r) for r in cols][::-1]  # newest first
    return _ok({"symbol": symbol, "category": category, "list": listed}, ctx)


def _funding(query: Query, ctx: Context) -> bytes:
    category, symbol = _market_symbol(query, ctx)
    if category != "linear":
        raise _error(10001, "Illegal category", ctx)
    start, end = _int(query, "startTime", ctx), _int(query, "endTime", ctx)
    if start is not None and end is None:
        raise _error(10001, "startTime and endTime must be passed together", ctx)
    limit = _int(query, "limit", ctx, 200)
    if not 1 <= limit <= FUNDING_MAX:
        raise _error(10001, "Invalid limit", ctx)
    last_ms = ctx.now_ms if end is None else min(end, ctx.now_ms)
    hi = fundingrates.count_before(symbol, last_ms + 1) - 1
    lo = 0
    if start is not None:
        lo = max(lo, fundingrates.count_before(symbol, start))
    lo = max(lo, hi + 1 - limit)  # the newest `limit` up to endTime
    rows = fundingrates.fundings(symbol, lo, max(lo, hi + 1), ctx.seed)
    items = [
        {"symbol": symbol, "fundingRate": r, "fundingRateTimestamp": str(t)}
        for r, t in zip(textnum.qtys(rows.rate_u), rows.time_ms.tolist(), strict=True)
    ]
    return _ok({"category": category, "list": items[::-1]}, ctx)


def _recent_trades(query: Query, ctx: Context) -> bytes:
    category, symbol = _market_symbol(query, ctx, default="spot")
    market = CATEGORIES[category]
    cap = 60 if category == "spot" else 1000
    limit = _int(query, "limit", ctx, 60 if category == "spot" else 500)
    if not 1 <= limit <= cap:
        raise _error(10001, "Invalid limit", ctx)
    stop = trades.count_before(symbol, market, ctx.now_ms + 1, ctx.seed, ctx.trades_per_day)
    first = max(0, stop - limit)
    rows = trades.trades(symbol, market, first, stop, ctx.seed, ctx.trades_per_day)
    items = [
        {
            "execId": str(i),
            "symbol": symbol,
            "price": p,
            "size": q,
            "side": "Sell" if m else "Buy",
            "time": str(t),
            "isBlockTrade": False,
        }
        for i, p, q, m, t in zip(
            rows.agg_id.tolist(),
            textnum.prices(rows.price_t),
            textnum.qtys(rows.qty_u),
            rows.is_buyer_maker.tolist(),
            rows.time_ms.tolist(),
            strict=True,
        )
    ]
    return _ok({"category": category, "list": items[::-1]}, ctx)


def _flat(query: Query) -> int:
    return 1


def _too_many(ip: str, spec: BudgetSpec) -> dict[str, object]:
    return {"retCode": 403, "retMsg": "access too frequent", "result": {}, "retExtInfo": {}}


def venue(ban_s: float = BAN_S) -> Venue:
    """Published: 600 requests / 5 s per IP over the whole host; 403 then a ~10 min ban."""
    budget = "bybit_ip"
    endpoints = (
        Endpoint("/v5/market/kline", budget, _flat, budget, _kline),
        Endpoint("/v5/market/funding/history", budget, _flat, budget, _funding),
        Endpoint("/v5/market/recent-trade", budget, _flat, budget, _recent_trades),
        *(Endpoint(path, budget, _flat, budget, handler) for path, handler in bybit_perp.ROUTES),
        *(Endpoint(path, budget, _flat, budget, handler) for path, handler in bybit_info.ROUTES),
    )
    return Venue(
        "bybit",
        endpoints,
        {budget: BudgetSpec(600, 5)},
        "X-Bapi-Limit-Status",
        _too_many,
        limit_status=403,
        ban_s=ban_s,
    )
