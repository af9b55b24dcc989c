"""Binance exchangeInfo bodies: rate limits as configured and a real-shaped entry per symbol."""

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


def _spot_symbol(listing: catalog.Listing) -> dict[str, object]:
    return {
        "symbol": listing.symbol,
        "status": "TRADING",
        "baseAsset": listing.base_asset,
        "baseAssetPrecision": 8,
        "quoteAsset": listing.quote_asset,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "MARKET"],
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [_PRICE_FILTER_SPOT, _LOT_SIZE_SPOT],
        "permissions": [],
        "permissionSets": [["SPOT"]],
    }


def _usdm_symbol(listing: catalog.Listing) -> dict[str, object]:
    return {
        "symbol": listing.symbol,
        "pair": listing.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": PERPETUAL_DELIVERY_MS,
        "onboardDate": listing.listed_ms,
        "status": "TRADING",
        "baseAsset": listing.base_asset,
        "quoteAsset": listing.quote_asset,
        "marginAsset": listing.quote_asset,
        "pricePrecision": 2,
        "quantityPrecision": 3,
        "filters": [_PRICE_FILTER_USDM],
    }


def spot(symbols: list[str], budgets: Mapping[str, BudgetSpec], now_ms: int) -> dict[str, object]:
    return {
        "timezone": "UTC",
        "serverTime": now_ms,
        "rateLimits": [rate_limit(budgets["spot"])],
        "exchangeFilters": [],
        "symbols": [_spot_symbol(catalog.listing(s, catalog.SPOT)) for s in symbols],
    }


def usdm(symbols: list[str], budgets: Mapping[str, BudgetSpec], now_ms: int) -> dict[str, object]:
    return {
        "timezone": "UTC",
        "serverTime": now_ms,
        "futuresType": "U_MARGINED",
        "rateLimits": [rate_limit(budgets["usdm"])],
        "exchangeFilters": [],
        "assets": [{"asset": "USDT", "marginAvailable": True}],
        "symbols": [_usdm_symbol(catalog.listing(s, catalog.USDM)) for s in symbols],
    }
