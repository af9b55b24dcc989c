"""MEXC spot v3 (klines, aggTrades) and contract (funding history; klines and their index and
fair price kinds in mexc_contract.py) over REST.

Quirks kept here: `60m`/`1W` interval names and a 500-candle page; aggTrades without ids
(paged by time only, ids synthesised; REST keeps only recent hours, so the plan skips
history); funding paged by page number, newest first, with
errors inside HTTP 200 bodies (`"success":false`).
"""

from __future__ import annotations

import json
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
from workers.exchanges.mexc_capabilities import MEXC
from workers.exchanges.mexc_contract import ContractKlines
from workers.exchanges.venues import BASE_URLS, RATE_LIMITS

#: the dataset's interval -> MEXC spot's name (no 3m, 2h, 6h, 8h, 12h, 3d)
SPOT_INTERVALS = {
    "1m": "1m",
    "5m": "5m",
    "15m": "15m",
    "30m": "30m",
    "1h": "60m",
    "4h": "4h",
    "1d": "1d",
    "1w": "1W",
    "1M": "1M",
}
KLINE_PAGE = 500
AGGTRADE_PAGE = 1000
FUNDING_PAGE = 100  # the docs allow 1000, ccxt says 100: the smaller works either way
QUOTES = ("USDT", "USDC", "USDE", "BTC", "ETH", "EUR", "TRY", "BRL")

_AGG_TYPE = pa.struct(
    [("p", pa.string()), ("q", pa.string()), ("T", pa.int64()), ("m", pa.bool_())]
)
_FUNDING_TYPE = pa.struct([("fundingRate", pa.float64()), ("settleTime", pa.int64())])
_I64, _F64 = pa.int64(), pa.float64()
#: spot rows as MEXC sends them, for the jsoncsv fast path
ROWS = {
    "klines": jsoncsv.array_rows(
        ("open_time", _I64),
        *((name, _F64) for name in ("open", "high", "low", "close", "volume")),
        ("close_time", _I64),
        ("quote_volume", _F64),
        quoted={"open", "high", "low", "close", "volume", "quote_volume"},
    ),
    "aggtrades": jsoncsv.object_rows(
        ("a", None),
        ("f", None),
        ("l", None),
        ("p", _F64),
        ("q", _F64),
        ("T", _I64),
        ("m", pa.bool_()),
        ("M", None),
        quoted={"p", "q"},
    ),
}


def contract_symbol(symbol: str) -> str:
    """BTCUSDT -> BTC_USDT, MEXC contract spelling."""
    pair = col.split_symbol(symbol, QUOTES)
    if pair is None:
        raise InputError(f"mexc: cannot tell the quote currency of {symbol} ({', '.join(QUOTES)})")
    return "_".join(pair)


