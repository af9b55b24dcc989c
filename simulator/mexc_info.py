"""MEXC instrument lists and 24 h tickers: spot `/api/v3/exchangeInfo` and `/api/v3/ticker/24hr`
(under /mexc, weight 10 and 1 | 40 against a 500 / 10 s budget per endpoint), contract
`/api/v1/contract/detail` and `/api/v1/contract/ticker` (the contract budget).

Keys follow the docs' examples (mexc.com api-docs spot-v3 "Exchange Information" and "24hr
Ticker Price Change Statistics"; futures "Get Contract Info" and "Get Ticker"). Spot status
"1" online, "3" offline (a delisted pair); contract `state` 0 enabled, 3 offline (assumed from
the docs' field table). The spot ticker's `quoteVolume` is served as a string although the
docs' example shows null (`--top N` needs it), and `count` as null like the example. Tickers
cover trading symbols only. Contract tickers and details: a list, or one object for `symbol`.
"""

import json
from collections.abc import Callable

from simulator import catalog, fundingrates, openinterest, pricecandles, textnum, tickers
from simulator import mexc_params as mp
from simulator.catalog import SPOT, USDM, Listing
from simulator.pricepath import TICKS_PER_UNIT, UNITS_PER_QTY
from simulator.venue import Context, Query


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _offline(listing: Listing, now_ms: int) -> bool:
    return listing.delisted_ms is not None and listing.delisted_ms <= now_ms


def _spot_symbol(listing: Listing, now_ms: int) -> dict[str, object]:
    return {
        "symbol": listing.symbol,
        "status": "3" if _offline(listing, now_ms) else "1",
        "baseAsset": listing.base_asset,
        "baseAssetPrecision": 8,
        "quoteAsset": listing.quote_asset,
        "quotePrecision": 2,
        "quoteAssetPrecision": 2,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 2,
        "orderTypes": ["LIMIT", "MARKET", "LIMIT_MAKER"],
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "quoteAmountPrecision": "1",
        "baseSizePrecision": "0.00000001",
        "permissions": ["SPOT"],
        "filters": [],
        "maxQuoteAmount": "2000000",
        "makerCommission": "0",
        "takerCommission": "0.0005",
        "quoteAmountPrecisionMarket": "1",
        "maxQuoteAmountMarket": "100000",
        "fullName": listing.base_asset,
        "tradeSideType": "1",
        "contractAddress": "",
        "st": False,
    }


def _exchange_info(query: Query, ctx: Context) -> bytes:
    if query.get("symbol"):
        names = [mp.spot_symbol(query)]
    elif query.get("symbols"):
        names = [mp.spot_symbol({"symbol": s}) for s in query["symbols"].split(",")]
    else:
        names = catalog.symbols(SPOT)
    body = {
        "timezone": "CST",
        "serverTime": ctx.now_ms,
        "rateLimits": [],
        "exchangeFilters": [],
        "symbols": [_spot_symbol(catalog.listing(s, SPOT), ctx.now_ms) for s in names],
    }
    return _dumps(body)


def _spot_ticker_row(listing: Listing, ctx: Context) -> dict[str, object]:
    t = tickers.ticker(listing.symbol, SPOT, ctx.now_ms, ctx.seed, ctx.trades_per_day)
    change, open_, last, bid, high, low = textnum.prices(
        [t.change_t, t.open_t, t.last_t, t.last_t - 1, t.high_t, t.low_t]
    )
    return {
        "symbol": listing.symbol,
        "priceChange": change,
        "priceChangePercent": f"{t.change_t / t.open_t:.8f}" if t.open_t else "0",
        "prevClosePrice": open_,
        "lastPrice": last,
        "bidPrice": bid,
        "bidQty": "",
        "askPrice": last,
        "askQty": "",
        "openPrice": open_,
        "highPrice": high,
        "lowPrice": low,
        "volume": textnum.qtys([t.volume_u])[0],
        "quoteVolume": textnum.qtys([t.quote_u])[0],
        "openTime": t.open_ms,
        "closeTime": t.close_ms,
        "count": None,
    }


def _spot_ticker(query: Query, ctx: Context) -> bytes:
    if query.get("symbol"):
        listing = catalog.listing(mp.spot_symbol(query), SPOT)
        return _dumps(_spot_ticker_row(listing, ctx))
    rows = [_spot_ticker_row(x, ctx) for x in catalog.listings(SPOT) if x.trading_at(ctx.now_ms)]
    return _dumps(rows)


