"""Binance spot (klines, aggTrades) and USD-M futures (klines, aggTrades, funding, mark/index/
premium index price klines, open interest history) over REST.

Paths, page sizes, weights and budgets are the capability table's (binance_capabilities.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from storage.errors import DataError, PermanentError, RateLimited
from storage.schemas import SCHEMAS
from storage.shards import Shard
from workers.capabilities import Capabilities, Rest
from workers.exchanges import jsoncsv
from workers.exchanges.base import (
    Page,
    PageRequest,
    Usage,
    check_http,
    load_json,
    retry_after_s,
)
from workers.exchanges.binance_archive import BinanceArchive
from workers.exchanges.binance_capabilities import BINANCE
from workers.exchanges.venues import BASE_URLS, RATE_LIMITS

HOUR_MS = 3_600_000
MINUTE_MS = 60_000
INTERVAL_MS = {
    "1s": 1_000,
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": HOUR_MS,
    "2h": 2 * HOUR_MS,
    "4h": 4 * HOUR_MS,
    "6h": 6 * HOUR_MS,
    "8h": 8 * HOUR_MS,
    "12h": 12 * HOUR_MS,
    "1d": 24 * HOUR_MS,
    "3d": 72 * HOUR_MS,
    "1w": 168 * HOUR_MS,
    "1M": 28 * 24 * HOUR_MS,  # the shortest month: never fewer candles per page than planned
}
AGGTRADE_PAGE = 1000
OPEN_INTEREST_PERIOD = "5m"
#: `X-MBX-USED-WEIGHT-(intervalNum)(intervalLetter)`: the IP's weight used on this host
USED_WEIGHT = re.compile(r"x-mbx-used-weight-(\d+)([smhd])", re.IGNORECASE)
UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: the weight budget each endpoint group's answers report (funding has its own request count)
WEIGHT_GROUP = {"spot": "spot", "usdm": "usdm", "usdm_funding": "usdm"}
_OPEN_INTEREST_TYPE = pa.struct(
    [("sumOpenInterest", pa.string()), ("sumOpenInterestValue", pa.string())]
)

_AGG_TYPE = pa.struct(
    [
        ("a", pa.int64()),
        ("p", pa.string()),
        ("q", pa.string()),
        ("f", pa.int64()),
        ("l", pa.int64()),
        ("T", pa.int64()),
        ("m", pa.bool_()),
    ]
)
_I64, _F64 = pa.int64(), pa.float64()
#: klines rows as Binance sends them (spot and USD-M), for the jsoncsv fast path
KLINE_ROWS = jsoncsv.array_rows(
    ("open_time", _I64),
    *((name, _F64) for name in ("open", "high", "low", "close", "volume")),
    ("close_time", _I64),
    ("quote_volume", _F64),
    ("trades", _I64),
    ("taker_buy_base", _F64),
    ("taker_buy_quote", _F64),
    ("ignore", None),
    quoted={"open", "high", "low", "close", "volume", "quote_volume", "taker_buy_base"}
    | {"taker_buy_quote", "ignore"},
)
_AGG_FIELDS = (
    ("a", _I64),
    ("p", _F64),
    ("q", _F64),
    ("f", _I64),
    ("l", _I64),
    ("T", _I64),
    ("m", pa.bool_()),
)
#: aggTrades rows per market: spot's carry "M" (best match), USD-M's do not
AGGTRADE_ROWS = {
    "spot": jsoncsv.object_rows(*_AGG_FIELDS, ("M", None), quoted={"p", "q"}),
    "usdm": jsoncsv.object_rows(*_AGG_FIELDS, quoted={"p", "q"}),
}
_FUNDING_TYPE = pa.struct(
    [("fundingTime", pa.int64()), ("fundingRate", pa.string()), ("markPrice", pa.string())]
)


def _decimals(values: pa.Array) -> pa.Array:
    """Decimal strings to float64 in one vectorised cast; '' (no value) becomes null, and
    spaces around a number are dropped (the docs' price klines show a volume of "0 ")."""
    strings = pc.utf8_trim_whitespace(pc.cast(values, pa.string()))
    return pc.cast(pc.if_else(pc.equal(strings, ""), None, strings), pa.float64())


_MS = pa.timestamp("ms", tz="UTC")


def _ms(values: pa.Array) -> pa.Array:
    """Epoch milliseconds to timestamps: int64 columns are reinterpreted in place (the same
    values, no copy), anything else cast."""
    if values.type == _I64:
        return values.view(_MS)
    return pc.cast(pc.cast(values, _I64), _MS)


def _int64s(values: pa.Array) -> np.ndarray:
    """An int64 array without nulls as numpy, read in place (`to_numpy` costs ~40 µs a call,
    as much as the rest of a page's bookkeeping)."""
    return np.frombuffer(values.buffers()[1], np.int64, len(values), values.offset * 8)


def _no_nulls(values: pa.Array, what: str, body: bytes) -> None:
    """A row without its open time or trade id cannot be ordered, placed in its shard or
    checked for gaps: the page is refused, whichever parser read it."""
    if values.null_count:
        at = values.to_pylist().index(None)
        raise DataError(f"binance: row {at} has a null {what}: {body[:120]!r}")


class Binance:
    name: ClassVar[str] = "binance"
    base_urls: ClassVar[dict[str, str]] = BASE_URLS["binance"]
    rate_limits: ClassVar[dict[str, str]] = RATE_LIMITS["binance"]
    #: every market as declared; an instance holds them as configured (no archive URL:
    #: no archive)
    capabilities: Capabilities = BINANCE
    trade_ids: ClassVar[str] = "contiguous"

    def __init__(self, urls: Mapping[str, str]) -> None:
        self.urls = dict(urls)
        self.archive = BinanceArchive(self.urls["archive"]) if "archive" in self.urls else None
        self.capabilities = BINANCE if self.archive else BINANCE.without_archive()

    def _rest(self, market: str, dtype: str) -> Rest:
        cap = self.capabilities.market(market).capability(dtype, "1m")
        assert cap is not None and cap.rest is not None, (market, dtype)
        return cap.rest

    def _request(self, market: str, rest: Rest, params: dict, **kw) -> PageRequest:
        query = tuple((k, str(v)) for k, v in params.items())
        return PageRequest(self.urls[market] + rest.path, query, rest.group, rest.weight, **kw)

    # -- planning -----------------------------------------------------------------------
    def requests(
        self, shard: Shard, until_ms: int, start_ms: int | None = None
    ) -> list[PageRequest]:
        start, market = shard.start_ms if start_ms is None else start_ms, shard.market
        rest = self._rest(market, shard.dtype)
        if shard.kind.interval:  # klines and the mark, index and premium index klines
            step = rest.page * INTERVAL_MS[shard.interval]
            key = "pair" if shard.dtype == "indexklines" else "symbol"
            return [
                self._request(
                    market,
                    rest,
                    {
                        key: shard.symbol,
                        "interval": shard.interval,
                        "startTime": t,
                        "endTime": min(t + step, until_ms) - 1,
                        "limit": rest.page,
                    },
                )
                for t in range(start, until_ms, step)
            ]
        if shard.dtype == "aggtrades":
            # One chain per hour (USD-M refuses wider start/end windows); inside an hour the
            # chain walks fromId, which never splits trades that share a millisecond.
            return [
                self._request(
                    market,
                    rest,
                    {
                        "symbol": shard.symbol,
                        "startTime": t,
                        "endTime": min(t + HOUR_MS, until_ms) - 1,
                        "limit": rest.page,
                    },
                    until_ms=min(t + HOUR_MS, until_ms),
                )
                for t in range(start, until_ms, HOUR_MS)
            ]
        if shard.dtype == "openinterest":
            step = rest.page * INTERVAL_MS[OPEN_INTEREST_PERIOD]
            return [
                self._request(
                    market,
                    rest,
                    {
                        "symbol": shard.symbol,
                        "period": OPEN_INTEREST_PERIOD,
                        "startTime": t,
                        "endTime": min(t + step, until_ms) - 1,
                        "limit": rest.page,
                    },
                    until_ms=min(t + step, until_ms),
                )
                for t in range(start, until_ms, step)
            ]
        return [self._funding_request(shard.symbol, start, until_ms)]

    def _funding_request(self, symbol: str, start_ms: int, until_ms: int) -> PageRequest:
        rest = self._rest("usdm", "funding")
        params = {"symbol": symbol, "startTime": start_ms, "endTime": until_ms - 1}
        params["limit"] = rest.page
        return self._request("usdm", rest, params, until_ms=until_ms)

    def listing_request(self, market: str, dtype: str, symbol: str) -> PageRequest:
        """Funding's first row; for every other type the market's first 1m candle (the
        perpetual's own series begin with its listing)."""
        if dtype == "funding":
            return self._funding_request(symbol, 0, 2**62)
        # startTime=0 answers with the first candle after listing: the symbol's first data.
        params = {"symbol": symbol, "interval": "1m", "startTime": 0, "limit": 1}
        return self._request(market, self._rest(market, "klines"), params)

    # -- parsing ------------------------------------------------------------------------
    def parse(self, body: bytes, request: PageRequest, shard: Shard) -> Page:
        """Klines and aggTrades pages go through `jsoncsv` (no Python object per row); a body
        it does not take, and funding, are parsed by the reference parser below."""
        if shard.kind.interval:  # klines, and the price klines in the same rows
            raw = jsoncsv.read(body, KLINE_ROWS)
            if raw is not None:
                _no_nulls(raw.column("open_time"), "open time", body)
                return Page(_cast_to(raw, SCHEMAS["klines"]))
        elif shard.dtype == "aggtrades":
            raw = jsoncsv.read(body, AGGTRADE_ROWS[shard.market])
            if raw is not None:
                return self._aggtrades(raw, request, body)
        return self.parse_json(body, request, shard)

    def parse_json(self, body: bytes, request: PageRequest, shard: Shard) -> Page:
        """The reference parser: `json.loads`, then Arrow arrays from the Python rows."""
        rows = load_json(body)
        if not isinstance(rows, list):
            self.check(200, {}, body)
            raise PermanentError(f"binance: expected a list, got {body[:120]!r}")
        try:
            if shard.kind.interval:
                return Page(self._klines(rows, body))
            if shard.dtype == "aggtrades":
                return self._aggtrades(_aggtrade_columns(rows), request, body)
            if shard.dtype == "openinterest":
                return Page(_open_interest(rows, request))
            return self._funding(rows, request, shard)
        except (pa.ArrowException, TypeError, ValueError, KeyError, IndexError) as exc:
            raise PermanentError(
                f"binance: {shard.dtype} rows of an unexpected shape ({exc}): {body[:120]!r}"
            ) from None

    def _klines(self, rows: list, body: bytes) -> pa.RecordBatch:
        """`[[1706630400000,"43519.34","43936.00","43171.00","43488.71","20.55",1706633999999,
        "891428.42",3743,"10.91","473782.95","0"]]` — twelve columns, oldest first. Mark,
        index and premium index klines come in the same rows with "0" volumes (stored null,
        as their capability says) and a sample count where klines count trades:
        `[[1591256460000,"9653.29201333","9654.56401333","9653.07367333","9653.07367333",
        "0 ",1591256519999,"0",60,"0","0","0"]]` (the docs' "0 " and all)."""
        schema = SCHEMAS["klines"]
        if not rows:
            return _empty(schema)
        cols = [pa.array(c) for c in zip(*rows, strict=False)]
        _no_nulls(cols[0], "open time", body)
        arrays = [
            _ms(cols[0]),
            *(_decimals(cols[i]) for i in range(1, 6)),
            _ms(cols[6]),
            _decimals(cols[7]),
            pc.cast(cols[8], pa.int64()),
            _decimals(cols[9]),
            _decimals(cols[10]),
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    def _aggtrades(self, raw: pa.RecordBatch, request: PageRequest, body: bytes) -> Page:
        """`[{"a":26129,"p":"0.01633102","q":"4.70443515","f":27781,"l":27781,
        "T":1498793709153,"m":true,"M":true}]` — oldest first; USD-M has no "M". `raw` holds
        the fields a, p, q, f, l, T, m typed (prices as float64), in the page's order."""
        schema = SCHEMAS["aggtrades"]
        if not raw.num_rows:
            return Page(_empty(schema))
        _no_nulls(raw.column("a"), "trade id", body)
        _no_nulls(raw.column("T"), "trade time", body)
        times = _int64s(raw.column("T"))
        last_id, last_time = raw.column("a")[-1].as_py(), int(times[-1])
        # Most pages lie wholly inside their window: then filtering would only copy them.
        inside = int(times.max()) < request.until_ms
        kept = raw if inside else raw.filter(pa.array(times < request.until_ms))
        batch = pa.RecordBatch.from_arrays(
            [*kept.columns[:5], _ms(kept.column("T")), kept.column("m")], schema=schema
        )
        nxt = None
        if raw.num_rows >= AGGTRADE_PAGE and last_time < request.until_ms:
            params = {"symbol": dict(request.params)["symbol"], "fromId": last_id + 1}
            params["limit"] = AGGTRADE_PAGE
            nxt = PageRequest(
                request.url,
                tuple((k, str(v)) for k, v in params.items()),
                request.group,
                request.weight,
                request.until_ms,
            )
        return Page(batch, nxt)

    def _funding(self, rows: list, request: PageRequest, shard: Shard) -> Page:
        """`[{"symbol":"BTCUSDT","fundingRate":"-0.03750000","fundingTime":1570608000000,
        "markPrice":"34287.54619963"}]` — ascending; markPrice may be ""."""
        schema = SCHEMAS["funding"]
        if not rows:
            return Page(_empty(schema))
        raw = pa.array(rows, type=_FUNDING_TYPE)
        batch = pa.RecordBatch.from_arrays(
            [
                _ms(raw.field("fundingTime")),
                _decimals(raw.field("fundingRate")),
                _decimals(raw.field("markPrice")),
            ],
            schema=schema,
        )
        nxt = None
        last_ms = rows[-1]["fundingTime"]
        if len(rows) >= self._rest("usdm", "funding").page and last_ms + 1 < request.until_ms:
            nxt = self._funding_request(shard.symbol, last_ms + 1, request.until_ms)
        return Page(batch, nxt)

    def parse_listing(self, body: bytes, dtype: str) -> int | None:
        rows = load_json(body)
        if not isinstance(rows, list):
            raise PermanentError(f"binance: unexpected listing answer {body[:120]!r}")
        if not rows:
            return None
        first = rows[0]
        return int(first["fundingTime"] if dtype == "funding" else first[0])

    # -- errors -------------------------------------------------------------------------
    def check(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        """`{"code":-1121,"msg":"Invalid symbol."}` with HTTP 400; 429/418 carry Retry-After;
        403 is Binance's firewall saying we were too fast."""
        if status < 400:
            return
        code, msg = _error_body(body)
        if code == -1003 or status == 403:
            raise RateLimited(
                f"binance: {msg or 'blocked'} (HTTP {status})",
                retry_after_s=retry_after_s(headers, 60.0),
                status=status,
            )
        generic = check_http(status, headers, body)
        if code is None or status in (418, 429) or status >= 500:
            raise generic
        raise PermanentError(f"binance: {msg} (code {code})", status=status, code=code)

    def usage(self, request: PageRequest, headers: Mapping[str, str]) -> Usage | None:
        """`X-MBX-USED-WEIGHT-1M: 1234` on every answer, 429s included."""
        group = WEIGHT_GROUP.get(request.group)
        for name, value in headers.items() if group else ():
            match = USED_WEIGHT.fullmatch(name)
            if match and value.isdigit():
                window_s = int(match[1]) * UNIT_S[match[2].lower()]
                return Usage(group, int(value), window_s)
        return None


def _error_body(body: bytes) -> tuple[int | None, str | None]:
    try:
        error = json.loads(body)
        return int(error["code"]), str(error["msg"])
    except (TypeError, KeyError, ValueError):
        return None, None


def _open_interest(rows: list, request: PageRequest) -> pa.RecordBatch:
    """`[{"symbol":"BTCUSDT","sumOpenInterest":"20403.63700000","sumOpenInterestValue":
    "150570784.07809979","timestamp":"1583127900000"}]` — oldest first; `timestamp` is a
    string in the docs' example and may be a number: read either."""
    schema = SCHEMAS["openinterest"]
    if not rows:
        return _empty(schema)
    raw = pa.array(rows, type=_OPEN_INTEREST_TYPE)
    times = pa.array([int(r["timestamp"]) for r in rows], pa.int64())
    batch = pa.RecordBatch.from_arrays(
        [
            _ms(times),
            _decimals(raw.field("sumOpenInterest")),
            _decimals(raw.field("sumOpenInterestValue")),
        ],
        schema=schema,
    )
    start_ms = int(dict(request.params)["startTime"])
    keep = pc.and_(pc.greater_equal(times, start_ms), pc.less(times, request.until_ms))
    return batch.filter(keep)


def _aggtrade_columns(rows: list) -> pa.RecordBatch:
    raw = pa.array(rows, type=_AGG_TYPE)
    return pa.RecordBatch.from_arrays(
        [
            raw.field("a"),
            _decimals(raw.field("p")),
            _decimals(raw.field("q")),
            raw.field("f"),
            raw.field("l"),
            raw.field("T"),
            raw.field("m"),
        ],
        names=["a", "p", "q", "f", "l", "T", "m"],
    )


def _cast_to(raw: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """The schema's columns by name from a batch of the same columns with times as int64 ms."""
    columns = [raw.column(f.name) for f in schema]
    return pa.RecordBatch.from_arrays(
        [c if c.type == f.type else c.cast(f.type) for c, f in zip(columns, schema, strict=True)],
        schema=schema,
    )


def _empty(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=schema)