class Mexc:
    name: ClassVar[str] = "mexc"
    base_urls: ClassVar[dict[str, str]] = BASE_URLS["mexc"]
    rate_limits: ClassVar[dict[str, str]] = RATE_LIMITS["mexc"]
    trade_ids: ClassVar[str] = "none"  # aggTrades ids are null; agg_id is made from the time
    archive: ClassVar[None] = None  # REST only, for now

    capabilities: Capabilities = MEXC

    def __init__(self, urls: Mapping[str, str]) -> None:
        self.urls = dict(urls)
        contract = self.capabilities.market("contract")
        self.contract = ContractKlines(self.urls["contract"], contract, contract_symbol)

    def _spot(self, path: str, group: str, params: dict, **kw) -> PageRequest:
        query = tuple((k, str(v)) for k, v in params.items())
        return PageRequest(self.urls["spot"] + path, query, group, 1, **kw)

    def _funding_request(self, symbol: str, page: int, until_ms: int) -> PageRequest:
        params = (("symbol", symbol), ("page_num", str(page)), ("page_size", str(FUNDING_PAGE)))
        url = self.urls["contract"] + "/api/v1/contract/funding_rate/history"
        return PageRequest(url, params, "contract", 1, until_ms, descending=True)

    # -- planning -----------------------------------------------------------------------
    def requests(
        self, shard: Shard, until_ms: int, start_ms: int | None = None
    ) -> list[PageRequest]:
        start = shard.start_ms if start_ms is None else start_ms
        if shard.market == "contract" and shard.kind.interval:
            return self.contract.requests(shard, until_ms, start)
        if shard.dtype == "klines":
            step = KLINE_PAGE * INTERVAL_MS[shard.interval]
            # endTime is exclusive per ccxt, inclusive per Binance habit: one ms before the
            # next window's first open is right either way.
            return [
                self._spot(
                    "/api/v3/klines",
                    "spot_klines",
                    {
                        "symbol": shard.symbol,
                        "interval": SPOT_INTERVALS[shard.interval],
                        "startTime": t,
                        "endTime": min(t + step, until_ms) - 1,
                        "limit": KLINE_PAGE,
                    },
                    until_ms=min(t + step, until_ms),
                )
                for t in range(start, until_ms, step)
            ]
        if shard.dtype == "aggtrades":
            return [
                self._trades_request(shard.symbol, t, min(t + HOUR_MS, until_ms))
                for t in range(start, until_ms, HOUR_MS)
            ]
        return [self._funding_request(contract_symbol(shard.symbol), 1, until_ms)]

    def _trades_request(self, symbol: str, start_ms: int, until_ms: int) -> PageRequest:
        # MEXC wants both bounds; rows at until_ms (if endTime is inclusive) are dropped.
        params = {"symbol": symbol, "startTime": start_ms, "endTime": until_ms}
        params["limit"] = AGGTRADE_PAGE
        return self._spot("/api/v3/aggTrades", "spot_aggtrades", params, until_ms=until_ms)

    def listing_request(self, market: str, dtype: str, symbol: str) -> PageRequest:
        # Monthly candles without bounds: the latest 500 months, i.e. all of them since listing.
        if market == "contract":
            url = self.urls["contract"] + f"/api/v1/contract/kline/{contract_symbol(symbol)}"
            return PageRequest(url, (("interval", "Month1"),), "contract", 1)
        params = {"symbol": symbol, "interval": "1M", "limit": KLINE_PAGE}
        return self._spot("/api/v3/klines", "spot_klines", params)

    # -- parsing ------------------------------------------------------------------------
    def parse(self, body: bytes, request: PageRequest, shard: Shard) -> Page:
        """Spot klines and aggTrades through `jsoncsv` where the body has their exact shape;
        everything else through the reference parser."""
        if shard.dtype in ROWS and shard.market == "spot":
            raw = jsoncsv.read(body, ROWS[shard.dtype])
            if raw is not None and shard.dtype == "klines":
                return Page(self._klines(raw.columns, request, shard))
            if raw is not None:
                return self._aggtrades(raw, request, shard)
        return self.parse_json(body, request, shard)

    def parse_json(self, body: bytes, request: PageRequest, shard: Shard) -> Page:
        """The reference parser: `json.loads`, then Arrow arrays from the Python rows."""
        data = load_json(body)
        if shard.dtype == "funding":
            return self._funding(_contract_data(data, body), request, shard)
        if shard.market == "contract":
            return self.contract.parse(_contract_data(data, body), request, shard)
        if not isinstance(data, list):
            raise PermanentError(f"mexc: expected a list, got {body[:120]!r}")
        try:
            if shard.dtype == "klines":
                cols = [pa.array(c) for c in zip(*data, strict=False)]
                return Page(self._klines(cols, request, shard))
            raw = pa.RecordBatch.from_struct_array(pa.array(data, type=_AGG_TYPE))
            return self._aggtrades(raw, request, shard)
        except (pa.ArrowException, TypeError, ValueError, KeyError, IndexError) as exc:
            raise PermanentError(
                f"mexc: {shard.dtype} rows of an unexpected shape ({exc}): {body[:120]!r}"
            ) from None

    def _klines(self, cols: list, request: PageRequest, shard: Shard) -> pa.RecordBatch:
        """`[[1640804880000,"47482.36","47482.36","47416.57","47436.1","3.550717",
        1640804940000,"168387.3"]]` — eight columns, oldest first; closeTime is the next open
        (stored as next open − 1 ms, like every exchange); no trade count or taker volume.
        `cols` are the eight columns, as Python-built arrays or typed by jsoncsv."""
        schema = SCHEMAS["klines"]
        if not cols or not len(cols[0]):
            return col.empty(schema)
        n = len(cols[0])
        batch = pa.RecordBatch.from_arrays(
            [
                col.epoch_ms(cols[0]),
                *(col.decimals(cols[i]) for i in range(1, 6)),
                col.close_times(cols[0], shard.interval),
                col.decimals(cols[7]),
                pa.nulls(n, pa.int64()),
                pa.nulls(n, pa.float64()),
                pa.nulls(n, pa.float64()),
            ],
            schema=schema,
        )
        batch = col.sort_batch(batch, "open_time")
        return col.window_filter(batch, "open_time", shard.start_ms, request.until_ms)

    def _aggtrades(self, raw: pa.RecordBatch, request: PageRequest, shard: Shard) -> Page:
        """`[{"a":null,"f":null,"l":null,"p":"46782.67","q":"0.0038","T":1641380483000,
        "m":false,"M":true}]` — ids are null, so the page is walked by time and `agg_id` is
        synthesised as T × 1000 + the trade's rank within its millisecond (first_id and
        last_id stay null). A full page may end inside a millisecond: its last millisecond is
        dropped here and fetched whole by the next request. `raw` holds p, q, T and m."""
        schema = SCHEMAS["aggtrades"]
        if not raw.num_rows:
            return Page(col.empty(schema))
        times = raw.column("T").to_numpy(zero_copy_only=False)
        order = np.argsort(times, kind="stable")
        raw, times = raw.take(pa.array(order)), times[order]
        nxt = None
        if raw.num_rows >= AGGTRADE_PAGE:
            last = int(times[-1])
            if times[0] == last:
                raise PermanentError(f"mexc: over {AGGTRADE_PAGE} trades in the ms {last}")
            keep = times < last
            raw, times = raw.filter(pa.array(keep)), times[keep]
            nxt = self._trades_request(shard.symbol, last, request.until_ms)
        keep = (times >= shard.start_ms) & (times < request.until_ms)
        raw, times = raw.filter(pa.array(keep)), times[keep]
        n = len(times)
        index = np.arange(n)
        run_start = np.maximum.accumulate(np.where(np.r_[True, times[1:] != times[:-1]], index, 0))
        batch = pa.RecordBatch.from_arrays(
            [
                pa.array(times * 1000 + (index - run_start), pa.int64()),
                col.decimals(raw.column("p")),
                col.decimals(raw.column("q")),
                pa.nulls(n, pa.int64()),
                pa.nulls(n, pa.int64()),
                col.epoch_ms(pa.array(times, pa.int64())),
                raw.column("m"),
            ],
            schema=schema,
        )
        return Page(batch, nxt)

    def _funding(self, data: dict, request: PageRequest, shard: Shard) -> Page:
        """`{"success":true,"code":0,"data":{"pageSize":3,"totalCount":1619,"totalPage":540,
        "currentPage":1,"resultList":[{"symbol":"BTC_USDT","fundingRate":0.000021,
        "settleTime":1761868800000,"collectCycle":8}]}}` — newest first, rate a JSON number.

        Each next page keeps only rows older than this one's oldest, so a settlement that
        shifts the pages while we walk them cannot duplicate a row."""
        schema = SCHEMAS["funding"]
        rows = data.get("resultList") or []
        if not rows:
            return Page(col.empty(schema))
        raw = pa.array(rows, type=_FUNDING_TYPE)
        n = len(rows)
        batch = pa.RecordBatch.from_arrays(
            [
                col.epoch_ms(raw.field("settleTime")),
                raw.field("fundingRate"),
                pa.nulls(n, pa.float64()),
            ],
            schema=schema,
        )
        batch = col.sort_batch(batch, "funding_time")
        oldest = pc.min(raw.field("settleTime")).as_py()
        batch = col.window_filter(batch, "funding_time", shard.start_ms, request.until_ms)
        nxt = None
        page = int(data.get("currentPage", 1))
        if page < int(data.get("totalPage", 0)) and oldest > shard.start_ms:
            symbol = dict(request.params)["symbol"]
            nxt = self._funding_request(symbol, page + 1, min(oldest, request.until_ms))
        return Page(batch, nxt)

    def parse_listing(self, body: bytes, dtype: str) -> int | None:
        data = load_json(body)
        if isinstance(data, dict):  # the contract market's monthly klines, for any type
            times = _contract_data(data, body).get("time") or []
            return min(times) * 1000 if times else None
        if not isinstance(data, list):
            raise PermanentError(f"mexc: unexpected listing answer {body[:120]!r}")
        return min(int(row[0]) for row in data) if data else None

    # -- errors -------------------------------------------------------------------------
    def check(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        """Spot: `{"code":-1121,"msg":"Invalid symbol."}` with HTTP 400; 429 (418) carry
        Retry-After; 403 is the firewall. Contract: HTTP 200 with
        `{"success":false,"code":1001,"message":"Contract does not exist"}`; code 510 means
        too frequent."""
        if status == 200:
            if b'"success":false' in body[:64]:
                _contract_data(load_json(body), body)
            return
        code, msg = _error_body(body)
        if status in (403, 418, 429) or code in (-1003, 510):
            raise RateLimited(
                f"mexc: {msg or 'too many requests'} (HTTP {status})",
                retry_after_s=retry_after_s(headers, 60.0 if status != 429 else 10.0),
                status=status,
            )
        generic = check_http(status, headers, body)
        if code is None or status >= 500:
            if generic is not None:
                raise generic
            return
        raise PermanentError(f"mexc: {msg} (code {code})", status=status, code=code)

    def usage(self, request: PageRequest, headers: Mapping[str, str]) -> Usage | None:
        """None: MEXC sends no usage header on public endpoints."""
        return None


def _contract_data(data: object, body: bytes) -> dict:
    """The `data` of a contract envelope, or the error its `success:false` stands for."""
    if not isinstance(data, dict):
        raise PermanentError(f"mexc: unexpected contract answer {body[:120]!r}")
    if data.get("success") is True:
        return data.get("data") or {}
    code, msg = data.get("code"), data.get("message") or data.get("msg")
    if code == 510:
        raise RateLimited(f"mexc: {msg} (code 510)", retry_after_s=2.0, status=200)
    raise PermanentError(f"mexc: {msg} (code {code})", status=200, code=code)


def _error_body(body: bytes) -> tuple[int | None, str | None]:
    try:
        error = json.loads(body)
        return int(error["code"]), str(error.get("msg") or error.get("message"))
    except (TypeError, KeyError, ValueError):
        return None, None
