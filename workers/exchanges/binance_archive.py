"""Binance's public data archive: which zipped CSV holds a shard, and how its columns read.

Layout: `{base}/data/{spot|futures/um}/{monthly|daily}/{KIND}/SYMBOL/[interval/]
SYMBOL-{interval|KIND}-{YYYY-MM[-DD]}.zip`, each with a sibling `.zip.CHECKSUM`; KIND is
klines, aggTrades, fundingRate (monthly), markPriceKlines, indexPriceKlines,
premiumIndexKlines, or metrics (daily: open interest). Quirks handled here: spot files have
no header and newer futures files do; spot files dated 2025-01-01 on carry microsecond
times; the archive spells `1M` as `1mo`; the funding archive has no mark price; the price
klines carry the klines' columns with "0" volumes; metrics times are UTC text.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from storage.schemas import SCHEMAS
from storage.shards import Shard
from workers.exchanges.base import ArchiveFile, CsvLayout
from workers.sourceplan import Span

#: any time value with 16 or more digits is in microseconds (spot files from 2025 on)
MICROS_FROM = 10**15
MARKET_PATH = {"spot": "spot", "usdm": "futures/um"}
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
#: the daily `metrics` file: open interest every 5 minutes, `create_time` as UTC text
#: (`2024-01-15 00:05:00`), then four long/short ratios that are not kept
METRICS_COLUMNS: dict[str, pa.DataType | None] = {
    "create_time": pa.timestamp("ms"),
    "symbol": None,
    "sum_open_interest": F64,
    "sum_open_interest_value": F64,
    "count_toptrader_long_short_ratio": None,
    "sum_toptrader_long_short_ratio": None,
    "count_long_short_ratio": None,
    "sum_taker_long_short_vol_ratio": None,
}
TIME_COLUMNS = {
    "klines": ("open_time", "close_time"),
    "aggtrades": ("time",),
    "funding": ("funding_time",),
}


#: data type -> (the archive's kind, its file label; None: the shard's interval)
KINDS: dict[str, tuple[str, str | None]] = {
    "klines": ("klines", None),
    "aggtrades": ("aggTrades", "aggTrades"),
    "funding": ("fundingRate", "fundingRate"),
    "markklines": ("markPriceKlines", None),
    "indexklines": ("indexPriceKlines", None),
    "premiumklines": ("premiumIndexKlines", None),
    "openinterest": ("metrics", "metrics"),
}
INTERVAL_KINDS = ("klines", "markPriceKlines", "indexPriceKlines", "premiumIndexKlines")


def _ms(values: pa.Array) -> pa.Array:
    """Epoch integers to timestamp[ms], whatever their unit: >= 16 digits means microseconds."""
    micros = pc.greater_equal(values, MICROS_FROM)
    millis = pc.if_else(micros, pc.divide(values, 1000), values)
    return pc.cast(millis, pa.timestamp("ms", tz="UTC"))


class BinanceArchive:
    """Pure declarations of the archive at `base_url` (BINANCE_ARCHIVE_URL)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def listing_url(self, shard: Shard) -> str | None:
        return None  # file names follow from the shard

    def file(self, shard: Shard, span: Span, listing: str | None = None) -> ArchiveFile | None:
        """`.../monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01.zip` for a month,
        `.../daily/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2024-01-15.zip` for a day."""
        if shard.market not in MARKET_PATH:
            return None
        kind, label = KINDS[shard.dtype]
        if label is None:
            label = "1mo" if shard.interval == "1M" else shard.interval
        folder = f"{shard.symbol}/{label}" if kind in INTERVAL_KINDS else shard.symbol
        day = datetime.fromtimestamp(span.start_ms / 1000, UTC).date().isoformat()
        cadence, stamp = ("monthly", day[:7]) if span.cadence == "month" else ("daily", day)
        url = (
            f"{self.base_url}/data/{MARKET_PATH[shard.market]}/{cadence}/{kind}/{folder}/"
            f"{shard.symbol}-{label}-{stamp}.zip"
        )
        return ArchiveFile(url, span.start_ms, span.end_ms, GROUP, checksum_url=url + ".CHECKSUM")

    def columns(self, shard: Shard) -> dict[str, pa.DataType | None]:
        """Columns in file order; None marks one that is not kept."""
        if shard.kind.interval:  # klines, and the price klines in the same columns
            return KLINE_COLUMNS
        if shard.dtype == "openinterest":
            return METRICS_COLUMNS
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

    def to_batch(self, raw: pa.RecordBatch, shard: Shard, first_row: int = 0) -> pa.RecordBatch:
        """`1735689600000000,93576.00000000,…,True,True` (spot 2025, µs) or
        `1704067200000,42314.00,…` (ms): times to ms, columns in the schema's order."""
        schema = SCHEMAS[shard.dtype]
        if shard.dtype == "openinterest":
            return pa.RecordBatch.from_arrays(
                [
                    pc.cast(raw.column("create_time"), schema.field("time").type),
                    raw.column("sum_open_interest"),
                    raw.column("sum_open_interest_value"),
                ],
                schema=schema,
            )
        times = TIME_COLUMNS["klines" if shard.kind.interval else shard.dtype]
        arrays = []
        for name in schema.names:
            if shard.dtype == "funding" and name == "mark_price":
                arrays.append(pa.nulls(raw.num_rows, F64))  # the funding archive has none
            elif name in times:
                arrays.append(_ms(raw.column(name)))
            else:
                arrays.append(raw.column(name))
        return pa.RecordBatch.from_arrays(arrays, schema=schema)
