"""Bybit v5 instrument lists and 24 h tickers (`/v5/market/instruments-info`, `/tickers`).

instruments-info: category spot (every trading pair, one page: spot ignores limit and cursor)
or linear (status filter, default Trading; a delisted perpetual is `Closed` with its
delisting as deliveryTime; limit 1-1000, default 500; `nextPageCursor` like the docs'
`first%3DBIOUSDT%26last%3DBIOUSDT`, "" on the last page). `fundingInterval` is the interval in
force now, in minutes; `launchTime` the listing. Keys follow bybit-exchange/docs
`docs/v5/market/instrument.mdx` (plus `symbolId`, as in the newer example).

tickers: category spot or linear, optional symbol; only trading symbols. Linear rows have the
docs' Linear/Inverse fields (their example is an inverse one), spot rows the spot fields.
"""

from collections.abc import Callable
from urllib.parse import quote, unquote

from simulator import bybit_params as bp
from simulator import catalog, fundingrates, openinterest, pricecandles, textnum, tickers
from simulator.catalog import SPOT, USDM, Listing
from simulator.intervals import HOUR_MS
from simulator.pricepath import price_ticks
from simulator.venue import Context, Query

STATUSES = ("PreLaunch", "Trading", "Delivering", "Closed")


def _status(listing: Listing, now_ms: int) -> str:
    if listing.delisted_ms is not None and listing.delisted_ms <= now_ms:
        return "Closed"
    return "Trading" if listing.listed_ms <= now_ms else "PreLaunch"


def _linear(listing: Listing, index: int, now_ms: int) -> dict[str, object]:
    closed = _status(listing, now_ms) == "Closed"
    interval_min = fundingrates.interval_at(listing.symbol, now_ms) // 60_000
    return {
        "symbol": listing.symbol,
        "symbolId": index + 1,
        "contractType": "LinearPerpetual",
        "status": _status(listing, now_ms),
        "baseCoin": listing.base_asset,
        "quoteCoin": listing.quote_asset,
        "launchTime": str(listing.listed_ms),
        "deliveryTime": str(listing.delisted_ms) if closed else "0",
        "deliveryFeeRate": "",
        "priceScale": "2",
        "leverageFilter": {"minLeverage": "1", "maxLeverage": "50.00", "leverageStep": "0.01"},
        "priceFilter": {"minPrice": "0.01", "maxPrice": "1999999.98", "tickSize": "0.01"},
        "lotSizeFilter": {
            "maxOrderQty": "1000000.00000000",
            "minOrderQty": "0.00000001",
            "qtyStep": "0.00000001",
            "postOnlyMaxOrderQty": "1000000.00000000",
            "maxMktOrderQty": "100000.00000000",
            "minNotionalValue": "5",
        },
        "unifiedMarginTrade": True,
        "fundingInterval": interval_min,
        "settleCoin": "USDT",
        "copyTrading": "both",
        "upperFundingRate": "0.02",
        "lowerFundingRate": "-0.02",
        "isPreListing": False,
        "preListingInfo": None,
        "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.1"},
        "symbolType": "",
    }


def _spot(listing: Listing) -> dict[str, object]:
    return {
        "symbol": listing.symbol,
        "baseCoin": listing.base_asset,
        "quoteCoin": listing.quote_asset,
        "innovation": "0",
        "status": "Trading",
        "marginTrading": "none",
        "stTag": "0",
        "lotSizeFilter": {
            "basePrecision": "0.00000001",
            "quotePrecision": "0.00000001",
            "minOrderQty": "0.00000001",
            "maxOrderQty": "1000000",
            "minOrderAmt": "5",
            "maxOrderAmt": "2000000",
            "maxLimitOrderQty": "1000000",
            "maxMarketOrderQty": "100000",
        },
        "priceFilter": {"tickSize": "0.01"},
        "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.1"},
        "symbolType": "",
    }


