"""Binance's public data archive (`/data/...` zip files and `.CHECKSUM`s) over the ground truth.

Kinds: klines and aggTrades (spot and futures/um), fundingRate (futures/um, monthly), and, for
futures/um, markPriceKlines, indexPriceKlines, premiumIndexKlines (monthly and daily, like
klines) and metrics (daily only: open interest every 5 minutes).

A file exists once its day or month has ended, if the symbol was listed before that end and,
for a delisted symbol, the period began before the delisting (the delisting day's file holds
the hours up to it).
Files can be omitted (404) or corrupted (served with one byte flipped under the checksum of
the good file) by name pattern. Built files are kept in an LRU cache bounded in bytes, and
built in a thread so a big day does not stall the other routes.
"""

import asyncio
import fnmatch
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from simulator import archive_format as fmt
from simulator import candles, catalog, fundingrates, intervals, openinterest, pricecandles, trades
from simulator.catalog import SPOT, USDM

PREFIX = "/data/"
PRICE_KINDS = {
    "markPriceKlines": "mark",
    "indexPriceKlines": "index",
    "premiumIndexKlines": "premium",
}
INTERVAL_KINDS = ("klines", *PRICE_KINDS)
PERP_ONLY = (*PRICE_KINDS, "metrics")
CACHE_BYTES = 512 << 20
_PATH = re.compile(
    r"/data/(?P<market>spot|futures/um)/(?P<cadence>daily|monthly)/"
    r"(?P<kind>klines|aggTrades|fundingRate|markPriceKlines|indexPriceKlines|premiumIndexKlines"
    r"|metrics)/(?P<symbol>[A-Z0-9]{2,32})/"
    r"(?:(?P<interval>[0-9a-z]{2,3})/)?"
    r"(?P<name>(?P=symbol)-(?P<label>[0-9A-Za-z]+)-(?P<period>[0-9]{4}-[0-9]{2}(?:-[0-9]{2})?)"
    r"\.zip)(?P<checksum>\.CHECKSUM)?"
)


class NotFound(LookupError):
    """No such archive file: the server answers 404 with an empty body."""


@dataclass(frozen=True)
class FileSpec:
    market: str
    kind: str
    symbol: str
    interval: str | None
    name: str
    start_ms: int
    end_ms: int


