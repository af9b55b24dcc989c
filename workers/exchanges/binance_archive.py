"""Binance's public data archive: which zipped CSV holds a shard, and how its columns read.

Layout: `{base}/data/{spot|futures/um}/{monthly|daily}/{klines|aggTrades|fundingRate}/SYMBOL/
[interval/]SYMBOL-{interval|aggTrades|fundingRate}-{YYYY-MM[-DD]}.zip`, each with a sibling
`.zip.CHECKSUM`. Quirks handled here: spot files have no header and newer futures files do;
spot files dated 2025-01-01 on carry microsecond times; the archive spells `1M` as `1mo`;
the funding archive has no mark price.
"""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
import pyarrow.compute as pc

from storage.schemas import SCHEMAS
from storage.shards import Shard, to_ms
from workers.exchanges.base import ArchiveFile, CsvLayout

DAY_MS = 86_400_000
#: any time value with 16 or more digits is in microseconds (spot files from 2025 on)
MICROS_FROM = 10**15
MARKET_PATH = {"spot": "spot", "usdm": "futures/um"}
#: intervals with daily files; daily files are used for the open month only where a day holds
#: at least half a REST page, so downloads never outnumber the pages they replace
DAILY_INTERVALS = {"1s": 86_400, "1m": 1_440}
HALF_PAGE = 500
GROUP = "archive"

I64, F64 = pa.int64(), pa.float64()
KLINE_COLUMNS: dict[str, pa.DataType | None] = {
    "open_time": I64,
    "open": F64,
    "high": F64,
    "low": F64,
    "close": F64,
    "volume": F64,
    "close_time": I64,
    "quote_volume": F64,
    "trades": I64,
    "taker_buy_base": F64,
    "taker_buy_quote": F64,
    "ignore": None,
}
AGGTRADE_COLUMNS: dict[str, pa.DataType | None] = {
    "agg_id": I64,
    "price": F64,
    "qty": F64,
    "first_id": I64,
    "last_id": I64,
    "time": I64,
    "is_buyer_maker": pa.bool_(),
}
FUNDING_COLUMNS: dict[str, pa.DataType | None] = {
    "funding_time": I64,
    "funding_interval_hours": None,
    "funding_rate": F64,
}
TIME_COLUMNS = {
    "klines": ("open_time", "close_time"),
    "aggtrades": ("time",),
    "funding": ("funding_time",),
}


def _ms(values: pa.Array) -> pa.Array:
    """Epoch integers to timestamp[ms], whatever their unit: >= 16 digits means microseconds."""
    micros = pc.greater_equal(values, MICROS_FROM)
    millis = pc.if_else(micros, pc.divide(values, 1000), values)
    return pc.cast(millis, pa.timestamp("ms", tz="UTC"))


class BinanceArchive:
    """Pure declarations of the archive at `base_url` (BINANCE_ARCHIVE_URL)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _file(
        self,
        shard: Shard,
        cadence: str,
        kind: str,
        label: str,
        day: str,
        start_ms: int,
        end_ms: int,
    ) -> ArchiveFile:
        folder = f"{shard.symbol}/{label}" if kind == "klines" else shard.symbol
        url = (
            f"{self.base_url}/data/{MARKET_PATH[shard.market]}/{cadence}/{kind}/{folder}/"
            f"{shard.symbol}-{label}-{day}.zip"
        )
        return ArchiveFile(url, start_ms, end_ms, GROUP, checksum_url=url + ".CHECKSUM")

    def listing_url(self, shard: Shard) -> str | None:
        return None  # file names follow from the shard

    def files(self, shard: Shard, now_ms: int, listing: str | None = None) -> list[ArchiveFile]:
        if shard.market not in MARKET_PATH or (shard.dtype == "funding" and shard.market != "usdm"):
            return []
        whole = (shard.start_ms, shard.end_ms)
        if shard.dtype == "aggtrades":
            if shard.end_ms > now_ms:
                return []
            return [self._file(shard, "daily", "aggTrades", "aggTrades", shard.period, *whole)]
        if shard.dtype == "funding":
            if shard.end_ms > now_ms:
                return []
            return [
                self._file(shard, "monthly", "fundingRate", "fundingRate", shard.period, *whole)
            ]
        label = "1mo" if shard.interval == "1M" else shard.interval
        if shard.end_ms <= now_ms:
            return [self._file(shard, "monthly", "klines", label, shard.period, *whole)]
        if DAILY_INTERVALS.get(shard.interval or "", 0) < HALF_PAGE:
            return []
        out, day = [], shard.start
        while to_ms(day + timedelta(days=1)) <= now_ms:
            start = to_ms(day)
            name = day.date().isoformat()
            out.append(self._file(shard, "daily", "klines", label, name, start, start + DAY_MS))
            day += timedelta(days=1)
        return out

    def missing_columns(self, shard: Shard) -> tuple[str, ...]:
        return ("mark_price",) if shard.dtype == "funding" else ()

    def columns(self, shard: Shard) -> dict[str, pa.DataType | None]:
        """Columns in file order; None marks one that is not kept."""
        if shard.dtype == "klines":
            return KLINE_COLUMNS
        if shard.dtype == "aggtrades":
            if shard.market == "spot":
                return {**AGGTRADE_COLUMNS, "is_best_match": None}
            return AGGTRADE_COLUMNS
        return FUNDING_COLUMNS

    def has_header(self, first_line: bytes) -> bool:
        """`open_time,open,…` on futures files from about mid-2022; spot files never."""
        first = first_line.split(b",", 1)[0].strip()
        return not first.isdigit()

    def layout(self, shard: Shard, first_line: bytes) -> CsvLayout:
        """Fixed column order; a header, where a file has one, is skipped."""
        columns = self.columns(shard)
        types = {name: kind for name, kind in columns.items() if kind is not None}
        return CsvLayout(tuple(columns), types, self.has_header(first_line))

    def to_batch(self, raw: pa.RecordBatch, shard: Shard) -> pa.RecordBatch:
        """`1735689600000000,93576.00000000,…,True,True` (spot 2025, µs) or
        `1704067200000,42314.00,…` (ms): times to ms, columns in the schema's order."""
        schema = SCHEMAS[shard.dtype]
        times = TIME_COLUMNS[shard.dtype]
        arrays = []
        for name in schema.names:
            if shard.dtype == "funding" and name == "mark_price":
                arrays.append(pa.nulls(raw.num_rows, F64))  # the funding archive has none
            elif name in times:
                arrays.append(_ms(raw.column(name)))
            else:
                arrays.append(raw.column(name))
        return pa.RecordBatch.from_arrays(arrays, schema=schema)
