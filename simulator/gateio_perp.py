"""Gate.io USDT-futures routes beyond candles and funding: trades, the premium index, contract
stats (open interest), and the mark/index candles that `/futures/usdt/candlesticks` serves
for `mark_`/`index_` contracts.

Field names and types follow the official SDK's models (gateio/gateapi-python docs
FuturesTrade, FuturesPremiumIndex, ContractStat, FuturesCandlestick); the docs' response
examples were not in our stored copies.
* candlesticks `mark_BTC_USDT` / `index_BTC_USDT`: `{"t","c","h","l","o","sum"}` without `v`
  ("only returned if contract is not prefixed"), sum "0"; max 2000 points, 10,000 back.
* `/futures/usdt/premium_index`: `{"t","c","h","l","o"}` rates; max 1000 points, and (as for
  candlesticks, assumed) only the latest 10,000 points.
* `/futures/usdt/trades`: `contract, limit (1-1000, default 100), offset, from, to` (seconds,
  both inclusive), newest first; `{"id","create_time","create_time_ms","contract","size",
  "price"}` with size in contracts, negative when the taker sold. No reach limit is
  documented, none is imposed.
* `/futures/usdt/contract_stats`: `contract, from, interval (5m..1d, default 5m), limit
  (default 30)`: `limit` points from `from`, or the latest `limit`, oldest first;
  open_interest in contracts, open_interest_usd its value; the ratio and liquidation fields
  are filler.
"""

import json
from collections.abc import Callable

import numpy as np

from simulator import gateio_params as gp
from simulator import openinterest, pricecandles, textnum, trades
from simulator.catalog import USDM
from simulator.noise import stream_key, uniform
from simulator.pricecandles import PREMIUM_SCALE
from simulator.pricepath import UNITS_PER_QTY
from simulator.venue import Context, Query

PREMIUM_MAX, TRADE_MAX = 1000, 1000
STATS_INTERVALS = ("5m", "15m", "30m", "1h", "4h", "1d")


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _span(kind: str, query: Query, ctx: Context, symbol: str, cap: int, default: str):
    interval, first, stop = gp.candle_span(
        query,
        ctx,
        lambda i: pricecandles.first_index(symbol, i),
        lambda i: pricecandles.last_index(symbol, i, ctx.now_ms),
        cap,
        default,
    )
    return pricecandles.candles(kind, symbol, interval, first, stop, ctx.seed)


def _premium_text(values: np.ndarray) -> list[str]:
    sign = np.where(values < 0, "-", "").tolist()
    whole, frac = np.divmod(np.abs(values), PREMIUM_SCALE)
    return [f"{s}{w}.{f:08d}" for s, w, f in zip(sign, whole.tolist(), frac.tolist(), strict=True)]


