"""Gate.io's USDT perpetual futures over REST, for the GateIo adapter: candles (and their
`mark_`/`index_` kinds), the premium index, trades and contract stats (open interest).

Sizes on Gate's futures are whole contracts of the contract's `quanto_multiplier` (base units
per contract; 0.0001 for BTC_USDT on the real exchange): candle volume, trade size and open
interest count contracts. So every chain that needs them starts with the contract's own
record (`/futures/usdt/contracts/{contract}`), whose answer hands the first page the
multiplier in its `context`; later pages carry it on. Candles and open interest walk their
windows in turn after it (REST reaches back only 10,000 candles: a few pages), trades one
chain per hour, paged by `offset`, newest first. Mark, index and premium candles have no
sizes and need no record. Times are seconds; `from` and `to` are inclusive.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from storage.errors import PermanentError
from storage.schemas import SCHEMAS
from storage.shards import Shard
from workers.capabilities import Market, Rest
from workers.exchanges import columns as col
from workers.exchanges.base import Page, PageRequest, load_json
from workers.exchanges.columns import HOUR_MS, INTERVAL_MS
from workers.sourceplan import capability_of

CONTRACT = "/futures/usdt/contracts/"
STATS_INTERVAL, STATS_STEP_MS = "5m", 300_000
PRICE_PREFIX = {"markklines": "mark_", "indexklines": "index_", "premiumklines": ""}
_F64 = pa.float64()


class GateFutures:
    """Requests and parsers of the `futures` market at `url`; `intervals` maps the dataset's
    interval names to Gate's, `pair` spells a symbol Gate's way."""

    def __init__(
        self, url: str, market: Market, intervals: dict[str, str], pair: Callable[[str], str]
    ) -> None:
        self.url, self.market, self.intervals, self.pair = url, market, intervals, pair

    def _rest(self, shard: Shard) -> Rest:
        rest = capability_of(shard, self.market).rest
        assert rest is not None
        return rest

    def _get(self, rest: Rest, params: dict, **kw) -> PageRequest:
        query = tuple((k, str(v)) for k, v in params.items())
        return PageRequest(self.url + rest.path, query, rest.group, rest.weight, **kw)

    # -- planning -----------------------------------------------------------------------
    def requests(self, shard: Shard, until_ms: int, start_ms: int) -> list[PageRequest]:
        if shard.dtype in PRICE_PREFIX:
            step = self._rest(shard).page * INTERVAL_MS[shard.interval]
            return [
                self._candles(shard, t, min(t + step, until_ms), until_ms)
                for t in range(start_ms, until_ms, step)
            ]
        if shard.dtype == "aggtrades":
            return [
                self._contract(shard, t, min(t + HOUR_MS, until_ms), descending=True)
                for t in range(start_ms, until_ms, HOUR_MS)
            ]
        return [self._contract(shard, start_ms, until_ms)]  # klines, open interest

    def _contract(
        self, shard: Shard, start_ms: int, until_ms: int, descending: bool = False
    ) -> PageRequest:
        """The contract's record, first of a chain that then reads [start_ms, until_ms)."""
        url = self.url + CONTRACT + self.pair(shard.symbol)
        context = (("from_ms", str(start_ms)),)
        return PageRequest(url, (), "futures_contracts", 1, until_ms, descending, context)

    def _candles(
        self, shard: Shard, start_ms: int, window_ms: int, end_ms: int, size: str = ""
    ) -> PageRequest:
        rest = self._rest(shard)
        contract = PRICE_PREFIX.get(shard.dtype, "") + self.pair(shard.symbol)
        params = {"contract": contract, "interval": self.intervals[shard.interval]}
        params |= {"from": start_ms // 1000, "to": (window_ms - 1) // 1000}
        context = (("size", size), ("end_ms", str(end_ms))) if size else ()
        return self._get(rest, params, until_ms=window_ms, context=context)

    def _stats(self, shard: Shard, start_ms: int, end_ms: int, size: str) -> PageRequest:
        rest = self._rest(shard)
        params = {"contract": self.pair(shard.symbol), "from": start_ms // 1000}
        params |= {"interval": STATS_INTERVAL, "limit": rest.page}
        window_ms = min(start_ms + rest.page * STATS_STEP_MS, end_ms)
        context = (("size", size), ("end_ms", str(end_ms)), ("from_ms", str(start_ms)))
        return self._get(rest, params, until_ms=window_ms, context=context)

    def _trades(
        self, shard: Shard, start_ms: int, until_ms: int, size: str, offset: int = 0
    ) -> PageRequest:
        rest = self._rest(shard)
        params = {"contract": self.pair(shard.symbol), "from": start_ms // 1000}
        params |= {"to": (until_ms - 1) // 1000, "limit": rest.page, "offset": offset}
        context = (("size", size), ("from_ms", str(start_ms)))
        return self._get(rest, params, until_ms=until_ms, descending=True, context=context)

    def _first(self, shard: Shard, request: PageRequest, size: str) -> PageRequest:
        """The chain's first page, once the contract's record told the size."""
        start_ms, until_ms = int(dict(request.context)["from_ms"]), request.until_ms or 0
        if shard.dtype == "aggtrades":
            return self._trades(shard, start_ms, until_ms, size)
        if shard.dtype == "openinterest":
            return self._stats(shard, start_ms, until_ms, size)
        step = self._rest(shard).page * INTERVAL_MS[shard.interval]
        return self._candles(shard, start_ms, min(start_ms + step, until_ms), until_ms, size)

    # -- parsing ------------------------------------------------------------------------
    def parse(self, body: bytes, request: PageRequest, shard: Shard) -> Page:
        data = load_json(body)
        try:
            if request.url.startswith(self.url + CONTRACT):
                size = str(data["quanto_multiplier"])
                return Page(col.empty(SCHEMAS[shard.dtype]), self._first(shard, request, size))
            if not isinstance(data, list):
                raise TypeError("not a list")
            if shard.dtype == "aggtrades":
                return self._trade_page(data, request, shard)
            if shard.dtype == "openinterest":
                return self._stats_page(data, request, shard)
            return self._candle_page(data, request, shard)
        except (pa.ArrowException, TypeError, ValueError, KeyError, IndexError) as exc:
            raise PermanentError(
                f"gateio: futures {shard.dtype} of an unexpected shape ({exc}): {body[:120]!r}"
            ) from None

    def _candle_page(self, rows: list, request: PageRequest, shard: Shard) -> Page:
        """`[{"t":1539852480,"v":"97151","c":"1.032","h":"1.032","l":"1.032","o":"1.032",
        "sum":"3580"}]` — t in seconds, v in contracts (a number on the wire too), sum the
        quote volume, oldest first; `mark_`/`index_` candles have no v, the premium index
        neither v nor sum. The last candle may still be open."""
        context = dict(request.context)
        n = len(rows)
        nxt = None
        end_ms = int(context.get("end_ms", 0))
        if request.until_ms and request.until_ms < end_ms:
            step = self._rest(shard).page * INTERVAL_MS[shard.interval]
            window = min(request.until_ms + step, end_ms)
            nxt = self._candles(shard, request.until_ms, window, end_ms, context["size"])
        if not n:
            return Page(col.empty(SCHEMAS[shard.dtype]), nxt)
        opens = pa.array([int(r["t"]) * 1000 for r in rows], pa.int64())
        sizes = [r["v"] for r in rows if "v" in r]
        volume = (
            col.contract_sizes(pa.array(sizes), context["size"])
            if sizes and len(sizes) == n and context.get("size")
            else pa.nulls(n, _F64)
        )
        sums = [r["sum"] for r in rows if "sum" in r]
        quote = col.decimals(pa.array(sums)) if sums and len(sums) == n else pa.nulls(n, _F64)
        batch = pa.RecordBatch.from_arrays(
            [
                col.epoch_ms(opens),
                *(col.decimals(pa.array([r[k] for r in rows], pa.string())) for k in "ohlc"),
                volume,
                col.close_times(opens, shard.interval),
                quote,
                pa.nulls(n, pa.int64()),
                pa.nulls(n, _F64),
                pa.nulls(n, _F64),
            ],
            schema=SCHEMAS[shard.dtype],
        )
        batch = col.sort_batch(batch, "open_time")
        batch = col.window_filter(batch, "open_time", shard.start_ms, request.until_ms or 0)
        return Page(batch, nxt)

    def _trade_page(self, rows: list, request: PageRequest, shard: Shard) -> Page:
        """`[{"id":121234231,"create_time":1514764800.123,"create_time_ms":1514764800123.123,
        "contract":"BTC_USDT","size":-100,"price":"100.123"}]` (the SDK's FuturesTrade; the
        docs show no example) — newest first; size in contracts, negative when the taker
        sold. One trade per row: agg_id = first_id = last_id = id."""
        context = dict(request.context)
        rest = self._rest(shard)
        nxt = None
        if len(rows) >= rest.page:
            offset = int(dict(request.params)["offset"]) + rest.page
            start_ms = int(context["from_ms"])
            nxt = self._trades(shard, start_ms, request.until_ms or 0, context["size"], offset)
        schema = SCHEMAS["aggtrades"]
        if not rows:
            return Page(col.empty(schema), nxt)
        ids = pa.array([int(r["id"]) for r in rows], pa.int64())
        sizes = pa.array([float(r["size"]) for r in rows], _F64)
        times = np.floor(np.array([float(r["create_time_ms"]) for r in rows]))
        batch = pa.RecordBatch.from_arrays(
            [
                ids,
                col.decimals(pa.array([r["price"] for r in rows], pa.string())),
                col.contract_sizes(pc.abs(sizes), context["size"]),
                ids,
                ids,
                col.epoch_ms(pa.array(times.astype(np.int64))),
                pc.less(sizes, 0.0),
            ],
            schema=schema,
        )
        batch = col.sort_batch(batch, "agg_id")
        return Page(col.window_filter(batch, "time", shard.start_ms, request.until_ms or 0), nxt)

    def _stats_page(self, rows: list, request: PageRequest, shard: Shard) -> Page:
        """`[{"time":1603865400,"lsr_taker":100,"lsr_account":0.5,"long_liq_size":0,…,
        "open_interest":124724,"open_interest_usd":4352.2,"top_lsr_account":1,
        "top_lsr_size":1}]` (the SDK's ContractStat) — oldest first, `limit` points from
        `from`; open_interest in contracts, open_interest_usd its value."""
        context = dict(request.context)
        start_ms, end_ms = int(context["from_ms"]), int(context["end_ms"])
        window_ms = request.until_ms or 0
        nxt = self._stats(shard, window_ms, end_ms, context["size"]) if window_ms < end_ms else None
        if not rows:
            return Page(col.empty(SCHEMAS["openinterest"]), nxt)
        times = pa.array([int(r["time"]) * 1000 for r in rows], pa.int64())
        batch = pa.RecordBatch.from_arrays(
            [
                col.epoch_ms(times),
                col.contract_sizes(pa.array([r["open_interest"] for r in rows]), context["size"]),
                col.decimals(pa.array([r["open_interest_usd"] for r in rows])),
            ],
            schema=SCHEMAS["openinterest"],
        )
        return Page(col.window_filter(batch, "time", start_ms, window_ms), nxt)
