"""Gate.io instrument lists and tickers: `/spot/currency_pairs`, `/futures/usdt/contracts`,
`/spot/tickers`, `/futures/usdt/tickers`.

currency_pairs: keys of the docs' example (doc-examples/gateio_spot_currency_pairs.json);
`buy_start`/`sell_start` are the listing (seconds); a delisted pair is `untradable` with its
`delisting_time`. contracts: keys in the order of Gate's own response example in its
2025-08-13 announcement ("Gate Perpetual Futures Info API Add funding_rate_limit Field");
`funding_interval` (seconds) is the interval in force now, `create_time` the listing (real
contracts may show a later re-creation time), `in_delisting` marks a delisted contract, which
stays listed. Tickers: the SDK models' fields (Ticker, FuturesTicker); only trading symbols.
"""

import json
from collections.abc import Callable

from simulator import catalog, fundingrates, openinterest, pricecandles, textnum, tickers
from simulator import gateio_params as gp
from simulator.catalog import SPOT, USDM, Listing
from simulator.venue import Context, Query

QUANTO_MULTIPLIER = "0.00000001"


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _pair(listing: Listing) -> str:
    return f"{listing.base_asset}_{listing.quote_asset}"


def _delisted(listing: Listing, now_ms: int) -> bool:
    return listing.delisted_ms is not None and listing.delisted_ms <= now_ms


def _currency_pair(listing: Listing, now_ms: int) -> dict[str, object]:
    listed_s = listing.listed_ms // 1000
    gone = _delisted(listing, now_ms)
    return {
        "id": _pair(listing),
        "base": listing.base_asset,
        "base_name": listing.base_asset,
        "quote": listing.quote_asset,
        "quote_name": "Tether",
        "fee": "0.2",
        "min_base_amount": "0.00000001",
        "min_quote_amount": "1",
        "max_base_amount": "1000000",
        "max_quote_amount": "5000000",
        "amount_precision": 8,
        "precision": 2,
        "trade_status": "untradable" if gone else "tradable",
        "sell_start": listed_s,
        "buy_start": listed_s,
        "delisting_time": listing.delisted_ms // 1000 if gone else 0,
        "trade_url": f"https://www.gate.com/trade/{_pair(listing)}",
        "st_tag": False,
        "up_rate": "0.05",
        "down_rate": "0.05",
        "slippage": "0.05",
        "max_market_order_stock": "1000000",
        "max_market_order_money": "5000000",
    }


def _currency_pairs(query: Query, ctx: Context) -> bytes:
    return _dumps([_currency_pair(x, ctx.now_ms) for x in catalog.listings(SPOT)])


