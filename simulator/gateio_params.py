"""Gate.io API v4 request parsing: seconds, `BASE_QUOTE` names, `{"label","message"}` errors
with HTTP 400, and the candle window rules shared by every candlestick-like route (`limit`
may not be combined with from/to; only the latest 10,000 points are served)."""

from collections.abc import Callable

from simulator import catalog, intervals
from simulator.catalog import SPOT
from simulator.venue import ApiError, Context, Query

CANDLE_REACH = 10_000
INTERVALS = {
    "1m": "1m",
    "5m": "5m",
    "15m": "15m",
    "30m": "30m",
    "1h": "1h",
    "4h": "4h",
    "8h": "8h",
    "1d": "1d",
    "7d": "1w",
    "30d": "1M",
}


def error(label: str, message: str) -> ApiError:
    return ApiError(400, {"label": label, "message": message})


def integer(query: Query, name: str, default: int | None = None) -> int | None:
    value = query.get(name)
    if value in (None, ""):
        return default
    if not value.lstrip("-").isdigit():
        raise error("INVALID_PARAM_VALUE", f"Invalid {name}: {value}")
    return int(value)


def symbol(query: Query, name: str, market: str) -> str:
    """The symbol (BTCUSDT) of a `BTC_USDT` parameter listed on market."""
    raw = query.get(name, "")
    found = raw.replace("_", "")
    if raw.count("_") != 1 or not catalog.is_listed(found, market):
        if market == SPOT:
            raise error("INVALID_CURRENCY_PAIR", f"Invalid currency pair {raw}")
        raise error("CONTRACT_NOT_FOUND", f"Contract {raw} not found")
    return found


def candle_span(
    query: Query,
    ctx: Context,
    first_index: Callable[[str], int],
    last_index: Callable[[str], int],
    cap: int,
    default_interval: str,
) -> tuple[str, int, int]:
    """(interval, first, stop) of the candles a request asks for.

    first_index/last_index give, per interval, the series' first candle and its newest one
    that exists now. Refused: `limit` with from/to, a window starting 10,000 or more
    intervals before now, more than `cap` points.
    """
    interval = INTERVALS.get(query.get("interval", default_interval))
    if interval is None:
        raise error("INVALID_PARAM_VALUE", f"Invalid interval {query.get('interval')}")
    start, end, limit = integer(query, "from"), integer(query, "to"), integer(query, "limit")
    if limit is not None and (start is not None or end is not None):
        raise error("INVALID_PARAM_VALUE", "limit cannot be used with from/to")
    now_index = intervals.floor_index(interval, ctx.now_ms)
    hi = last_index(interval)
    if end is not None:
        hi = min(hi, intervals.floor_index(interval, end * 1000))
    if start is None:
        first = hi + 1 - (limit or 100)
    else:
        first = intervals.ceil_index(interval, start * 1000)
    if first <= now_index - CANDLE_REACH:
        raise error(
            "INVALID_PARAM_VALUE", "Candlestick too long ago. Maximum 10000 points ago are allowed"
        )
    if hi - first + 1 > cap:
        raise error("INVALID_PARAM_VALUE", f"Too many points requested: maximum {cap}")
    first = max(first, first_index(interval))
    return interval, first, max(first, hi + 1)
