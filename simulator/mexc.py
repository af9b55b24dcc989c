"""MEXC's spot v3 market data (served under /mexc, since its paths are Binance's) and its
contract funding history and klines (/api/v1/contract/..., real paths).

Spot: klines with MEXC's interval names, eight columns, closeTime = next open, endTime
exclusive, at most 500 per page; aggTrades without ids, both startTime and endTime
required (endTime exclusive), oldest first. Contract: an envelope with `success`, funding
paged by page number newest first with rates as JSON numbers, errors inside HTTP 200.
"""

import json

from simulator import candles, fundingrates, intervals, mexc_info, mexc_perp, textnum, trades
from simulator import mexc_params as mp
from simulator.catalog import SPOT, USDM
from simulator.limits import BudgetSpec
from simulator.venue import Context, Endpoint, Query, Venue

PREFIX = "/mexc"
SPOT_INTERVALS = {
    "1m": "1m",
    "5m": "5m",
    "15m": "15m",
    "30m": "30m",
    "60m": "1h",
    "4h": "4h",
    "1d": "1d",
    "1W": "1w",
    "1M": "1M",
}
CONTRACT_INTERVALS = mp.CONTRACT_INTERVALS
KLINE_MAX, TRADE_MAX, FUNDING_PAGE_MAX, CONTRACT_KLINE_MAX = 500, 1000, 1000, 2000


_spot_error, _contract_error, _int = mp.spot_error, mp.contract_error, mp.integer
_spot_symbol, _contract_symbol, _envelope = mp.spot_symbol, mp.contract_symbol, mp.envelope


def _klines(query: Query, ctx: Context) -> bytes:
    symbol = _spot_symbol(query)
    interval = SPOT_INTERVALS.get(query.get("interval", ""))
    if interval is None:
        raise _spot_error(-1121, "Invalid interval.")
    limit = _int(query, "limit", 500)
    if not 1 <= limit <= KLINE_MAX:
        raise _spot_error(-1130, "Data sent for parameter 'limit' is not valid.")
    start, end = _int(query, "startTime"), _int(query, "endTime")
    lo = candles.first_index(symbol, SPOT, interval)
    hi = candles.last_index(symbol, SPOT, interval, ctx.now_ms)  # the open candle is served
    if end is not None:
        hi = min(hi, intervals.ceil_index(interval, end) - 1)  # endTime is exclusive
    if start is not None:
        first = max(lo, intervals.ceil_index(interval, start))
        stop = min(hi + 1, first + limit)
    else:
        stop = hi + 1
        first = max(lo, stop - limit)
    rows = candles.candles(symbol, SPOT, interval, first, max(first, stop), ctx.seed)
    cols = zip(
        rows.open_ms.tolist(),
        textnum.prices(rows.open_t),
        textnum.prices(rows.high_t),
        textnum.prices(rows.low_t),
        textnum.prices(rows.close_t),
        textnum.qtys(rows.volume_u),
        (rows.close_ms + 1).tolist(),
        textnum.qtys(rows.quote_u),
        strict=True,
    )
    return json.dumps([list(row) for row in cols], separators=(",", ":")).encode()


def _aggtrades(query: Query, ctx: Context) -> bytes:
    symbol = _spot_symbol(query)
    start, end = _int(query, "startTime"), _int(query, "endTime")
    if start is None or end is None:
        raise _spot_error(-1128, "startTime and endTime must be used at the same time.")
    limit = _int(query, "limit", 500)
    if not 1 <= limit <= TRADE_MAX:
        raise _spot_error(-1130, "Data sent for parameter 'limit' is not valid.")

    def count_before(t_ms: int) -> int:
        return trades.count_before(symbol, SPOT, t_ms, ctx.seed, ctx.trades_per_day)

    first = count_before(start)
    stop = min(count_before(min(end, ctx.now_ms + 1)), first + limit)
    rows = trades.trades(symbol, SPOT, first, max(first, stop), ctx.seed, ctx.trades_per_day)
    cols = zip(
        textnum.prices(rows.price_t),
        textnum.qtys(rows.qty_u),
        rows.time_ms.tolist(),
        rows.is_buyer_maker.tolist(),
        strict=True,
    )
    items = [
        {"a": None, "f": None, "l": None, "p": p, "q": q, "T": t, "m": m, "M": True}
        for p, q, t, m in cols
    ]
    return json.dumps(items, separators=(",", ":")).encode()