def _instruments(query: Query, ctx: Context) -> bytes:
    category = bp.category(query, ctx, None, tuple(bp.CATEGORIES))
    wanted = query.get("symbol")
    if category == "spot":
        rows = [
            _spot(x)
            for x in catalog.listings(SPOT)
            if x.trading_at(ctx.now_ms) and wanted in (None, x.symbol)
        ]
        return bp.ok({"category": category, "list": rows}, ctx)
    status = query.get("status", "Trading")
    if status not in STATUSES:
        raise bp.error(10001, "Illegal status", ctx)
    limit = bp.limit(query, ctx, 500, 1000)
    everything = sorted(catalog.listings(USDM), key=lambda x: x.symbol)
    matching = [
        (i, x)
        for i, x in enumerate(everything)
        if _status(x, ctx.now_ms) == status and wanted in (None, x.symbol)
    ]
    after = ""
    if query.get("cursor"):
        fields = dict(p.split("=", 1) for p in unquote(query["cursor"]).split("&") if "=" in p)
        after = fields.get("last", "")
    page = [(i, x) for i, x in matching if x.symbol > after][:limit]
    more = bool(page) and page[-1][1].symbol != matching[-1][1].symbol
    cursor = quote(f"first={page[0][1].symbol}&last={page[-1][1].symbol}", safe="") if more else ""
    rows = [_linear(x, i, ctx.now_ms) for i, x in page]
    return bp.ok({"category": category, "list": rows, "nextPageCursor": cursor}, ctx)


def _pct(now_t: int, then_t: int) -> str:
    return f"{(now_t - then_t) / then_t:.6f}" if then_t else "0"


def _ticker_row(listing: Listing, category: str, ctx: Context) -> dict[str, object]:
    market = bp.CATEGORIES[category]
    t = tickers.ticker(listing.symbol, market, ctx.now_ms, ctx.seed, ctx.trades_per_day)
    last, prev = textnum.prices, t.open_t
    price = {
        "lastPrice": last([t.last_t])[0],
        "prevPrice24h": last([prev])[0],
        "price24hPcnt": _pct(t.last_t, prev),
        "highPrice24h": last([t.high_t])[0],
        "lowPrice24h": last([t.low_t])[0],
    }
    volume = {
        "turnover24h": textnum.qtys([t.quote_u])[0],
        "volume24h": textnum.qtys([t.volume_u])[0],
    }
    bid, ask = last([t.last_t - 1])[0], last([t.last_t])[0]
    if category == "spot":
        book = {"bid1Price": bid, "bid1Size": "1", "ask1Price": ask, "ask1Size": "1"}
        return {"symbol": listing.symbol, **book, **price, **volume, "usdIndexPrice": ask}
    now = ctx.now_ms
    mark = last(pricecandles.values("mark", listing.symbol, [now], ctx.seed))[0]
    index = last(pricecandles.values("index", listing.symbol, [now], ctx.seed))[0]
    hour_ago = last(price_ticks(listing.symbol, USDM, [now - HOUR_MS], ctx.seed))[0]
    snap = openinterest.snapshots(
        listing.symbol, openinterest.STEP_MS, now // 300_000, now // 300_000 + 1, ctx.seed
    )
    upcoming = fundingrates.count_before(listing.symbol, now)
    nxt = fundingrates.fundings(listing.symbol, upcoming, upcoming + 1, ctx.seed)
    rate = textnum.qtys(nxt.rate_u)[0] if len(nxt) else "0"
    return {
        "symbol": listing.symbol,
        "lastPrice": price["lastPrice"],
        "indexPrice": index,
        "markPrice": mark,
        "prevPrice24h": price["prevPrice24h"],
        "price24hPcnt": price["price24hPcnt"],
        "highPrice24h": price["highPrice24h"],
        "lowPrice24h": price["lowPrice24h"],
        "prevPrice1h": hour_ago,
        "openInterest": textnum.qtys(snap.amount_u)[0],
        "openInterestValue": textnum.qtys(snap.value_u)[0],
        **volume,
        "fundingRate": rate,
        "nextFundingTime": str(int(nxt.time_ms[0])) if len(nxt) else "0",
        "predictedDeliveryPrice": "",
        "basisRate": "",
        "deliveryFeeRate": "",
        "deliveryTime": "0",
        "ask1Size": "1",
        "bid1Price": bid,
        "ask1Price": ask,
        "bid1Size": "1",
    }


def _tickers(query: Query, ctx: Context) -> bytes:
    category = bp.category(query, ctx, None, tuple(bp.CATEGORIES))
    market = bp.CATEGORIES[category]
    wanted = query.get("symbol")
    if wanted is not None and not catalog.is_listed(wanted, market):
        raise bp.error(10001, "Not supported symbols", ctx)
    rows = [
        _ticker_row(x, category, ctx)
        for x in catalog.listings(market)
        if x.trading_at(ctx.now_ms) and wanted in (None, x.symbol)
    ]
    return bp.ok({"category": category, "list": rows}, ctx)


ROUTES: tuple[tuple[str, Callable[[Query, Context], bytes]], ...] = (
    ("/v5/market/instruments-info", _instruments),
    ("/v5/market/tickers", _tickers),
)
