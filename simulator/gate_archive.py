"""Gate.io's candle archive (download.gatedata.org) over the ground truth, under /gatedata.

Layout as public code observes it: `/spot/candlesticks_1m/{YYYYMM}/{PAIR}-{YYYYMMDD}.csv.gz`
(one per UTC day) and `/spot/candlesticks_{5m,1h,4h,1d}/{YYYYMM}/{PAIR}-{YYYYMM}.csv.gz` (one
per month); gzip CSV without header: `timestamp` (s), quote volume, close, high, low, open.
A file exists once its period has ended, if the pair was listed before that end; no
checksum is published. The candles are those the Gate REST venue serves.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pyarrow as pa

from simulator import archive_host as host
from simulator import candles, catalog, intervals
from simulator.archive_host import BuiltFiles, Faults, NotFound
from simulator.catalog import SPOT

PREFIX = "/gatedata"
DAILY, MONTHLY = ("1m",), ("5m", "1h", "4h", "1d")
_PATH = re.compile(
    r"/spot/candlesticks_(?P<interval>[0-9a-z]{2})/(?P<month>[0-9]{6})/"
    r"(?P<name>(?P<base>[A-Z0-9]{2,16})_(?P<quote>[A-Z0-9]{2,16})-(?P<stamp>[0-9]{6}|[0-9]{8})"
    r"\.csv\.gz)"
)


@dataclass(frozen=True)
class FileSpec:
    symbol: str
    interval: str
    name: str
    start_ms: int
    end_ms: int


def _ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def parse(path: str) -> FileSpec:
    """The file a path names; NotFound for anything outside the layout."""
    match = _PATH.fullmatch(path)
    if match is None:
        raise NotFound(path)
    g = match.groupdict()
    interval, stamp = g["interval"], g["stamp"]
    daily = len(stamp) == 8
    if interval not in (DAILY if daily else MONTHLY) or not stamp.startswith(g["month"]):
        raise NotFound(path)
    try:
        first = date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:]) if daily else 1)
    except ValueError:
        raise NotFound(path) from None
    if daily:
        end = date.fromordinal(first.toordinal() + 1)
    else:
        end = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return FileSpec(g["base"] + g["quote"], interval, g["name"], _ms(first), _ms(end))


def build(spec: FileSpec, seed: int) -> bytes:
    interval = spec.interval
    first = max(
        intervals.ceil_index(interval, spec.start_ms),
        candles.first_index(spec.symbol, SPOT, interval),
    )
    stop = candles.last_index(spec.symbol, SPOT, interval, spec.end_ms - 1) + 1
    rows = candles.candles(spec.symbol, SPOT, interval, first, max(first, stop), seed)
    columns = [
        pa.array(rows.open_ms // 1000),
        host.qtys(rows.quote_u),
        host.prices(rows.close_t),
        host.prices(rows.high_t),
        host.prices(rows.low_t),
        host.prices(rows.open_t),
    ]
    return host.gzip_csv(columns, None)


class GateArchive:
    """The archive one simulator serves; faults are shared with its other archive hosts."""

    prefix = PREFIX
    venue = "gateio"

    def __init__(self, seed: int, faults: Faults, cache_bytes: int = host.CACHE_BYTES) -> None:
        self.seed = seed
        self.faults = faults
        self.files = BuiltFiles(cache_bytes)

    async def body(self, path: str, now_ms: int) -> tuple[bytes, str]:
        spec = parse(path)
        try:
            listed_ms = catalog.listing(spec.symbol, SPOT).listed_ms
        except catalog.UnknownSymbolError:
            raise NotFound(path) from None
        if spec.end_ms > now_ms or spec.end_ms <= listed_ms:
            raise NotFound(path)
        if host.matches(self.faults.omit, spec.name):
            raise NotFound(path)
        # Monthly files of different intervals share a name: the path tells them apart.
        data = await self.files.get(path, lambda: build(spec, self.seed))
        if host.matches(self.faults.corrupt, spec.name):
            data = host.flipped(data)
        return data, "application/gzip"