def _ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def parse(path: str) -> tuple[FileSpec, bool]:
    """The file a path names, and whether the .CHECKSUM is asked for; NotFound otherwise."""
    match = _PATH.fullmatch(path)
    if match is None:
        raise NotFound(path)
    g = match.groupdict()
    market = SPOT if g["market"] == "spot" else USDM
    daily = g["cadence"] == "daily"
    try:
        first = date.fromisoformat(g["period"] if daily else g["period"] + "-01")
    except ValueError:
        raise NotFound(path) from None
    if daily != (len(g["period"]) == 10):
        raise NotFound(path)
    end = date.fromordinal(first.toordinal() + 1) if daily else _next_month(first)
    kind, interval = g["kind"], None
    if kind in PERP_ONLY and market != USDM:
        raise NotFound(path)
    if kind in INTERVAL_KINDS:
        interval = "1M" if g["interval"] == "1mo" else g["interval"]
        if g["label"] != g["interval"] or not intervals.is_interval(interval or ""):
            raise NotFound(path)
    elif g["interval"] is not None or g["label"] != kind:
        raise NotFound(path)
    if kind == "fundingRate" and (market != USDM or daily):
        raise NotFound(path)
    if kind == "metrics" and not daily:
        raise NotFound(path)
    spec = FileSpec(market, kind, g["symbol"], interval, g["name"], _ms(first), _ms(end))
    return spec, g["checksum"] is not None


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _build(spec: FileSpec, seed: int, trades_per_day: int) -> fmt.ArchiveFile:
    symbol, market, start, end = spec.symbol, spec.market, spec.start_ms, spec.end_ms
    if spec.kind == "klines":
        interval = spec.interval or "1m"
        first = max(
            intervals.ceil_index(interval, start), candles.first_index(symbol, market, interval)
        )
        stop = candles.last_index(symbol, market, interval, end - 1) + 1
        rows = candles.candles(symbol, market, interval, first, max(first, stop), seed)
        columns, header = fmt.klines(rows, market, start)
    elif spec.kind in PRICE_KINDS:
        interval = spec.interval or "1m"
        kind = PRICE_KINDS[spec.kind]
        first = max(
            intervals.ceil_index(interval, start), pricecandles.first_index(symbol, interval)
        )
        stop = pricecandles.last_index(symbol, interval, end - 1) + 1
        rows = pricecandles.candles(kind, symbol, interval, first, max(first, stop), seed)
        columns, header = fmt.price_klines(rows, kind, start)
    elif spec.kind == "metrics":
        step = openinterest.STEP_MS
        lo, hi = openinterest.bounds(symbol, step)
        first = max(lo, -(-start // step))
        stop = -(-end // step) if hi is None else min(hi, -(-end // step))
        rows = openinterest.snapshots(symbol, step, first, max(first, stop), seed)
        columns, header = fmt.metrics(symbol, rows, seed)
    elif spec.kind == "aggTrades":
        first = trades.count_before(symbol, market, start, seed, trades_per_day)
        stop = trades.count_before(symbol, market, end, seed, trades_per_day)
        rows = trades.trades(symbol, market, first, stop, seed, trades_per_day)
        columns, header = fmt.aggtrades(rows, market, start)
    else:
        first = fundingrates.count_before(symbol, start)
        rows = fundingrates.fundings(symbol, first, fundingrates.count_before(symbol, end), seed)
        columns, header = fmt.fundings(rows, start)
    return fmt.build(spec.name, columns, header)


@dataclass
class ArchiveStore:
    """The archive one simulator serves: faults by file-name pattern, and the file cache."""

    seed: int = 0
    trades_per_day: int = trades.DEFAULT_TRADES_PER_DAY
    omit: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    cache_bytes: int = CACHE_BYTES
    _cache: OrderedDict = field(default_factory=OrderedDict)
    _building: dict = field(default_factory=dict)

    def _matches(self, patterns: list[str], name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, p) for p in patterns)

    async def _file(self, spec: FileSpec) -> fmt.ArchiveFile:
        # Spot and futures files share names, and so do klines and the price klines
        # (BTCUSDT-1h-2024-01.zip under klines/ and markPriceKlines/).
        key = (spec.market, spec.kind, spec.name)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        if key not in self._building:  # one build per file, however many ask at once
            loop = asyncio.get_running_loop()
            self._building[key] = loop.run_in_executor(
                None, _build, spec, self.seed, self.trades_per_day
            )
        try:
            built = await asyncio.shield(self._building[key])
        finally:
            self._building.pop(key, None)
        self._cache[key] = built
        while sum(len(f.zip_bytes) for f in self._cache.values()) > self.cache_bytes:
            if len(self._cache) == 1:
                break
            self._cache.popitem(last=False)
        return built

    async def body(self, path: str, now_ms: int) -> bytes:
        """The bytes served at `path`; NotFound for a file that does not (yet) exist."""
        spec, checksum = parse(path)
        try:
            listing = catalog.listing(spec.symbol, spec.market)
        except catalog.UnknownSymbolError:
            raise NotFound(path) from None
        gone = listing.delisted_ms is not None and spec.start_ms >= listing.delisted_ms
        if spec.end_ms > now_ms or spec.end_ms <= listing.listed_ms or gone:
            raise NotFound(path)
        if self._matches(self.omit, spec.name):
            raise NotFound(path)
        built = await self._file(spec)
        if checksum:
            return built.checksum_line
        if self._matches(self.corrupt, spec.name):
            middle = len(built.zip_bytes) // 2
            flipped = bytes([built.zip_bytes[middle] ^ 0xFF])
            return built.zip_bytes[:middle] + flipped + built.zip_bytes[middle + 1 :]
        return built.zip_bytes
