"""MEXC request parsing and envelopes: spot errors `{"code","msg"}` with HTTP 400 (Binance
style); contract answers `{"success","code","data"}`, errors inside HTTP 200."""

import json
from collections.abc import Callable

from simulator import catalog, intervals
from simulator.catalog import SPOT, USDM
from simulator.venue import ApiError, Query


def spot_error(code: int, msg: str) -> ApiError:
    return ApiError(400, {"code": code, "msg": msg})


def contract_error(code: int, message: str) -> ApiError:
    return ApiError(200, {"success": False, "code": code, "message": message})


def integer(query: Query, name: str, default: int | None = None) -> int | None:
    value = query.get(name)
    if value in (None, ""):
        return default
    if not value.isdigit():
        raise spot_error(-1100, f"Illegal characters found in parameter '{name}'.")
    return int(value)


def spot_symbol(query: Query) -> str:
    symbol = query.get("symbol", "")
    if not catalog.is_listed(symbol, SPOT):
        raise spot_error(-1121, "Invalid symbol.")
    return symbol


def contract_symbol(query: Query) -> str:
    """BTCUSDT for `BTC_USDT`; code 1001 if the contract does not exist."""
    raw = query.get("symbol", "")
    symbol = raw.replace("_", "")
    if "_" not in raw or not catalog.is_listed(symbol, USDM):
        raise contract_error(1001, "Contract does not exist")
    return symbol


def contract_name(listing: catalog.Listing) -> str:
    return f"{listing.base_asset}_{listing.quote_asset}"


def envelope(data: object) -> bytes:
    return json.dumps({"success": True, "code": 0, "data": data}, separators=(",", ":")).encode()


CONTRACT_INTERVALS = {
    "Min1": "1m",
    "Min5": "5m",
    "Min15": "15m",
    "Min30": "30m",
    "Min60": "1h",
    "Hour4": "4h",
    "Hour8": "8h",
    "Day1": "1d",
    "Week1": "1w",
    "Month1": "1M",
}
CONTRACT_KLINE_MAX = 2000


def contract_span(
    query: Query, first_index: Callable[[str], int], last_index: Callable[[str], int]
) -> tuple[str, int, int]:
    """(interval, first, stop) of a contract kline request (seconds): at most 2000 candles;
    start alone runs from start, end alone or neither gives the 2000 nearest the end (now)."""
    interval = CONTRACT_INTERVALS.get(query.get("interval", "Min1"))
    if interval is None:
        raise contract_error(600, "Parameter error")
    lo, hi = first_index(interval), last_index(interval)
    start, end = integer(query, "start"), integer(query, "end")
    if end is not None:
        hi = min(hi, intervals.floor_index(interval, end * 1000))
    first = max(lo, hi + 1 - CONTRACT_KLINE_MAX)
    if start is not None:
        first = max(lo, intervals.ceil_index(interval, start * 1000))
    stop = min(hi + 1, first + CONTRACT_KLINE_MAX)
    return interval, first, max(first, stop)
