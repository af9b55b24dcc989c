"""Bybit's public spot trade archive (public.bybit.com) over the ground truth, under
/bybit-public; the derivatives archive (`/trading/...`) is simulator.bybit_trading's.

Layout as public code observes it: `/spot/` and `/spot/{SYMBOL}/` are HTML directory pages
(nginx autoindex style) of `<a href>` links; `/spot/{SYMBOL}/{SYMBOL}_{YYYY-MM-DD}.csv.gz`
holds one UTC day, and, since some sources describe monthly dumps, `{SYMBOL}_{YYYY-MM}.csv.gz`
one month (both listed here). gzip CSV with the header `id,timestamp,price,volume,side`;
files from RPI_FROM on add an `rpi` column (the simulator's date for "columns were added
over time"). Times in ms, `side` the taker's in lower case, `id` counting from 1 each day.
A file exists once its period has ended, if the symbol was listed before that end; an
omitted file is neither listed nor served. The trades are the ground truth's spot trades.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa

from simulator import archive_host as host
from simulator import bybit_trading, catalog, trades
from simulator.archive_host import BuiltFiles, Faults, NotFound
from simulator.catalog import SPOT, USDM, utc_ms
from simulator.intervals import DAY_MS

PREFIX = "/bybit-public"
RPI_FROM_MS = utc_ms(2025, 7, 1)
HEADER = "id,timestamp,price,volume,side"
_FILE = re.compile(
    r"/spot/(?P<symbol>[A-Z0-9]{2,32})/(?P<name>(?P=symbol)_"
    r"(?P<period>[0-9]{4}-[0-9]{2}(?:-[0-9]{2})?)\.csv\.gz)"
)
_DIR = re.compile(r"/spot/(?:(?P<symbol>[A-Z0-9]{2,32})/)?")


@dataclass(frozen=True)
class FileSpec:
    symbol: str
    name: str
    start_ms: int
    end_ms: int


def _ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def parse(path: str) -> FileSpec:
    match = _FILE.fullmatch(path)
    if match is None:
        raise NotFound(path)
    period = match["period"]
    try:
        first = date.fromisoformat(period if len(period) == 10 else period + "-01")
    except ValueError:
        raise NotFound(path) from None
    end = date.fromordinal(first.toordinal() + 1) if len(period) == 10 else _next_month(first)
    return FileSpec(match["symbol"], match["name"], _ms(first), _ms(end))


def build(spec: FileSpec, seed: int, trades_per_day: int) -> bytes:
    def before(t_ms: int) -> int:
        return trades.count_before(spec.symbol, SPOT, t_ms, seed, trades_per_day)

    first, stop = before(spec.start_ms), before(spec.end_ms)
    rows = trades.trades(spec.symbol, SPOT, first, stop, seed, trades_per_day)
    # ids count from 1 each UTC day, also inside a monthly dump
    days = rows.time_ms // DAY_MS
    day_first = {int(d): before(int(d) * DAY_MS) for d in np.unique(days)}
    index = np.arange(first, first + len(rows), dtype=np.int64)
    ids = index - np.array([day_first[int(d)] for d in days], dtype=np.int64) + 1
    columns = [
        pa.array(ids),
        pa.array(rows.time_ms),
        host.prices(rows.price_t),
        host.qtys(rows.qty_u),
        pa.array(np.where(rows.is_buyer_maker, "sell", "buy")),
    ]
    header = HEADER
    if spec.start_ms >= RPI_FROM_MS:
        columns.append(pa.array((ids % 7 == 0).astype(np.int64)))
        header += ",rpi"
    return host.gzip_csv(columns, header)


def _page(title: str, names: list[str]) -> bytes:
    links = "".join(f'<a href="{n}">{n}</a>\n' for n in names)
    return (
        f"<html>\n<head><title>Index of {title}</title></head>\n<body>\n"
        f'<h1>Index of {title}</h1><hr><pre><a href="../">../</a>\n{links}</pre><hr></body>\n'
        "</html>\n"
    ).encode()


class BybitArchive:
    """The archive one simulator serves; faults are shared with its other archive hosts."""

    prefix = PREFIX
    venue = "bybit"

    def __init__(
        self, seed: int, trades_per_day: int, faults: Faults, cache_bytes: int = host.CACHE_BYTES
    ) -> None:
        self.seed = seed
        self.trades_per_day = trades_per_day
        self.faults = faults
        self.files = BuiltFiles(cache_bytes)

    def _exists(self, spec: FileSpec, now_ms: int) -> bool:
        try:
            listed_ms = catalog.listing(spec.symbol, SPOT).listed_ms
        except catalog.UnknownSymbolError:
            return False
        published = listed_ms < spec.end_ms <= now_ms
        delisted_ms = catalog.listing(spec.symbol, SPOT).delisted_ms
        if delisted_ms is not None and spec.start_ms >= delisted_ms:
            return False
        return published and not host.matches(self.faults.omit, spec.name)

    def names(self, symbol: str, now_ms: int) -> list[str]:
        """The symbol's files as its directory page lists them: months, then days."""
        listed = catalog.listing(symbol, SPOT).listed_ms
        first = datetime.fromtimestamp(listed / 1000, UTC).date()
        months, month = [], first.replace(day=1)
        while _ms(_next_month(month)) <= now_ms:
            months.append(f"{symbol}_{month:%Y-%m}.csv.gz")
            month = _next_month(month)
        days = [
            f"{symbol}_{date.fromordinal(d):%Y-%m-%d}.csv.gz"
            for d in range(first.toordinal(), first.toordinal() + (now_ms - _ms(first)) // DAY_MS)
        ]
        names = [n for n in months + days if not host.matches(self.faults.omit, n)]
        if catalog.listing(symbol, SPOT).delisted_ms is None:
            return names
        return [n for n in names if self._exists(parse(f"/spot/{symbol}/{n}"), now_ms)]

    async def body(self, path: str, now_ms: int) -> tuple[bytes, str]:
        if path.startswith("/trading/"):
            return await self._trading(path, now_ms)
        directory = _DIR.fullmatch(path)
        if directory is not None:
            symbol = directory["symbol"]
            if symbol is None:
                return _page("/spot/", [f"{s}/" for s in catalog.symbols(SPOT)]), "text/html"
            if (symbol, SPOT) not in catalog.LISTINGS:
                raise NotFound(path)
            return _page(f"/spot/{symbol}/", self.names(symbol, now_ms)), "text/html"
        spec = parse(path)
        if not self._exists(spec, now_ms):
            raise NotFound(path)
        data = await self.files.get(spec.name, lambda: build(spec, self.seed, self.trades_per_day))
        if host.matches(self.faults.corrupt, spec.name):
            data = host.flipped(data)
        return data, "application/gzip"

    async def _trading(self, path: str, now_ms: int) -> tuple[bytes, str]:
        """The derivatives archive (simulator.bybit_trading): directory pages and day files."""
        directory = bybit_trading.DIRECTORY.fullmatch(path)
        if directory is not None:
            symbol = directory["symbol"]
            if symbol is None:
                return _page("/trading/", [f"{s}/" for s in catalog.symbols(USDM)]), "text/html"
            if not catalog.is_listed(symbol, USDM):
                raise NotFound(path)
            names = bybit_trading.names(symbol, now_ms, self.faults.omit)
            return _page(f"/trading/{symbol}/", names), "text/html"
        spec = bybit_trading.parse(path)
        if not bybit_trading.exists(spec, now_ms, self.faults.omit):
            raise NotFound(path)
        data = await self.files.get(
            spec.name, lambda: bybit_trading.build(spec, self.seed, self.trades_per_day)
        )
        if host.matches(self.faults.corrupt, spec.name):
            data = host.flipped(data)
        return data, "application/gzip"
