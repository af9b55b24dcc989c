"""Bybit's derivatives trade archive (public.bybit.com/trading) over the perpetual's trades,
served under the Bybit archive host's prefix (/bybit-public/trading/...).

Layout as public code observes it: `/trading/` and `/trading/{SYMBOL}/` are directory pages;
`/trading/{SYMBOL}/{SYMBOL}{YYYY-MM-DD}.csv.gz` (no separator before the date) holds one UTC
day, gzip CSV with the header
`timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,foreignNotional`
(files from RPI_FROM on add `RPI`). `timestamp` is float seconds with four decimals: the
trade's millisecond plus a sub-millisecond digit from 0 to 4, so rounding to the nearest
millisecond gives the trade's time exactly. `side` is the taker's (Buy/Sell), `size` base
units, `foreignNotional` price × size, `grossValue` that × 1e5 (as in real rows), trdMatchID a
UUID per trade. No trade id: the rows are the ground truth's usdm trades, in time order.
A day's file exists once the day has ended, if the symbol was listed before its end and (for
a delisted symbol) the day began before the delisting.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simulator import archive_host as host
from simulator import catalog, trades
from simulator.archive_format import fixed_text
from simulator.catalog import USDM, utc_ms
from simulator.intervals import DAY_MS
from simulator.noise import bits, stream_key

RPI_FROM_MS = utc_ms(2025, 7, 1)
HEADER = (
    "timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,"
    "foreignNotional"
)
_FILE = re.compile(
    r"/trading/(?P<symbol>[A-Z0-9]{2,32})/(?P<name>(?P=symbol)(?P<day>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"\.csv\.gz)"
)
DIRECTORY = re.compile(r"/trading/(?:(?P<symbol>[A-Z0-9]{2,32})/)?")
_TICKS = np.array(["PlusTick", "ZeroPlusTick", "MinusTick", "ZeroMinusTick"])


@dataclass(frozen=True)
class FileSpec:
    symbol: str
    name: str
    start_ms: int


def parse(path: str) -> FileSpec:
    match = _FILE.fullmatch(path)
    if match is None:
        raise host.NotFound(path)
    try:
        day = date.fromisoformat(match["day"])
    except ValueError:
        raise host.NotFound(path) from None
    return FileSpec(match["symbol"], match["name"], utc_ms(day.year, day.month, day.day))


def exists(spec: FileSpec, now_ms: int, omit: list[str]) -> bool:
    if not catalog.is_listed(spec.symbol, USDM):
        return False
    listing = catalog.listing(spec.symbol, USDM)
    gone = listing.delisted_ms is not None and spec.start_ms >= listing.delisted_ms
    published = listing.listed_ms < spec.start_ms + DAY_MS <= now_ms and not gone
    return published and not host.matches(omit, spec.name)


def names(symbol: str, now_ms: int, omit: list[str]) -> list[str]:
    """The symbol's daily files as its directory page lists them, oldest first."""
    listing = catalog.listing(symbol, USDM)
    first = listing.listed_ms // DAY_MS
    last = now_ms // DAY_MS - 1  # the last ended day
    if listing.delisted_ms is not None:
        last = min(last, (listing.delisted_ms - 1) // DAY_MS)
    days = (datetime.fromtimestamp(d * 86_400, UTC).date() for d in range(first, last + 1))
    files = (f"{symbol}{d:%Y-%m-%d}.csv.gz" for d in days)
    return [n for n in files if not host.matches(omit, n)]


def _uuid(key: int, index: np.ndarray) -> pa.Array:
    high, low = bits(stream_key(key, "hi"), index), bits(stream_key(key, "lo"), index)
    text = [f"{h:016x}{lo:016x}" for h, lo in zip(high.tolist(), low.tolist(), strict=True)]
    return pa.array([f"{t[:8]}-{t[8:12]}-{t[12:16]}-{t[16:20]}-{t[20:]}" for t in text])


def build(spec: FileSpec, seed: int, trades_per_day: int) -> bytes:
    def before(t_ms: int) -> int:
        return trades.count_before(spec.symbol, USDM, t_ms, seed, trades_per_day)

    first, stop = before(spec.start_ms), before(spec.start_ms + DAY_MS)
    rows = trades.trades(spec.symbol, USDM, first, stop, seed, trades_per_day)
    index = np.arange(first, first + len(rows), dtype=np.int64)
    key = stream_key(seed, "bybit-trading", spec.symbol)
    sub_ms = (bits(key, index) % np.uint64(5)).astype(np.int64)  # 0-4: rounds to the ms
    seconds = fixed_text(rows.time_ms * 10 + sub_ms, 10_000, 4)
    notional_e10 = rows.price_t * rows.qty_u  # price (1e-2) x size (1e-8): units of 1e-10
    change = np.diff(rows.price_t, prepend=rows.price_t[:1])
    tick = np.where(change > 0, 0, np.where(change < 0, 2, 1 + 2 * (index % 2)))
    columns = [
        seconds,
        pa.array(np.full(len(rows), spec.symbol)),
        pa.array(np.where(rows.is_buyer_maker, "Sell", "Buy")),
        host.qtys(rows.qty_u),
        host.prices(rows.price_t),
        pa.array(_TICKS[tick]),
        _uuid(key, index),
        fixed_text(notional_e10, 100_000, 5),
        host.qtys(rows.qty_u),
        fixed_text(notional_e10, 10**10, 10),
    ]
    header = HEADER
    if spec.start_ms >= RPI_FROM_MS:
        columns.append(pc.cast(pa.array((index % 11 == 0).astype(np.int64)), pa.string()))
        header += ",RPI"
    return host.gzip_csv(columns, header)
