"""MEXC's perpetual contract klines and their index and fair (mark) price kinds over REST, for
the Mexc adapter.

`/api/v1/contract/kline/{symbol}` (and `/kline/index_price/`, `/kline/fair_price/`) take
`interval` (Min1 … Month1) and `start`/`end` in seconds, both inclusive, and answer at most
2000 candles as column arrays. Contract candle volume `vol` counts contracts of the
contract's `contractSize` (base units per contract), so a kline chain starts with the
contract's detail (`/api/v1/contract/detail?symbol=`), whose answer hands the first window
the size in its `context`; the windows then follow in turn. Price candles need no size.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from storage.errors import PermanentError
from storage.schemas import SCHEMAS
from storage.shards import Shard
from workers.capabilities import Market, Rest
from workers.exchanges import columns as col
from workers.exchanges.base import Page, PageRequest
from workers.exchanges.columns import INTERVAL_MS
from workers.sourceplan import capability_of

#: the dataset's interval -> MEXC contract's name
INTERVALS = {
    "1m": "Min1",
    "5m": "Min5",
    "15m": "Min15",
    "30m": "Min30",
    "1h": "Min60",
    "4h": "Hour4",
    "8h": "Hour8",
    "1d": "Day1",
    "1w": "Week1",
    "1M": "Month1",
}
DETAIL = "/api/v1/contract/detail"
_F64 = pa.float64()


class ContractKlines:
    """Requests and parsers of the contract market at `url`; `name` spells a symbol MEXC's
    contract way (BTC_USDT)."""

    def __init__(self, url: str, market: Market, name: Callable[[str], str]) -> None:
        self.url, self.market, self.name = url, market, name

    def _rest(self, shard: Shard) -> Rest:
        rest = capability_of(shard, self.market).rest
        assert rest is not None
        return rest

    def requests(self, shard: Shard, until_ms: int, start_ms: int) -> list[PageRequest]:
        if shard.dtype != "klines":  # index and fair price: windows of their own
            step = self._rest(shard).page * INTERVAL_MS[shard.interval]
            return [
                self._window(shard, t, min(t + step, until_ms), until_ms)
                for t in range(start_ms, until_ms, step)
            ]
        params = (("symbol", self.name(shard.symbol)),)
        context = (("from_ms", str(start_ms)),)
        return [PageRequest(self.url + DETAIL, params, "contract", 1, until_ms, context=context)]

    def _window(
        self, shard: Shard, start_ms: int, window_ms: int, end_ms: int, size: str = ""
    ) -> PageRequest:
        rest = self._rest(shard)
        url = self.url + rest.path.replace("{symbol}", self.name(shard.symbol))
        params = (
            ("interval", INTERVALS[shard.interval]),
            ("start", str(start_ms // 1000)),
            ("end", str((window_ms - 1) // 1000)),
        )
        context = (("size", size), ("end_ms", str(end_ms))) if size else ()
        return PageRequest(url, params, rest.group, rest.weight, window_ms, context=context)

    def parse(self, data: dict | list, request: PageRequest, shard: Shard) -> Page:
        """`data` is the envelope's `data`: the contract's detail, or a page of candles."""
        try:
            if request.url == self.url + DETAIL:
                assert isinstance(data, dict)
                size = str(data["contractSize"])
                start_ms, end_ms = int(dict(request.context)["from_ms"]), request.until_ms or 0
                step = self._rest(shard).page * INTERVAL_MS[shard.interval]
                first = self._window(shard, start_ms, min(start_ms + step, end_ms), end_ms, size)
                return Page(col.empty(SCHEMAS[shard.dtype]), first)
            assert isinstance(data, dict)
            return self._candles(data, request, shard)
        except (pa.ArrowException, TypeError, ValueError, KeyError, AssertionError) as exc:
            raise PermanentError(
                f"mexc: contract {shard.dtype} of an unexpected shape ({exc})"
            ) from None

    def _candles(self, data: dict, request: PageRequest, shard: Shard) -> Page:
        """`{"time":[1609740900],"open":[33041.0],"close":[33233.3],"high":[33354.8],
        "low":[33009.4],"vol":[0.0],"amount":[0.0]}` — columns, time in seconds, oldest
        first; vol in contracts, amount the quote volume (both 0.0 for price candles; the
        index price's answer adds real* columns)."""
        context = dict(request.context)
        nxt = None
        end_ms = int(context.get("end_ms", 0))
        if request.until_ms and request.until_ms < end_ms:
            step = self._rest(shard).page * INTERVAL_MS[shard.interval]
            window = min(request.until_ms + step, end_ms)
            nxt = self._window(shard, request.until_ms, window, end_ms, context["size"])
        times = data.get("time") or []
        if not times:
            return Page(col.empty(SCHEMAS[shard.dtype]), nxt)
        n = len(times)
        opens = pa.array([int(t) * 1000 for t in times], pa.int64())
        sized = "size" in context
        batch = pa.RecordBatch.from_arrays(
            [
                col.epoch_ms(opens),
                *(pa.array(data[k], _F64) for k in ("open", "high", "low", "close")),
                col.contract_sizes(pa.array(data["vol"]), context["size"])
                if sized
                else pa.nulls(n, _F64),
                col.close_times(opens, shard.interval),
                pa.array(data["amount"], _F64),
                pa.nulls(n, pa.int64()),
                pa.nulls(n, _F64),
                pa.nulls(n, _F64),
            ],
            schema=SCHEMAS[shard.dtype],
        )
        batch = col.sort_batch(batch, "open_time")
        return Page(
            col.window_filter(batch, "open_time", shard.start_ms, request.until_ms or 0), nxt
        )