def _detail_row(listing: Listing, now_ms: int) -> dict[str, object]:
    name = mp.contract_name(listing)
    return {
        "symbol": name,
        "displayName": f"{name}永续",
        "displayNameEn": f"{name} PERPETUAL",
        "positionOpenType": 3,
        "baseCoin": listing.base_asset,
        "quoteCoin": listing.quote_asset,
        "baseCoinName": listing.base_asset,
        "quoteCoinName": listing.quote_asset,
        "futureType": 1,
        "settleCoin": "USDT",
        "contractSize": 1,
        "minLeverage": 1,
        "maxLeverage": 200,
        "countryConfigContractMaxLeverage": 0,
        "priceScale": 2,
        "volScale": 8,
        "amountScale": 4,
        "priceUnit": 0.01,
        "volUnit": 1e-08,
        "minVol": 1e-08,
        "maxVol": 1000000,
        "bidLimitPriceRate": 0.1,
        "askLimitPriceRate": 0.1,
        "takerFeeRate": 0.0002,
        "makerFeeRate": 0,
        "maintenanceMarginRate": 0.004,
        "initialMarginRate": 0.005,
        "riskBaseVol": 1000000,
        "riskIncrVol": 0,
        "riskLongShortSwitch": 0,
        "riskIncrMmr": 0,
        "riskIncrImr": 0,
        "riskLevelLimit": 1,
        "priceCoefficientVariation": 0.01,
        "indexOrigin": ["BINANCE", "BYBIT", "GATEIO", "MEXC"],
        "state": 3 if _offline(listing, now_ms) else 0,
        "isNew": False,
        "isHot": False,
        "isHidden": False,
        "conceptPlate": [],
        "conceptPlateId": [],
        "riskLimitType": "BY_VOLUME",
        "maxNumOrders": [200, 50],
        "marketOrderMaxLevel": 20,
        "marketOrderPriceLimitRate1": 0.2,
        "marketOrderPriceLimitRate2": 0.005,
        "triggerProtect": 0.1,
        "appraisal": 0,
        "showAppraisalCountdown": 0,
        "automaticDelivery": 0,
        "apiAllowed": True,
        "depthStepList": ["0.01", "0.1", "1", "10"],
        "limitMaxVol": 1000000,
        "threshold": 0,
        "baseCoinIconUrl": "",
        "id": 1,
        "vid": "",
        "baseCoinId": "",
        "createTime": listing.listed_ms,
        "openingTime": 0,
    }


def _one_or_all(query: Query, ctx: Context, row: Callable[[Listing], dict]) -> bytes:
    if query.get("symbol"):
        return mp.envelope(row(catalog.listing(mp.contract_symbol(query), USDM)))
    return mp.envelope([row(x) for x in catalog.listings(USDM)])


def _detail(query: Query, ctx: Context) -> bytes:
    return _one_or_all(query, ctx, lambda x: _detail_row(x, ctx.now_ms))


def _contract_ticker_row(listing: Listing, ctx: Context) -> dict[str, object]:
    now, symbol = ctx.now_ms, listing.symbol
    t = tickers.ticker(symbol, USDM, now, ctx.seed, ctx.trades_per_day)
    step = openinterest.STEP_MS
    snap = openinterest.snapshots(symbol, step, now // step, now // step + 1, ctx.seed)
    upcoming = fundingrates.count_before(symbol, now)
    nxt = fundingrates.fundings(symbol, upcoming, upcoming + 1, ctx.seed)
    index, fair = (pricecandles.values(k, symbol, [now], ctx.seed)[0] for k in ("index", "mark"))
    rate = round(t.change_t / t.open_t, 4) if t.open_t else 0
    return {
        "contractId": 1,
        "symbol": mp.contract_name(listing),
        "lastPrice": t.last_t / TICKS_PER_UNIT,
        "bid1": (t.last_t - 1) / TICKS_PER_UNIT,
        "ask1": t.last_t / TICKS_PER_UNIT,
        "volume24": t.volume_u / UNITS_PER_QTY,
        "amount24": t.quote_u / UNITS_PER_QTY,
        "holdVol": int(snap.amount_u[0]) / UNITS_PER_QTY if len(snap) else 0,
        "lower24Price": t.low_t / TICKS_PER_UNIT,
        "high24Price": t.high_t / TICKS_PER_UNIT,
        "riseFallRate": rate,
        "riseFallValue": t.change_t / TICKS_PER_UNIT,
        "indexPrice": int(index) / TICKS_PER_UNIT,
        "fairPrice": int(fair) / TICKS_PER_UNIT,
        "fundingRate": int(nxt.rate_u[0]) / UNITS_PER_QTY if len(nxt) else 0,
        "maxBidPrice": t.last_t * 1.1 // 1 / TICKS_PER_UNIT,
        "minAskPrice": t.last_t * 0.9 // 1 / TICKS_PER_UNIT,
        "timestamp": now,
        "riseFallRates": {
            "zone": "UTC+8",
            "r": rate,
            "v": t.change_t / TICKS_PER_UNIT,
            **{key: rate for key in ("r7", "r30", "r90", "r180", "r365")},
        },
        "riseFallRatesOfTimezone": [rate, rate, rate],
    }


def _contract_ticker(query: Query, ctx: Context) -> bytes:
    if query.get("symbol"):
        return _one_or_all(query, ctx, lambda x: _contract_ticker_row(x, ctx))
    rows = [
        _contract_ticker_row(x, ctx) for x in catalog.listings(USDM) if x.trading_at(ctx.now_ms)
    ]
    return mp.envelope(rows)


def _weight(one: int, every: int) -> Callable[[Query], int]:
    return lambda query: one if query.get("symbol") else every


# (path, under the spot prefix?, budget, weight, handler)
ROUTES: tuple[tuple[str, bool, str, Callable[[Query], int], Callable], ...] = (
    ("/api/v3/exchangeInfo", True, "mexc_spot_info", _weight(10, 10), _exchange_info),
    ("/api/v3/ticker/24hr", True, "mexc_spot_ticker", _weight(1, 40), _spot_ticker),
    ("/api/v1/contract/detail", False, "mexc_contract", _weight(1, 1), _detail),
    ("/api/v1/contract/ticker", False, "mexc_contract", _weight(1, 1), _contract_ticker),
)
