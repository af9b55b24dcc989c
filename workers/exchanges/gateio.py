"""Gate.io API v4: spot candlesticks and trades, USDT-futures funding rates, over REST; the
futures' candles, trades, price candles and open interest are gateio_futures.py's.

Quirks kept here: BTC_USDT spelling, times in seconds, strings everywhere, candles as
`[t, quote volume, close, high, low, open, base volume, closed]`, only the latest 10,000
candles per interval (older closed periods come from Gate's candle archive, see
gateio_archive.py), trades paged by `page` inside a from/to window (newest first), and a
200 requests / 10 s budget per endpoint.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from storage.errors import InputError, PermanentError, RateLimited
from storage.schemas import SCHEMAS
from storage.shards import Shard
from workers.capabilities import Capabilities
from workers.exchanges import columns as col
from workers.exchanges import jsoncsv
from workers.exchanges.base import (
    Page,
    PageRequest,
    Usage,
    check_http,
    load_json,
    retry_after_s,
)
from workers.exchanges.columns import HOUR_MS, INTERVAL_MS
from workers.exchanges.gateio_archive import GateArchive
from workers.exchanges.gateio_capabilities import GATEIO
from workers.exchanges.gateio_futures import GateFutures
from workers.exchanges.venues import BASE_URLS, RATE_LIMITS

#: the dataset's interval -> Gate's name (7d opens on Gate's weekly grid, 30d on months)
INTERVALS = {
    "1m": "1m",
    "5m": "5m",
    "15m": "15m",
    "30m": "30m",
    "1h": "1h",
    "4h": "4h",
    "8h": "8h",
    "1d": "1d",
    "1w": "7d",
    "1M": "30d",
}
CANDLE_PAGE = 1000
TRADE_PAGE = 1000
TRADE_MAX_PAGE = 101  # limit × (page − 1) ≤ 100,000
FUNDING_PAGE = 1000
QUOTES = ("USDT", "USDC", "BTC", "ETH", "TRY", "EUR")
# Monthly/weekly candles from 2015 to 2050 answer "since when" in one request.
LISTING_FROM_S, LISTING_TO_S = 1_420_070_400, 2_524_608_000

_TRADE_TYPE = pa.struct(
    [
        ("id", pa.string()),
        ("create_time_ms", pa.string()),
        ("side", pa.string()),
        ("amount", pa.string()),
        ("price", pa.string()),
    ]
)
_TRADE_FIELDS = ["id", "create_time_ms", "side", "amount", "price"]
_FUNDING_TYPE = pa.struct([("t", pa.int64()), ("r", pa.string())])
_I64, _F64 = pa.int64(), pa.float64()
_CANDLE_NUMBERS = ("quote_volume", "close", "high", "low", "open", "volume")
#: spot rows as Gate sends them (every value a string), for the jsoncsv fast path
ROWS = {
    "klines": jsoncsv.array_rows(
        ("t", _I64),
        *((name, _F64) for name in _CANDLE_NUMBERS),
        ("closed", pa.bool_()),
        quoted={"t", *_CANDLE_NUMBERS, "closed"},
    ),
    "aggtrades": jsoncsv.object_rows(
        ("id", _I64),
        ("create_time", None),
        ("create_time_ms", _F64),
        ("currency_pair", None),
        ("side", pa.bool_()),  # the word "sell" read as true, "buy" as false
        ("amount", _F64),
        ("price", _F64),
        ("sequence_id", None),
        quoted={"id", "create_time", "create_time_ms", "currency_pair", "side", "amount"}
        | {"price", "sequence_id"},
        true=("sell",),
        false=("buy",),
    ),
}


def pair(symbol: str) -> str:
    """BTCUSDT -> BTC_USDT."""
    parts = col.split_symbol(symbol, QUOTES)
    if parts is None:
        raise InputError(
            f"gateio: cannot tell the quote currency of {symbol} ({', '.join(QUOTES)})"
        )
    return "_".join(parts)


class GateIo:
    name: ClassVar[str] = "gateio"
    base_urls: ClassVar[dict[str, str]] = BASE_URLS["gateio"]
    rate_limits: ClassVar[dict[str, str]] = RATE_LIMITS["gateio"]
    #: every market as declared; an instance holds them as configured (no archive URL:
    #: no archive)
    capabilities: Capabilities = GATEIO
    trade_ids: ClassVar[str] = "sparse"  # one id sequence for every pair: gaps are normal

    def __init__(self, urls: Mapping[str, str]) -> None:
        self.url = dict(urls)[""]
        self.archive = GateArchive(urls["archive"], pair) if "archive" in urls else None
        self.capabilities = GATEIO if self.archive else GATEIO.without_archive()
        futures = self.capabilities.market("futures")
        self.futures = GateFutures(self.url, futures, INTERVALS, pair)

    def _get(self, path: str, group: str, params: dict, **kw) -> PageRequest:
        query = tuple((k, str(v)) for k, v in params.items())
        return PageRequest(self.url + path, query, group, 1, **kw)

    # -- planning -----------------------------------------------------------------------
    def requests(
        self, shard: Shard, until_ms: int, start_ms: int | None = None
    ) -> list[PageRequest]:
        start = shard.start_ms if start_ms is None else start_ms
        if shard.market == "futures" and shard.dtype != "funding":
            return self.futures.requests(shard, until_ms, start)
        if shard.dtype == "klines":
            step = CANDLE_PAGE * INTERVAL_MS[shard.interval]
            # from and to are inclusive seconds; `limit` may not be sent with them.
            return [
                self._get(
                    "/spot/candlesticks",
                    "spot_candles",
                    {
                        "currency_pair": pair(shard.symbol),
                        "interval": INTERVALS[shard.interval],
                        "from": t // 1000,
                        "to": (min(t + step, until_ms) - 1) // 1000,
                    },
                    until_ms=min(t + step, until_ms),
                )
                for t in range(start, until_ms, step)
            ]
        if shard.dtype == "aggtrades":
            return [
                self._trades_request(shard.symbol, t, min(t + HOUR_MS, until_ms), 1)
                for t in range(start, until_ms, HOUR_MS)
            ]
        return [self._funding_request(shard.symbol, start, until_ms)]

    def _trades_request(self, symbol: str, start_ms: int, until_ms: int, page: int):
        params = {"currency_pair": pair(symbol), "from": start_ms // 1000}
        params |= {"to": (until_ms - 1) // 1000, "limit": TRADE_PAGE, "page": page}
        return self._get("/spot/trades", "spot_trades", params, until_ms=until_ms, descending=True)

    def _funding_request(self, symbol: str, start_ms: int, until_ms: int) -> PageRequest:
        params = {"contract": pair(symbol), "from": start_ms // 1000}
        params |= {"to": (until_ms - 1) // 1000, "limit": FUNDING_PAGE}
        return self._get(
            "/futures/usdt/funding_rate",
            "futures_funding",
            params,
            until_ms=until_ms,
            descending=True,
        )

    def listing_request(self, market: str, dtype: str, symbol: str) -> PageRequest:
        bounds = {"from": LISTING_FROM_S, "to": LISTING_TO_S}
        if market == "futures":
            params = {"contract": pair(symbol), "interval": "7d", **bounds}
            return self._get("/futures/usdt/candlesticks", "futures_candles", params)
        params = {"currency_pair": pair(symbol), "interval": "30d", **bounds}
        return self._get("/spot/candlesticks", "spot_candles", params)

    # -- parsing ------------------------------------------------------------------------
    def parse(self, body: bytes, request: PageRequest, shard: Shard) -> Page:
        """Spot candles and trades through `jsoncsv` where the body has their exact shape;
        everything else through the reference parser; the futures' own series through
        gateio_futures.py."""
        if shard.market == "futures" and shard.dtype != "funding":
            return self.futures.parse(body, request, shard)
        if shard.dtype in ROWS:
            raw = jsoncsv.read(body, ROWS[shard.dtype])
            if raw is not None and shard.dtype == "klines":
                closed = raw.filter(raw.column("closed"))
                return Page(self._klines(closed.columns, request, shard))
            if raw is not None:
                return self._trades(raw, request, shard)
        return self.parse_json(body, request, shard)

    def parse_json(self, body: bytes, request: PageRequest, shard: Shard) -> Page:
        """The reference parser: `json.loads`, then Arrow arrays from the Python rows."""
        if shard.market == "futures" and shard.dtype != "funding":
            return self.futures.parse(body, request, shard)
        rows = load_json(body)
        if not isinstance(rows, list):
            raise PermanentError(f"gateio: expected a list, got {body[:120]!r}")
        try:
            if shard.dtype == "klines":
                closed = [r for r in rows if r[-1] != "false"]
                cols = [pa.array(c) for c in zip(*closed, strict=False)]
                return Page(self._klines(cols, request, shard))
            if shard.dtype == "aggtrades":
                raw = pa.array(rows, type=_TRADE_TYPE)
                fields = [raw.field(name) for name in _TRADE_TYPE.names]
                fields[2] = pc.equal(fields[2], "sell")
                trades = pa.RecordBatch.from_arrays(fields, names=_TRADE_FIELDS)
                return self._trades(trades, request, shard)
            return self._funding(rows, request, shard)
        except (pa.ArrowException, TypeError, ValueError, KeyError, IndexError) as exc:
            raise PermanentError(
                f"gateio: {shard.dtype} rows of an unexpected shape ({exc}): {body[:120]!r}"
            ) from None

    def _klines(self, cols: list, request: PageRequest, shard: Shard) -> pa.RecordBatch:
        """`[["1710327600","992134.61604178","73408.9","73435.8","73236.3","73236.9",
        "13.53020576","false"]]` — t (s), quote volume, close, high, low, open, base volume,
        closed; oldest first. The docs' example omits base volume (7 columns): tolerated,
        volume then null. A candle still open ("false") is dropped before: `cols` are the
        closed candles' columns, Python-built or typed by jsoncsv."""
        schema = SCHEMAS["klines"]
        if not cols or not len(cols[0]):
            return col.empty(schema)
        n = len(cols[0])
        volume = col.decimals(cols[6]) if len(cols) >= 8 else pa.nulls(n, pa.float64())
        batch = pa.RecordBatch.from_arrays(
            [
                col.epoch_ms(cols[0], 1000),
                col.decimals(cols[5]),
                col.decimals(cols[3]),
                col.decimals(cols[4]),
                col.decimals(cols[2]),
                volume,
                col.close_times(pc.multiply(pc.cast(cols[0], pa.int64()), 1000), shard.interval),
                col.decimals(cols[1]),
                pa.nulls(n, pa.int64()),
                pa.nulls(n, pa.float64()),
                pa.nulls(n, pa.float64()),
            ],
            schema=schema,
        )
        batch = col.sort_batch(batch, "open_time")
        return col.window_filter(batch, "open_time", shard.start_ms, request.until_ms)

    def _trades(self, raw: pa.RecordBatch, request: PageRequest, shard: Shard) -> Page:
        """`[{"id":"7835390042","create_time":"1710327648","create_time_ms":
        "1710327648162.035000","currency_pair":"BTC_USDT","side":"buy","amount":"0.00020",
        "price":"73236.4","sequence_id":"29014746"}]` — newest first, all strings; `side` is
        the taker's. One trade per row: agg_id = first_id = last_id = id. `raw` holds id,
        create_time_ms, side (as a bool: true for "sell"), amount and price."""
        schema = SCHEMAS["aggtrades"]
        nxt = None
        if raw.num_rows >= TRADE_PAGE:
            params = dict(request.params)
            page = int(params["page"]) + 1
            if page > TRADE_MAX_PAGE:
                raise PermanentError(f"gateio: over 100,000 trades in one window ({params})")
            start_ms = int(params["from"]) * 1000
            nxt = self._trades_request(shard.symbol, start_ms, request.until_ms, page)
        if not raw.num_rows:
            return Page(col.empty(schema), nxt)
        ids = pc.cast(raw.column("id"), pa.int64())
        ms = np.floor(pc.cast(raw.column("create_time_ms"), pa.float64()).to_numpy())
        batch = pa.RecordBatch.from_arrays(
            [
                ids,
                col.decimals(raw.column("price")),
                col.decimals(raw.column("amount")),
                ids,
                ids,
                col.epoch_ms(pa.array(ms.astype(np.int64))),
                raw.column("side"),
            ],
            schema=schema,
        )
        batch = col.sort_batch(batch, "agg_id")
        return Page(col.window_filter(batch, "time", shard.start_ms, request.until_ms), nxt)

    def _funding(self, rows: list, request: PageRequest, shard: Shard) -> Page:
        """`[{"t":1543968000,"r":"0.000157"}]` — t in seconds, newest first; no mark price.
        A full page continues with `to` just before its oldest row."""
        schema = SCHEMAS["funding"]
        if not rows:
            return Page(col.empty(schema))
        raw = pa.array(rows, type=_FUNDING_TYPE)
        batch = pa.RecordBatch.from_arrays(
            [
                col.epoch_ms(raw.field("t"), 1000),
                col.decimals(raw.field("r")),
                pa.nulls(len(rows), pa.float64()),
            ],
            schema=schema,
        )
        batch = col.sort_batch(batch, "funding_time")
        oldest_ms = pc.min(raw.field("t")).as_py() * 1000
        batch = col.window_filter(batch, "funding_time", shard.start_ms, request.until_ms)
        nxt = None
        if len(rows) >= FUNDING_PAGE and oldest_ms > shard.start_ms:
            nxt = self._funding_request(shard.symbol, shard.start_ms, oldest_ms)
        return Page(batch, nxt)

    def parse_listing(self, body: bytes, dtype: str) -> int | None:
        rows = load_json(body)
        if not isinstance(rows, list):
            raise PermanentError(f"gateio: unexpected listing answer {body[:120]!r}")
        if not rows:
            return None
        # spot rows are arrays, futures rows objects {"t":…, "o":…}; both in seconds
        return min(int(r["t"] if isinstance(r, dict) else r[0]) for r in rows) * 1000

    # -- errors -------------------------------------------------------------------------
    def check(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        """`{"label":"INVALID_CURRENCY_PAIR","message":"Invalid currency pair BTC_USDX"}` with
        HTTP 400; 429 `TOO_MANY_REQUESTS` is per endpoint, and the reset time comes in
        `X-Gate-RateLimit-Reset-Timestamp` (ms)."""
        if status < 400:
            return
        label, message = _error_body(body)
        if status == 429 or label == "TOO_MANY_REQUESTS":
            raise RateLimited(
                f"gateio: {message or 'too many requests'} (HTTP {status})",
                retry_after_s=retry_after_s(headers, _reset_s(headers)),
                status=status,
            )
        generic = check_http(status, headers, body)
        if label is None or status >= 500:
            raise generic
        raise PermanentError(f"gateio: {label}: {message}", status=status)

    def usage(self, request: PageRequest, headers: Mapping[str, str]) -> Usage | None:
        """None: Gate counts requests left per endpoint; its 429 and reset time are what we use."""
        return None


def _reset_s(headers: Mapping[str, str]) -> float:
    """Seconds until the endpoint's window resets; Gate's header is a ms timestamp."""
    try:
        reset_ms = float(headers["X-Gate-RateLimit-Reset-Timestamp"])
    except (KeyError, ValueError):
        return 10.0
    return min(max(reset_ms / 1000 - time.time(), 1.0), 10.0)


def _error_body(body: bytes) -> tuple[str | None, str | None]:
    try:
        error = json.loads(body)
        return str(error["label"]), str(error.get("message", ""))
    except (TypeError, KeyError, ValueError):
        return None, None
