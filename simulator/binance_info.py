"""Binance exchangeInfo bodies: rate limits as configured and a real-shaped entry per symbol.

Keys follow the documentation's examples in order (developers.binance.com, spot "Exchange
information", USD-M "Exchange Information"). A delisted spot pair shows status BREAK; a
delisted perpetual shows SETTLING with its delisting time as deliveryDate (perpetuals
otherwise carry Binance's far-future 4133404800000).
"""

from collections.abc import Mapping

from simulator import catalog
from simulator.limits import BudgetSpec

PERPETUAL_DELIVERY_MS = 4133404800000  # Binance's delivery date for perpetual contracts
_PRICE_FILTER_SPOT = {
    "filterType": "PRICE_FILTER",
    "minPrice": "0.01000000",
    "maxPrice": "1000000.00000000",
    "tickSize": "0.01000000",
}
_LOT_SIZE_SPOT = {
    "filterType": "LOT_SIZE",
    "minQty": "0.00000001",
    "maxQty": "9000.00000000",
    "stepSize": "0.00000001",
}
_PRICE_FILTER_USDM = {
    "filterType": "PRICE_FILTER",
    "minPrice": "0.01",
    "maxPrice": "1000000",
    "tickSize": "0.01",
}


def rate_limit(spec: BudgetSpec) -> dict[str, object]:
    """A REQUEST_WEIGHT entry, in the largest unit that divides the window."""
    for name, unit_s in (("DAY", 86_400), ("HOUR", 3_600), ("MINUTE", 60), ("SECOND", 1)):
        if spec.seconds % unit_s == 0:
            return {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": name,
                "intervalNum": spec.seconds // unit_s,
                "limit": spec.limit,
            }
    raise AssertionError("every whole number of seconds divides by 1")


def spot_status(listing: catalog.Listing, now_ms: int) -> str:
    """TRADING, or BREAK once the pair has been delisted."""
    delisted = listing.delisted_ms is not None and listing.delisted_ms <= now_ms
    return "BREAK" if delisted else "TRADING"


def _spot_symbol(listing: catalog.Listing, now_ms: int) -> dict[str, object]:
    return {
        "symbol": listing.symbol,
        "status": spot_status(listing, now_ms),
        "baseAsset": listing.base_asset,
        "baseAssetPrecision": 8,
        "quoteAsset": listing.quote_asset,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "MARKET"],
        "icebergAllowed": False,
        "ocoAllowed": True,
        "otoAllowed": True,
        "opoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "amendAllowed": False,
        "pegInstructionsAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [_PRICE_FILTER_SPOT, _LOT_SIZE_SPOT],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "NONE",
        "allowedSelfTradePreventionModes": ["NONE"],
    }


def _usdm_symbol(listing: catalog.Listing, now_ms: int) -> dict[str, object]:
    delisted = listing.delisted_ms is not None and listing.delisted_ms <= now_ms
    return {
        "symbol": listing.symbol,
        "pair": listing.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": listing.delisted_ms if delisted else PERPETUAL_DELIVERY_MS,
        "onboardDate": listing.listed_ms,
        "status": "SETTLING" if delisted else "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": listing.base_asset,
        "quoteAsset": listing.quote_asset,
        "marginAsset": listing.quote_asset,
        "pricePrecision": 2,
        "quantityPrecision": 3,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "filters": [_PRICE_FILTER_USDM],
        "OrderType": ["LIMIT", "MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
    }


def spot(symbols: list[str], budgets: Mapping[str, BudgetSpec], now_ms: int) -> dict[str, object]:
    return {
        "timezone": "UTC",
        "serverTime": now_ms,
        "rateLimits": [rate_limit(budgets["spot"])],
        "exchangeFilters": [],
        "symbols": [_spot_symbol(catalog.listing(s, catalog.SPOT), now_ms) for s in symbols],
    }


def usdm(symbols: list[str], budgets: Mapping[str, BudgetSpec], now_ms: int) -> dict[str, object]:
    """Keys in the documentation example's order: exchangeFilters first, timezone last."""
    return {
        "exchangeFilters": [],
        # The USD-M docs list a rate limit's keys alphabetically.
        "rateLimits": [dict(sorted(rate_limit(budgets["usdm"]).items()))],
        "serverTime": now_ms,
        "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": 0}],
        "symbols": [_usdm_symbol(catalog.listing(s, catalog.USDM), now_ms) for s in symbols],
        "timezone": "UTC",
    }