def _funding_history(query: Query, ctx: Context) -> bytes:
    symbol = _contract_symbol(query)
    page, size = _int(query, "page_num", 1), _int(query, "page_size", 20)
    if page < 1 or not 1 <= size <= FUNDING_PAGE_MAX:
        raise _contract_error(600, "Parameter error")
    first, last = 0, fundingrates.count_before(symbol, ctx.now_ms + 1) - 1
    total = max(0, last - first + 1)
    # Newest first: row k of the list is funding number last - k.
    hi = last - (page - 1) * size
    lo = max(first, hi - size + 1)
    rows = fundingrates.fundings(symbol, lo, max(lo, hi + 1), ctx.seed)
    rates = textnum.qtys(rows.rate_u)
    cycles = (rows.interval_ms // 3_600_000).tolist()  # hours from this funding to the next
    items = [
        f'{{"symbol":"{query["symbol"]}","fundingRate":{r},"settleTime":{t},"collectCycle":{c}}}'
        for r, t, c in zip(rates[::-1], rows.time_ms[::-1].tolist(), cycles[::-1], strict=True)
    ]
    head = {
        "pageSize": size,
        "totalCount": total,
        "totalPage": -(-total // size),
        "currentPage": page,
    }
    data = json.dumps(head, separators=(",", ":"))[:-1] + ',"resultList":[' + ",".join(items)
    return b'{"success":true,"code":0,"data":' + (data + "]}}").encode()


def _contract_kline(query: Query, ctx: Context) -> bytes:
    symbol = _contract_symbol(query)
    interval, first, stop = mp.contract_span(
        query,
        lambda interval: candles.first_index(symbol, USDM, interval),
        lambda interval: candles.last_index(symbol, USDM, interval, ctx.now_ms),
    )
    rows = candles.candles(symbol, USDM, interval, first, stop, ctx.seed)
    price = {k: (getattr(rows, k + "_t") / 100).tolist() for k in ("open", "close", "high", "low")}
    data = {
        "time": (rows.open_ms // 1000).tolist(),
        **price,
        "vol": (rows.volume_u / 1e8).tolist(),
        "amount": (rows.quote_u / 1e8).tolist(),
    }
    return _envelope(data)


def _flat(query: Query) -> int:
    return 1


def _too_many(ip: str, spec: BudgetSpec) -> dict[str, object]:
    return {"code": 429, "msg": "Too Many Requests"}


def venue() -> Venue:
    """Published: 500 requests / 10 s per spot endpoint; contract about 20 / 2 s."""
    spot_k, spot_t, contract = "mexc_spot_klines", "mexc_spot_aggtrades", "mexc_contract"
    endpoints = (
        Endpoint(PREFIX + "/api/v3/klines", spot_k, _flat, spot_k, _klines),
        Endpoint(PREFIX + "/api/v3/aggTrades", spot_t, _flat, spot_t, _aggtrades),
        Endpoint(
            "/api/v1/contract/funding_rate/history", contract, _flat, contract, _funding_history
        ),
        Endpoint("/api/v1/contract/kline/{symbol}", contract, _flat, contract, _contract_kline),
        *(Endpoint(path, contract, _flat, contract, handler) for path, handler in mexc_perp.ROUTES),
        *(
            Endpoint(PREFIX + path if spot else path, budget, weight, budget, handler)
            for path, spot, budget, weight, handler in mexc_info.ROUTES
        ),
    )
    budgets = {spot_k: BudgetSpec(500, 10), spot_t: BudgetSpec(500, 10)}
    budgets.update(
        {budget: BudgetSpec(500, 10) for _, spot, budget, _, _ in mexc_info.ROUTES if spot}
    )
    budgets[contract] = BudgetSpec(20, 2)
    return Venue("mexc", endpoints, budgets, "X-MEXC-Used", _too_many)
