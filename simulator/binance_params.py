"""Binance query-parameter parsing, refusing bad input with Binance's own error codes."""

import json
import re

from simulator import catalog, intervals
from simulator.venue import ApiError, Query

_SYMBOL = re.compile(r"^[A-Z0-9\-_.]{1,20}$")
_SYMBOL_RANGE = "^[A-Z0-9-_.]{1,20}$"
_NUMBER = re.compile(r"^[0-9]{1,20}$")
_NUMBER_RANGE = "^[0-9]{1,20}$"
# Binance takes startTime/endTime in ms or µs; nothing in ms reaches this before year 5138.
_MICROS_FROM = 10**14


def error(code: int, msg: str, status: int = 400) -> ApiError:
    return ApiError(status, {"code": code, "msg": msg})


def invalid_symbol() -> ApiError:
    return error(-1121, "Invalid symbol.")


def _mandatory(name: str) -> ApiError:
    return error(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def _illegal(name: str, legal_range: str) -> ApiError:
    return error(
        -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal_range}'."
    )


def _listed(value: str, market: str) -> str:
    if not _SYMBOL.fullmatch(value):
        raise _illegal("symbol", _SYMBOL_RANGE)
    try:
        catalog.listing(value, market)
    except catalog.UnknownSymbolError:
        raise invalid_symbol() from None
    return value


def symbol(query: Query, market: str) -> str:
    """The mandatory `symbol`, listed on market."""
    return named_symbol(query, "symbol", market)


def named_symbol(query: Query, name: str, market: str) -> str:
    """A mandatory symbol parameter under `name` (indexPriceKlines calls it `pair`)."""
    value = query.get(name, "")
    if not value:
        raise _mandatory(name)
    if not _SYMBOL.fullmatch(value):
        raise _illegal(name, _SYMBOL_RANGE)
    return _listed(value, market)


def optional_symbols(query: Query, market: str) -> list[str]:
    """`symbol=` or `symbols=["A","B"]` (exchangeInfo); every listed symbol if neither."""
    if query.get("symbol"):
        return [_listed(query["symbol"], market)]
    raw = query.get("symbols")
    if not raw:
        return catalog.symbols(market)
    try:
        names = json.loads(raw)
    except ValueError:
        names = None
    if not isinstance(names, list) or not names or not all(isinstance(x, str) for x in names):
        raise _illegal("symbols", '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$')
    return [_listed(name, market) for name in names]


def interval(query: Query, market: str) -> str:
    """The mandatory, case-sensitive `interval`; USD-M has no 1s candles."""
    value = query.get("interval", "")
    if not value:
        raise _mandatory("interval")
    if not intervals.is_interval(value) or (market == catalog.USDM and value == "1s"):
        raise error(-1120, "Invalid interval.")
    return value


def integer(query: Query, name: str) -> int | None:
    """An optional non-negative integer parameter such as fromId."""
    value = query.get(name)
    if value is None or value == "":
        return None
    if not _NUMBER.fullmatch(value):
        raise _illegal(name, _NUMBER_RANGE)
    return int(value)


def time_ms(query: Query, name: str) -> int | None:
    """startTime/endTime in ms; a µs value (16 digits) is converted."""
    value = integer(query, name)
    if value is not None and value >= _MICROS_FROM:
        value //= 1000
    return value


def limit(query: Query, default: int, maximum: int) -> int:
    """`limit`; outside [1, maximum] is refused (-1130) rather than silently capped."""
    value = integer(query, "limit")
    if value is None:
        return default
    if not 1 <= value <= maximum:
        raise error(-1130, "Data sent for parameter 'limit' is not valid.")
    return value


def raw_limit(query: Query, default: int) -> int:
    """`limit` as sent, for pricing a request before it is validated; default if unreadable."""
    value = query.get("limit", "")
    return int(value) if _NUMBER.fullmatch(value) else default
