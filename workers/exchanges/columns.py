"""Column helpers the adapters share: decimal strings, epoch units, candle grids, empty batches."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
#: The dataset's interval names (Binance's spelling) and their length; 1M is a calendar month,
#: counted as its shortest length so a page never holds more candles than planned.
INTERVAL_MS = {
    "1s": 1_000,
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": HOUR_MS,
    "2h": 2 * HOUR_MS,
    "4h": 4 * HOUR_MS,
    "6h": 6 * HOUR_MS,
    "8h": 8 * HOUR_MS,
    "12h": 12 * HOUR_MS,
    "1d": DAY_MS,
    "3d": 3 * DAY_MS,
    "1w": 7 * DAY_MS,
    "1M": 28 * DAY_MS,
}
TIME = pa.timestamp("ms", tz="UTC")


def decimals(values: pa.Array) -> pa.Array:
    """Decimal strings (or JSON numbers) to float64 in one cast; '' and null become null."""
    if pa.types.is_floating(values.type) or pa.types.is_integer(values.type):
        return pc.cast(values, pa.float64())
    strings = pc.cast(values, pa.string())
    return pc.cast(pc.if_else(pc.equal(strings, ""), None, strings), pa.float64())


def contract_sizes(values: pa.Array, size: str) -> pa.Array:
    """Counts of contracts, each `size` base units (a decimal string like "0.0001"), as
    float64 base units. Divided by the inverse where that is whole (0.0001 -> / 10000), so
    3 contracts of 1e-8 are 3e-08 as the decimal says, not 3.0000000000000004e-08."""
    counts = decimals(values) if len(values) else pa.array([], pa.float64())
    per = Decimal(size)
    if per <= 0:
        raise ValueError(f"a contract size must be positive, not {size!r}")
    inverse = 1 / per
    if inverse == inverse.to_integral_value():
        return pc.divide(counts, float(inverse))
    return pc.multiply(counts, float(per))


def epoch_ms(values: pa.Array, unit_ms: int = 1) -> pa.Array:
    """Integer (or integer-string) epoch times in `unit_ms` units as timestamp[ms]."""
    ints = pc.cast(pc.cast(values, pa.string()), pa.int64()) if _texty(values) else values
    ints = pc.cast(ints, pa.int64())
    if unit_ms != 1:
        ints = pc.multiply(ints, unit_ms)
    return pc.cast(ints, TIME)


#: epoch values below this are seconds, from MICROS_FROM on microseconds (ms in between):
#: 1e11 s is the year 5138 and 1e11 ms is 1973; 1e14 µs is 1973 and 1e14 ms the year 5138
SECONDS_BELOW, MICROS_FROM = 1e11, 1e14


def epoch_ms_by_magnitude(values: pa.Array) -> pa.Array:
    """Epoch times in seconds, ms or µs (integers or floats, judged value by value by their
    magnitude) as timestamp[ms]; fractions of a millisecond are dropped."""
    times = pc.cast(values, pa.float64())
    # Division by 1000 is exact for whole µs below 2**53; multiplying by 0.001 would not be.
    ms = pc.if_else(
        pc.less(times, SECONDS_BELOW),
        pc.multiply(times, 1000.0),
        pc.if_else(pc.greater_equal(times, MICROS_FROM), pc.divide(times, 1000.0), times),
    )
    return pc.cast(pc.cast(pc.floor(ms), pa.int64()), TIME)


def epoch_ms_from_seconds_text(values: pa.Array) -> pa.Array:
    """Decimal seconds as text (`1767225600.6864`) to timestamp[ms], digit by digit: the
    milliseconds are the first three decimals, with no float rounding in between."""
    parts = pc.extract_regex(values, r"(?P<s>[0-9]+)(?:\.(?P<f>[0-9]{0,3}))?")
    whole = pc.multiply(pc.cast(parts.field("s"), pa.int64()), 1000)
    millis = pc.cast(pc.utf8_rpad(parts.field("f"), 3, "0"), pa.int64())
    return pc.cast(pc.add(whole, millis), TIME)


def _texty(values: pa.Array) -> bool:
    return pa.types.is_string(values.type) or pa.types.is_large_string(values.type)


def close_times(open_ms: pa.Array, interval: str) -> pa.Array:
    """Binance's convention, used for every exchange: the next candle's open minus 1 ms."""
    opens = pc.cast(open_ms, pa.int64()).to_numpy(zero_copy_only=False)
    if interval == "1M":
        months = opens.astype("datetime64[ms]").astype("datetime64[M]") + 1
        nxt = months.astype("datetime64[ms]").astype(np.int64)
    else:
        nxt = opens + INTERVAL_MS[interval]
    return pa.array(nxt - 1, pa.int64()).cast(TIME)


def empty(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=schema)


def nulls(n: int, dtype: pa.DataType) -> pa.Array:
    return pa.nulls(n, dtype)


def null_out(batch: pa.RecordBatch, names: tuple[str, ...]) -> pa.RecordBatch:
    """The batch with the named columns null, whatever they held: what an exchange never
    fills is stored null as its capability table says ("0" volumes of Binance's price
    candles), so the table's word holds in every file."""
    if not names or not batch.num_rows:
        return batch
    arrays = [
        pa.nulls(batch.num_rows, field.type) if field.name in names else column
        for field, column in zip(batch.schema, batch.columns, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=batch.schema)


def sort_batch(batch: pa.RecordBatch, key: str) -> pa.RecordBatch:
    """Rows ordered by `key` ascending (pages that arrive newest first)."""
    if batch.num_rows < 2:
        return batch
    return batch.take(pc.sort_indices(batch, sort_keys=[(key, "ascending")]))


def window_filter(batch: pa.RecordBatch, column: str, lo_ms: int, hi_ms: int) -> pa.RecordBatch:
    """Rows whose `column` lies in [lo_ms, hi_ms)."""
    times = pc.cast(batch.column(column), pa.int64())
    keep = pc.and_(pc.greater_equal(times, lo_ms), pc.less(times, hi_ms))
    return batch.filter(keep)


def split_symbol(symbol: str, quotes: tuple[str, ...]) -> tuple[str, str] | None:
    """BTCUSDT -> (BTC, USDT) by the longest known quote currency that ends it."""
    for quote in sorted(quotes, key=len, reverse=True):
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    return None
