"""Gate.io API v4 market data under /api/v4: spot candlesticks and trades, USDT-futures
funding rates and candlesticks (`mark_`/`index_` contract prefixes give mark and index
candles), plus the routes of gateio_perp (futures trades, premium index, contract stats) and
gateio_info (currency pairs, contracts, tickers).

Times are seconds, numbers strings, errors `{"label","message"}` with HTTP 400, and every
endpoint has its own budget (429 TOO_MANY_REQUESTS). Candles reach back only 10,000
intervals; `limit` may not be combined with from/to; trades come newest first, paged.
Futures sizes are whole contracts of `QUANTO_MULTIPLIER` (1e-8) base units: the simulator's
quantities are multiples of 1e-8, so a contract count carries them exactly (real contracts
use larger multipliers, 0.0001 for BTC_USDT).
"""

import json

from simulator import candles, fundingrates, gateio_info, gateio_perp, textnum, trades
from simulator import gateio_params as gp
from simulator.catalog import SPOT, USDM
from simulator.limits import BudgetSpec
from simulator.venue import Context, Endpoint, Query, Venue

_error, _int, _symbol = gp.error, gp.integer, gp.symbol

BASE = "/api/v4"
CANDLE_MAX, FUTURES_CANDLE_MAX = 1000, 2000
TRADE_MAX, TRADE_PAGES, FUNDING_MAX = 1000, 100_000, 1000


def _candle_range(query: Query, ctx: Context, symbol: str, market: str, cap: int):
    _, first, stop = gp.candle_span(
        query,
        ctx,
        lambda interval: candles.first_index(symbol, market, interval),
        lambda interval: candles.last_index(symbol, market, interval, ctx.now_ms),
        cap,
        "30m",
    )
    interval = gp.INTERVALS[query.get("interval", "30m")]
    rows = candles.candles(symbol, market, interval, first, stop, ctx.seed)
    closed = (rows.close_ms < ctx.now_ms).tolist()
    return rows, closed


def _spot_candles(query: Query, ctx: Context) -> bytes:
    symbol = _symbol(query, "currency_pair", SPOT)
    rows, closed = _candle_range(query, ctx, symbol, SPOT, CANDLE_MAX)
    cols = zip(
        [str(t) for t in (rows.open_ms // 1000).tolist()],
        textnum.qtys(rows.quote_u),
        textnum.prices(rows.close_t),
        textnum.prices(rows.high_t),
        textnum.prices(rows.low_t),
        textnum.prices(rows.open_t),
        textnum.qtys(rows.volume_u),
        ["true" if c else "false" for c in closed],
        strict=True,
    )
    return json.dumps([list(r) for r in cols], separators=(",", ":")).encode()


def _futures_candles(query: Query, ctx: Context) -> bytes:
    contract = query.get("contract", "")
    for kind in ("mark", "index"):
        if contract.startswith(kind + "_"):
            return gateio_perp.price_candles(kind, query, ctx)
    symbol = _symbol(query, "contract", USDM)
    rows, _ = _candle_range(query, ctx, symbol, USDM, FUTURES_CANDLE_MAX)
    items = [
        {"t": t, "v": v, "c": c, "h": h, "l": lo, "o": o, "sum": q}
        for t, v, c, h, lo, o, q in zip(
            (rows.open_ms // 1000).tolist(),
            rows.volume_u.tolist(),  # contracts of QUANTO_MULTIPLIER
            textnum.prices(rows.close_t),
            textnum.prices(rows.high_t),
            textnum.prices(rows.low_t),
            textnum.prices(rows.open_t),
            textnum.qtys(rows.quote_u),
            strict=True,
        )
    ]
    return json.dumps(items, separators=(",", ":")).encode()


def _trades(query: Query, ctx: Context) -> bytes:
    symbol = _symbol(query, "currency_pair", SPOT)
    limit, page = _int(query, "limit", 100), _int(query, "page", 1)
    if not 1 <= limit <= TRADE_MAX or page < 1 or limit * (page - 1) > TRADE_PAGES:
        raise _error("INVALID_PARAM_VALUE", "Invalid limit or page")
    end_s = _int(query, "to", ctx.now_ms // 1000)
    start_s = _int(query, "from", end_s - 30 * 86_400)

    def count_before(t_ms: int) -> int:
        return trades.count_before(symbol, SPOT, t_ms, ctx.seed, ctx.trades_per_day)

    lo = count_before(start_s * 1000)
    hi = count_before(min((end_s + 1) * 1000, ctx.now_ms + 1))  # `to` is inclusive
    # Newest first: page p holds rows hi-1-(p-1)*limit down to ...
    stop = hi - (page - 1) * limit
    first = max(lo, stop - limit)
    rows = trades.trades(symbol, SPOT, first, max(first, stop), ctx.seed, ctx.trades_per_day)
    items = [
        {
            "id": str(i),
            "create_time": str(t // 1000),
            "create_time_ms": f"{t}.{i * 37 % 1000:03d}000",
            "currency_pair": query["currency_pair"],
            "side": "sell" if m else "buy",
            "amount": q,
            "price": p,
            "sequence_id": str(i),
        }
        for i, t, m, q, p in zip(
            rows.agg_id.tolist(),
            rows.time_ms.tolist(),
            rows.is_buyer_maker.tolist(),
            textnum.qtys(rows.qty_u),
            textnum.prices(rows.price_t),
            strict=True,
        )
    ]
    return json.dumps(items[::-1], separators=(",", ":")).encode()


def _funding(query: Query, ctx: Context) -> bytes:
    symbol = _symbol(query, "contract", USDM)
    limit = _int(query, "limit", 100)
    if not 1 <= limit <= FUNDING_MAX:
        raise _error("INVALID_PARAM_VALUE", "Invalid limit")
    end_s, start_s = _int(query, "to"), _int(query, "from")
    end_ms = ctx.now_ms if end_s is None else min(ctx.now_ms, end_s * 1000)
    hi = fundingrates.count_before(symbol, end_ms + 1) - 1
    lo = 0
    if start_s is not None:
        lo = max(lo, fundingrates.count_before(symbol, start_s * 1000))
    lo = max(lo, hi + 1 - limit)  # the newest `limit` of the range
    rows = fundingrates.fundings(symbol, lo, max(lo, hi + 1), ctx.seed)
    items = [
        f'{{"t":{t},"r":"{r}"}}'
        for t, r in zip((rows.time_ms // 1000).tolist(), textnum.qtys(rows.rate_u), strict=True)
    ]
    return ("[" + ",".join(items[::-1]) + "]").encode()


def _flat(query: Query) -> int:
    return 1


def _too_many(ip: str, spec: BudgetSpec) -> dict[str, object]:
    return {"label": "TOO_MANY_REQUESTS", "message": "Request Rate limit Exceeded"}


def venue() -> Venue:
    """Published: 200 requests / 10 s per public endpoint and IP."""
    routes = {
        "/spot/candlesticks": ("gateio_spot_candles", _spot_candles),
        "/spot/trades": ("gateio_spot_trades", _trades),
        "/futures/usdt/candlesticks": ("gateio_futures_candles", _futures_candles),
        "/futures/usdt/funding_rate": ("gateio_futures_funding", _funding),
        **gateio_perp.ROUTES,
        **gateio_info.ROUTES,
    }
    endpoints = tuple(
        Endpoint(BASE + path, budget, _flat, budget, handler)
        for path, (budget, handler) in routes.items()
    )
    budgets = {budget: BudgetSpec(200, 10) for budget, _ in routes.values()}
    return Venue("gateio", endpoints, budgets, "X-Gate-RateLimit-Requests-Remain", _too_many)