def price_candles(kind: str, query: Query, ctx: Context) -> bytes:
    """Mark or index candles of `mark_BTC_USDT` / `index_BTC_USDT`."""
    contract = query.get("contract", "").removeprefix(kind + "_")
    symbol = gp.symbol({"contract": contract}, "contract", USDM)
    rows = _span(kind, query, ctx, symbol, 2000, "5m")
    cols = zip(
        (rows.open_ms // 1000).tolist(),
        textnum.prices(rows.close_v),
        textnum.prices(rows.high_v),
        textnum.prices(rows.low_v),
        textnum.prices(rows.open_v),
        strict=True,
    )
    return _dumps(
        [{"t": t, "c": c, "h": h, "l": lo, "o": o, "sum": "0"} for t, c, h, lo, o in cols]
    )


def _premium(query: Query, ctx: Context) -> bytes:
    symbol = gp.symbol(query, "contract", USDM)
    rows = _span("premium", query, ctx, symbol, PREMIUM_MAX, "5m")
    cols = zip(
        (rows.open_ms // 1000).tolist(),
        _premium_text(rows.close_v),
        _premium_text(rows.high_v),
        _premium_text(rows.low_v),
        _premium_text(rows.open_v),
        strict=True,
    )
    return _dumps([{"t": t, "c": c, "h": h, "l": lo, "o": o} for t, c, h, lo, o in cols])


def _trades(query: Query, ctx: Context) -> bytes:
    symbol = gp.symbol(query, "contract", USDM)
    limit, offset = gp.integer(query, "limit", 100), gp.integer(query, "offset", 0)
    if not 1 <= limit <= TRADE_MAX or offset < 0:
        raise gp.error("INVALID_PARAM_VALUE", "Invalid limit or offset")
    end_s = gp.integer(query, "to", ctx.now_ms // 1000)
    start_s = gp.integer(query, "from")

    def count_before(t_ms: int) -> int:
        return trades.count_before(symbol, USDM, t_ms, ctx.seed, ctx.trades_per_day)

    lo = 0 if start_s is None else count_before(start_s * 1000)
    hi = count_before(min((end_s + 1) * 1000, ctx.now_ms + 1))  # `to` is inclusive
    stop = hi - offset  # newest first: skip the newest `offset`
    first = max(lo, stop - limit)
    rows = trades.trades(symbol, USDM, first, max(first, stop), ctx.seed, ctx.trades_per_day)
    contract = query["contract"]
    items = [
        f'{{"id":{i},"create_time":{t // 1000}.{t % 1000:03d},"create_time_ms":{t}.000,'
        f'"contract":"{contract}","size":{-q if m else q},"price":"{p}"}}'
        for i, t, q, m, p in zip(
            rows.agg_id.tolist(),
            rows.time_ms.tolist(),
            rows.qty_u.tolist(),  # contracts of QUANTO_MULTIPLIER
            rows.is_buyer_maker.tolist(),
            textnum.prices(rows.price_t),
            strict=True,
        )
    ]
    return ("[" + ",".join(items[::-1]) + "]").encode()


def _stats(query: Query, ctx: Context) -> bytes:
    symbol = gp.symbol(query, "contract", USDM)
    interval = query.get("interval", "5m")
    if interval not in STATS_INTERVALS:
        raise gp.error("INVALID_PARAM_VALUE", f"Invalid interval {interval}")
    step_ms = openinterest.period_ms(interval)
    limit = gp.integer(query, "limit", 30)
    if not 1 <= limit <= 2000:
        raise gp.error("INVALID_PARAM_VALUE", "Invalid limit")
    start_s = gp.integer(query, "from")
    lo, stop = openinterest.bounds(symbol, step_ms)
    hi = ctx.now_ms // step_ms if stop is None else min(ctx.now_ms // step_ms, stop - 1)
    first = max(lo, hi + 1 - limit) if start_s is None else max(lo, -(-start_s * 1000 // step_ms))
    last = min(hi, first + limit - 1)
    rows = openinterest.snapshots(symbol, step_ms, first, max(first, last + 1), ctx.seed)
    ratio = uniform(stream_key(ctx.seed, "gate-stats", symbol), rows.time_ms // step_ms)
    items = [
        {
            "time": t // 1000,
            "lsr_taker": round(0.5 + r, 4),
            "lsr_account": round(0.7 + r / 2, 4),
            "long_liq_size": 0,
            "long_liq_amount": 0.0,
            "long_liq_usd": 0.0,
            "short_liq_size": 0,
            "short_liq_amount": 0.0,
            "short_liq_usd": 0.0,
            "open_interest": a,  # contracts of QUANTO_MULTIPLIER
            "open_interest_usd": v / UNITS_PER_QTY,
            "top_lsr_account": round(0.8 + r / 3, 4),
            "top_lsr_size": round(0.9 + r / 4, 4),
        }
        for t, a, v, r in zip(
            rows.time_ms.tolist(),
            rows.amount_u.tolist(),
            rows.value_u.tolist(),
            ratio.tolist(),
            strict=True,
        )
    ]
    return _dumps(items)


ROUTES: dict[str, tuple[str, Callable[[Query, Context], bytes]]] = {
    "/futures/usdt/premium_index": ("gateio_futures_premium", _premium),
    "/futures/usdt/trades": ("gateio_futures_trades", _trades),
    "/futures/usdt/contract_stats": ("gateio_futures_stats", _stats),
}
