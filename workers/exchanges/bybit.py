"""Bybit v5: spot and linear klines, linear funding history, mark/index/premium index klines and
open interest, over REST.

Quirks kept here: `category` on every request, interval names `1 … 720 D W M`, pages that
come newest first, a funding page cap of 200, errors inside HTTP 200 bodies (`retCode`),
and HTTP 403 for a rate-limit breach, after which the IP must wait about ten minutes.
Trades: REST serves only the latest 1,000, so history comes from Bybit's public trade
archive (bybit_archive.py), closed days only; the capability table says so and the plan
skips what the archive cannot have yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from storage.errors import ExchangeUnavailable, PermanentError, RateLimited
from storage.schemas import SCHEMAS
from storage.shards import Shard
from workers.capabilities import Capabilities, Rest
from workers.exchanges import columns as col
from workers.exchanges.base import Page, PageRequest, Usage, check_http, load_json
from workers.exchanges.bybit_archive import BybitArchive
from workers.exchanges.bybit_capabilities import BYBIT, FIVE_MINUTES_MS
from workers.exchanges.columns import INTERVAL_MS
from workers.exchanges.venues import BASE_URLS, RATE_LIMITS
from workers.sourceplan import capability_of

INTERVALS = {
    "1m": "1",
    "3m": "3",
    "5m": "5",
    "15m": "15",
    "30m": "30",
    "1h": "60",
    "2h": "120",
    "4h": "240",
    "6h": "360",
    "12h": "720",
    "1d": "D",
    "1w": "W",
    "1M": "M",
}
FUNDING_PAGE = 200
OPEN_INTEREST_INTERVAL, OPEN_INTEREST_STEP_MS = "5min", FIVE_MINUTES_MS
FUNDING_WINDOW_MS = 8 * 24 * 3_600_000
BAN_S = 600.0  # "wait at least 10 minutes" after an HTTP 403
RATE_CODES = {10006, 10018}  # too many visits (per UID / per IP)
TRANSIENT_CODES = {10000, 10016}  # server timeout, server error

_FUNDING_TYPE = pa.struct([("fundingRate", pa.string()), ("fundingRateTimestamp", pa.string())])
_OPEN_INTEREST_TYPE = pa.struct([("openInterest", pa.string()), ("timestamp", pa.string())])


class Bybit:
    name: ClassVar[str] = "bybit"
    base_urls: ClassVar[dict[str, str]] = BASE_URLS["bybit"]
    rate_limits: ClassVar[dict[str, str]] = RATE_LIMITS["bybit"]
    #: every market as declared; an instance holds them as configured (no archive URL:
    #: no archive)
    capabilities: Capabilities = BYBIT
    trade_ids: ClassVar[str] = "sparse"  # archive trade ids restart every day

    def __init__(self, urls: Mapping[str, str]) -> None:
        self.url = dict(urls)[""]
        self.archive = BybitArchive(urls["archive"]) if "archive" in urls else None
        self.capabilities = BYBIT if self.archive else BYBIT.without_archive()

    def _get(self, path: str, params: dict, **kw) -> PageRequest:
        query = tuple((k, str(v)) for k, v in params.items())
        return PageRequest(self.url + path, query, "ip", 1, **kw)

    def _rest(self, shard: Shard) -> Rest:
        rest = capability_of(shard, self.capabilities.market(shard.market)).rest
        assert rest is not None
        return rest

    # -- planning -----------------------------------------------------------------------
    def requests(
        self, shard: Shard, until_ms: int, start_ms: int | None = None
    ) -> list[PageRequest]:
        start = shard.start_ms if start_ms is None else start_ms
        if shard.kind.interval:  # klines and the mark, index and premium index klines
            rest = self._rest(shard)
            step = rest.page * INTERVAL_MS[shard.interval]
            # start and end are inclusive: end one ms before the next window's first open.
            return [
                self._get(
                    rest.path,
                    {
                        "category": shard.market,
                        "symbol": shard.symbol,
                        "interval": INTERVALS[shard.interval],
                        "start": t,
                        "end": min(t + step, until_ms) - 1,
                        "limit": rest.page,
                    },
                    until_ms=min(t + step, until_ms),
                )
                for t in range(start, until_ms, step)
            ]
        if shard.dtype == "openinterest":
            rest = self._rest(shard)
            step = rest.page * OPEN_INTEREST_STEP_MS
            return [
                self._open_interest_request(shard, t, min(t + step, until_ms))
                for t in range(start, until_ms, step)
            ]
        if shard.dtype == "funding":
            # Windows of 8 days hold at most 192 hourly fundings, under the page cap of 200,
            # so no answer depends on which end of a larger window Bybit would cut.
            return [
                self._funding_request(shard, t, min(t + FUNDING_WINDOW_MS, until_ms))
                for t in range(start, until_ms, FUNDING_WINDOW_MS)
            ]
        raise PermanentError("bybit: trade history is not served over REST (its capabilities)")

    def _funding_request(self, shard: Shard, start_ms: int, until_ms: int) -> PageRequest:
        params = {"category": shard.market, "symbol": shard.symbol, "startTime": start_ms}
        params |= {"endTime": until_ms - 1, "limit": FUNDING_PAGE}
        return self._get("/v5/market/funding/history", params, until_ms=until_ms, descending=True)

    def _open_interest_request(
        self, shard: Shard, start_ms: int, until_ms: int, cursor: str = ""
    ) -> PageRequest:
        """Snapshots in [start_ms, until_ms), newest first; `cursor` continues to older ones."""
        params = {"category": shard.market, "symbol": shard.symbol}
        params |= {"intervalTime": OPEN_INTEREST_INTERVAL, "startTime": start_ms}
        params |= {"endTime": until_ms - 1, "limit": self._rest(shard).page}
        if cursor:
            params["cursor"] = cursor
        path = self._rest(shard).path
        return self._get(path, params, until_ms=until_ms, descending=True)

    def listing_request(self, market: str, dtype: str, symbol: str) -> PageRequest:
        # Monthly candles without bounds: the latest 200 months, i.e. all since listing.
        params = {"category": market, "symbol": symbol, "interval": "M", "limit": 200}
        return self._get("/v5/market/kline", params)

    # -- parsing ------------------------------------------------------------------------
    def parse(self, body: bytes, request: PageRequest, shard: Shard) -> Page:
        """The json parser: Bybit's 200-row pages spend their time after the parse (sorting
        newest-first rows, windows), so jsoncsv does not pay here (bench/parse.py)."""
        return self.parse_json(body, request, shard)

    def parse_json(self, body: bytes, request: PageRequest, shard: Shard) -> Page:
        """The reference parser: `json.loads`, then Arrow arrays from the Python rows."""
        result = _result(load_json(body), body)
        rows = result.get("list") or []
        try:
            if shard.kind.interval:
                cols = [pa.array(c) for c in zip(*rows, strict=False)]
                return Page(self._klines(cols, request, shard))
            if shard.dtype == "openinterest":
                return self._open_interest(rows, result.get("nextPageCursor") or "", request, shard)
            return self._funding(rows, request, shard)
        except (pa.ArrowException, TypeError, ValueError, KeyError, IndexError) as exc:
            raise PermanentError(
                f"bybit: {shard.dtype} rows of an unexpected shape ({exc}): {body[:120]!r}"
            ) from None

    def _klines(self, cols: list, request: PageRequest, shard: Shard) -> pa.RecordBatch:
        """`{"retCode":0,"retMsg":"OK","result":{"symbol":"BTCUSD","category":"inverse",
        "list":[["1670608800000","17071","17073","17027","17055.5","268611","15.74462667"]]},
        "retExtInfo":{},"time":1672025956592}` — start (ms), open, high, low, close, volume,
        turnover, all strings, newest first. For spot and linear, volume is in base and
        turnover in quote. Mark, index and premium index klines have the first five only:
        `"list":[["1670608800000","17164.16","17164.16","17121.5","17131.64"]]`.
        `cols` are the columns, Python-built."""
        schema = SCHEMAS[shard.dtype]
        if not cols or not len(cols[0]):
            return col.empty(schema)
        n = len(cols[0])
        opens = col.epoch_ms(cols[0])
        sized = len(cols) >= 7
        batch = pa.RecordBatch.from_arrays(
            [
                opens,
                *(col.decimals(cols[i]) for i in range(1, 5)),
                col.decimals(cols[5]) if sized else pa.nulls(n, pa.float64()),
                col.close_times(pc.cast(opens, pa.int64()), shard.interval),
                col.decimals(cols[6]) if sized else pa.nulls(n, pa.float64()),
                pa.nulls(n, pa.int64()),
                pa.nulls(n, pa.float64()),
                pa.nulls(n, pa.float64()),
            ],
            schema=schema,
        )
        batch = col.sort_batch(batch, "open_time")
        return col.window_filter(batch, "open_time", shard.start_ms, request.until_ms)

    def _funding(self, rows: list, request: PageRequest, shard: Shard) -> Page:
        """`{"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[{"symbol":
        "ETHPERP","fundingRate":"0.0001","fundingRateTimestamp":"1672041600000"}]},
        "retExtInfo":{},"time":1672051897447}` — newest first, strings; no mark price.
        A full page continues with endTime just before its oldest row."""
        schema = SCHEMAS["funding"]
        if not rows:
            return Page(col.empty(schema))
        raw = pa.array(rows, type=_FUNDING_TYPE)
        times = col.epoch_ms(raw.field("fundingRateTimestamp"))
        batch = pa.RecordBatch.from_arrays(
            [times, col.decimals(raw.field("fundingRate")), pa.nulls(len(rows), pa.float64())],
            schema=schema,
        )
        batch = col.sort_batch(batch, "funding_time")
        oldest_ms = pc.min(pc.cast(times, pa.int64())).as_py()
        batch = col.window_filter(batch, "funding_time", shard.start_ms, request.until_ms)
        nxt = None
        window_start = int(dict(request.params)["startTime"])
        if len(rows) >= FUNDING_PAGE and oldest_ms > window_start:
            nxt = self._funding_request(shard, window_start, oldest_ms)
        return Page(batch, nxt)

    def _open_interest(self, rows: list, cursor: str, request: PageRequest, shard: Shard) -> Page:
        """`{"retCode":0,"retMsg":"OK","result":{"symbol":"BTCUSD","category":"inverse","list":
        [{"openInterest":"461134384.00000000","timestamp":"1669571400000"}],"nextPageCursor":
        ""},"retExtInfo":{},"time":1672053548579}` — newest first, strings, no value in quote
        currency; a cursor continues to older snapshots of the window."""
        schema = SCHEMAS["openinterest"]
        if not rows:
            return Page(col.empty(schema))
        raw = pa.array(rows, type=_OPEN_INTEREST_TYPE)
        times = col.epoch_ms(raw.field("timestamp"))
        batch = pa.RecordBatch.from_arrays(
            [times, col.decimals(raw.field("openInterest")), pa.nulls(len(rows), pa.float64())],
            schema=schema,
        )
        batch = col.sort_batch(batch, "time")
        start_ms = int(dict(request.params)["startTime"])
        oldest_ms = pc.min(pc.cast(times, pa.int64())).as_py()
        nxt = None
        if cursor and oldest_ms > start_ms:
            nxt = self._open_interest_request(shard, start_ms, request.until_ms, cursor)
        return Page(col.window_filter(batch, "time", start_ms, request.until_ms), nxt)

    def parse_listing(self, body: bytes, dtype: str) -> int | None:
        rows = _result(load_json(body), body).get("list") or []
        return min(int(row[0]) for row in rows) if rows else None

    # -- errors -------------------------------------------------------------------------
    def check(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        """HTTP 403 "access too frequent" is an IP ban of about ten minutes; otherwise errors
        come with HTTP 200, e.g. `{"retCode":10001,"retMsg":"Not supported symbols",
        "result":{},"retExtInfo":{},"time":1672025956592}`."""
        if status == 200:
            if b'"retCode":0,' not in body[:32]:
                _result(load_json(body), body)
            return
        if status in (403, 418, 429):
            raise RateLimited(
                f"bybit: HTTP {status}, access too frequent; the IP is banned for a while",
                retry_after_s=BAN_S,
                status=status,
            )
        raise check_http(status, headers, body) or ExchangeUnavailable(f"bybit: HTTP {status}")

    def usage(self, request: PageRequest, headers: Mapping[str, str]) -> Usage | None:
        """None: Bybit reports per-UID limits only, on private endpoints."""
        return None


def _result(data: object, body: bytes) -> dict:
    """The `result` of a v5 envelope, or the error its retCode stands for."""
    if not isinstance(data, dict) or "retCode" not in data:
        raise PermanentError(f"bybit: unexpected answer {body[:120]!r}")
    code, msg = data["retCode"], data.get("retMsg", "")
    if code == 0:
        return data.get("result") or {}
    if code in RATE_CODES:
        raise RateLimited(f"bybit: {msg} (retCode {code})", retry_after_s=1.0, status=200)
    if code in TRANSIENT_CODES:
        raise ExchangeUnavailable(f"bybit: {msg} (retCode {code})", status=200)
    raise PermanentError(f"bybit: {msg} (retCode {code})", status=200, code=code)
