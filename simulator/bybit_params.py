"""Bybit v5 request parsing and envelopes: `{"retCode","retMsg","result","retExtInfo","time"}`,
errors in HTTP 200 with a non-zero retCode."""

import json

from simulator import catalog
from simulator.catalog import SPOT, USDM
from simulator.venue import ApiError, Context, Query

CATEGORIES = {"spot": SPOT, "linear": USDM}
INTERVALS = {
    "1": "1m",
    "3": "3m",
    "5": "5m",
    "15": "15m",
    "30": "30m",
    "60": "1h",
    "120": "2h",
    "240": "4h",
    "360": "6h",
    "720": "12h",
    "D": "1d",
    "W": "1w",
    "M": "1M",
}


def error(code: int, msg: str, ctx: Context) -> ApiError:
    body = {"retCode": code, "retMsg": msg, "result": {}, "retExtInfo": {}, "time": ctx.now_ms}
    return ApiError(200, body)


def ok(result: dict, ctx: Context) -> bytes:
    body = {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": ctx.now_ms}
    return json.dumps(body, separators=(",", ":")).encode()


def integer(query: Query, name: str, ctx: Context, default: int | None = None) -> int | None:
    value = query.get(name)
    if value in (None, ""):
        return default
    if not value.isdigit():
        raise error(10001, f"Parameter {name} is invalid", ctx)
    return int(value)


def category(query: Query, ctx: Context, default: str | None, allowed: tuple[str, ...]) -> str:
    """The `category` (mandatory when `default` is None), one of `allowed`."""
    value = query.get("category", default)
    if value not in allowed:
        raise error(10001, "Illegal category", ctx)
    return value


def market_symbol(query: Query, ctx: Context, default: str = "linear") -> tuple[str, str]:
    """(category, symbol) of a route that needs a listed symbol."""
    name = category(query, ctx, default, tuple(CATEGORIES))
    symbol = query.get("symbol", "")
    if not catalog.is_listed(symbol, CATEGORIES[name]):
        raise error(10001, "Not supported symbols", ctx)
    return name, symbol


def limit(query: Query, ctx: Context, default: int, maximum: int) -> int:
    value = integer(query, "limit", ctx, default)
    if not 1 <= value <= maximum:
        raise error(10001, "Invalid limit", ctx)
    return value