def _contract(listing: Listing, ctx: Context) -> dict[str, object]:
    symbol, now = listing.symbol, ctx.now_ms
    upcoming = fundingrates.count_before(symbol, now)
    nxt = fundingrates.fundings(symbol, upcoming, upcoming + 1, ctx.seed)
    rate = textnum.qtys(nxt.rate_u)[0] if len(nxt) else "0"
    mark = textnum.prices(pricecandles.values("mark", symbol, [now], ctx.seed))[0]
    index = textnum.prices(pricecandles.values("index", symbol, [now], ctx.seed))[0]
    step = openinterest.STEP_MS
    snap = openinterest.snapshots(symbol, step, now // step, now // step + 1, ctx.seed)
    return {
        "funding_rate_indicative": rate,
        "mark_price_round": "0.01",
        "funding_offset": 0,
        "in_delisting": _delisted(listing, now),
        "risk_limit_base": "1000000",
        "interest_rate": "0.0003",
        "index_price": index,
        "order_price_round": "0.01",
        "order_size_min": 1,
        "ref_rebate_rate": "0.2",
        "name": _pair(listing),
        "ref_discount_rate": "0",
        "order_price_deviate": "0.02",
        "maintenance_rate": "0.005",
        "mark_type": "index",
        "funding_interval": fundingrates.interval_at(symbol, now) // 1000,
        "type": "direct",
        "risk_limit_step": "1000000",
        "enable_bonus": True,
        "enable_credit": True,
        "leverage_min": "1",
        "funding_rate": rate,
        "last_price": mark,
        "mark_price": mark,
        "order_size_max": 10**15,
        "funding_next_apply": int(nxt.time_ms[0]) // 1000 if len(nxt) else 0,
        "short_users": 100,
        "config_change_time": listing.listed_ms // 1000,
        "create_time": listing.listed_ms // 1000,
        "trade_size": 0,
        "position_size": int(snap.amount_u[0]) if len(snap) else 0,
        "long_users": 100,
        "quanto_multiplier": QUANTO_MULTIPLIER,
        "funding_impact_value": "30000",
        "leverage_max": "50",
        "cross_leverage_default": "5",
        "risk_limit_max": "10000000",
        "maker_fee_rate": "-0.0001",
        "taker_fee_rate": "0.00075",
        "orders_limit": 100,
        "trade_id": 0,
        "orderbook_id": 0,
    }


def _contracts(query: Query, ctx: Context) -> bytes:
    return _dumps([_contract(x, ctx) for x in catalog.listings(USDM)])


def _one_contract(query: Query, ctx: Context) -> bytes:
    """`/futures/usdt/contracts/{contract}`: one contract's record (its quanto_multiplier is
    what a size in contracts is worth in base units)."""
    symbol = gp.symbol(query, "contract", USDM)
    return _dumps(_contract(catalog.listing(symbol, USDM), ctx))


def _change(t: tickers.Ticker) -> str:
    return f"{100 * t.change_t / t.open_t:.2f}" if t.open_t else "0"


def _spot_tickers(query: Query, ctx: Context) -> bytes:
    wanted = gp.symbol(query, "currency_pair", SPOT) if query.get("currency_pair") else None
    rows = []
    for listing in catalog.listings(SPOT):
        if not listing.trading_at(ctx.now_ms) or wanted not in (None, listing.symbol):
            continue
        t = tickers.ticker(listing.symbol, SPOT, ctx.now_ms, ctx.seed, ctx.trades_per_day)
        last, ask, bid = textnum.prices([t.last_t, t.last_t, t.last_t - 1])
        high, low = textnum.prices([t.high_t, t.low_t])
        base, quote = textnum.qtys([t.volume_u, t.quote_u])
        rows.append(
            {
                "currency_pair": _pair(listing),
                "last": last,
                "lowest_ask": ask,
                "highest_bid": bid,
                "change_percentage": _change(t),
                "base_volume": base,
                "quote_volume": quote,
                "high_24h": high,
                "low_24h": low,
            }
        )
    return _dumps(rows)


def _futures_tickers(query: Query, ctx: Context) -> bytes:
    wanted = gp.symbol(query, "contract", USDM) if query.get("contract") else None
    rows = []
    for listing in catalog.listings(USDM):
        if not listing.trading_at(ctx.now_ms) or wanted not in (None, listing.symbol):
            continue
        t = tickers.ticker(listing.symbol, USDM, ctx.now_ms, ctx.seed, ctx.trades_per_day)
        info = _contract(listing, ctx)
        last, ask, bid, high, low = textnum.prices(
            [t.last_t, t.last_t, t.last_t - 1, t.high_t, t.low_t]
        )
        base, quote = textnum.qtys([t.volume_u, t.quote_u])
        rows.append(
            {
                "contract": info["name"],
                "last": last,
                "change_percentage": _change(t),
                "total_size": str(info["position_size"]),
                "low_24h": low,
                "high_24h": high,
                "volume_24h": str(t.volume_u),  # contracts of QUANTO_MULTIPLIER
                "volume_24h_btc": "0",
                "volume_24h_usd": quote,
                "volume_24h_base": base,
                "volume_24h_quote": quote,
                "volume_24h_settle": quote,
                "mark_price": info["mark_price"],
                "funding_rate": info["funding_rate"],
                "funding_rate_indicative": info["funding_rate_indicative"],
                "index_price": info["index_price"],
                "basis_rate": "0",
                "basis_value": "0",
                "lowest_ask": ask,
                "highest_bid": bid,
            }
        )
    return _dumps(rows)


ROUTES: dict[str, tuple[str, Callable[[Query, Context], bytes]]] = {
    "/spot/currency_pairs": ("gateio_spot_pairs", _currency_pairs),
    "/futures/usdt/contracts": ("gateio_futures_contracts", _contracts),
    "/futures/usdt/contracts/{contract}": ("gateio_futures_contract", _one_contract),
    "/spot/tickers": ("gateio_spot_tickers", _spot_tickers),
    "/futures/usdt/tickers": ("gateio_futures_tickers", _futures_tickers),
}
