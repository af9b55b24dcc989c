"""Binance 24 h tickers: `/api/v3/ticker/24hr` (spot; symbol | symbols, type FULL | MINI,
symbolStatus) and `/fapi/v1/ticker/24hr` (USD-M; symbol).

Weights as documented: spot 2 for a symbol or 1-20 symbols, 40 for 21-100, 80 for more or
for all; USD-M 1 for a symbol, 40 for all. One object for `symbol`, a list otherwise. Keys in
the documentation examples' order. Values come from simulator.tickers.
"""

import json

from simulator import binance_format as fmt
from simulator import binance_info, catalog, tickers
from simulator import binance_params as params
from simulator.catalog import SPOT, USDM
from simulator.pricepath import TICKS_PER_UNIT, UNITS_PER_QTY
from simulator.venue import Context, Query

STATUSES = ("TRADING", "HALT", "BREAK")


def _price(ticks: int) -> str:
    sign = "-" if ticks < 0 else ""
    whole, frac = divmod(abs(ticks), TICKS_PER_UNIT)
    return f"{sign}{whole}.{frac:02d}000000"


def _qty(units: int) -> str:
    whole, frac = divmod(units, UNITS_PER_QTY)
    return f"{whole}.{frac:08d}"


def _body(t: tickers.Ticker, full: bool, spot: bool) -> dict[str, object]:
    average = t.quote_u / t.volume_u if t.volume_u else 0.0
    percent = 100 * t.change_t / t.open_t if t.open_t else 0.0
    body: dict[str, object] = {"symbol": t.symbol}
    if full:
        body["priceChange"] = _price(t.change_t)
        body["priceChangePercent"] = f"{percent:.3f}"
        body["weightedAvgPrice"] = f"{average:.8f}"
        if spot:
            body["prevClosePrice"] = _price(t.open_t)
        body["lastPrice"] = _price(t.last_t)
        body["lastQty"] = "0.01000000"
        if spot:
            body["bidPrice"] = _price(t.last_t - 1)
            body["bidQty"] = "1.00000000"
            body["askPrice"] = _price(t.last_t)
            body["askQty"] = "1.00000000"
        body["openPrice"] = _price(t.open_t)
    else:
        body["openPrice"] = _price(t.open_t)
    body["highPrice"] = _price(t.high_t)
    body["lowPrice"] = _price(t.low_t)
    if not full:
        body["lastPrice"] = _price(t.last_t)
    body["volume"] = _qty(t.volume_u)
    body["quoteVolume"] = _qty(t.quote_u)
    body["openTime"] = t.open_ms
    body["closeTime"] = t.close_ms
    body["firstId"] = t.first_id
    body["lastId"] = t.last_id
    body["count"] = t.count
    return body


def _symbols_param(query: Query) -> list[str] | None:
    raw = query.get("symbols")
    if not raw:
        return None
    try:
        names = json.loads(raw)
    except ValueError:
        names = None
    if not isinstance(names, list) or not names:
        raise params.error(-1100, "Illegal characters found in parameter 'symbols'.")
    return names


def spot_weight(query: Query) -> int:
    if query.get("symbol"):
        return 2
    try:
        names = _symbols_param(query)
    except Exception:
        return 2
    if names is None or len(names) > 100:
        return 80
    return 2 if len(names) <= 20 else 40


def usdm_weight(query: Query) -> int:
    return 1 if query.get("symbol") else 40


def spot(query: Query, ctx: Context) -> bytes:
    kind = query.get("type", "FULL")
    if kind not in ("FULL", "MINI"):
        raise params.error(-1100, "Illegal characters found in parameter 'type'.")
    status = query.get("symbolStatus")
    if status is not None and status not in STATUSES:
        raise params.error(-1100, "Illegal characters found in parameter 'symbolStatus'.")
    if query.get("symbol") and query.get("symbols"):
        raise params.error(-1128, "Combination of optional parameters invalid.")
    single = bool(query.get("symbol"))
    if single:
        names = [params.symbol(query, SPOT)]
    else:
        names = _symbols_param(query) or catalog.symbols(SPOT)
        names = [params.named_symbol({"symbol": n}, "symbol", SPOT) for n in names]
    items = []
    for name in names:
        listing = catalog.listing(name, SPOT)
        if status is not None and binance_info.spot_status(listing, ctx.now_ms) != status:
            if single:
                raise params.error(-1220, "The symbol's status does not match the requested.")
            continue
        t = tickers.ticker(name, SPOT, ctx.now_ms, ctx.seed, ctx.trades_per_day)
        items.append(_body(t, kind == "FULL", spot=True))
    return fmt.dumps(items[0] if single else items)


def usdm(query: Query, ctx: Context) -> bytes:
    if query.get("symbol"):
        name = params.symbol(query, USDM)
        t = tickers.ticker(name, USDM, ctx.now_ms, ctx.seed, ctx.trades_per_day)
        return fmt.dumps(_body(t, True, spot=False))
    items = [
        _body(tickers.ticker(n, USDM, ctx.now_ms, ctx.seed, ctx.trades_per_day), True, False)
        for n in catalog.symbols(USDM)
    ]
    return fmt.dumps(items)
