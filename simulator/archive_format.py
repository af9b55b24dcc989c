"""Binance archive files built from the ground truth: CSV in the real column order and quirks,
zipped, with the `sha256sum` line of the `.CHECKSUM` beside it.

Quirks reproduced: spot files have no header, futures files from 2022-06 on have one; spot
booleans are `True/False`, futures `true/false`; spot files dated 2025-01-01 or later carry
microsecond times (trades get sub-millisecond digits, candles close at …999999). Columns are
formatted with Arrow compute, so a day of three million trades takes seconds, not minutes.
"""

import hashlib
import io
import zipfile
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from simulator.candles import Candles
from simulator.catalog import SPOT, USDM, utc_ms
from simulator.fundingrates import Fundings
from simulator.noise import stream_key, uniform
from simulator.openinterest import Snapshots
from simulator.pricecandles import PriceCandles
from simulator.pricepath import TICKS_PER_UNIT, UNITS_PER_QTY
from simulator.trades import Trades

MICROS_FROM_MS = utc_ms(2025, 1, 1)
FUTURES_HEADER_FROM_MS = utc_ms(2022, 6, 1)
KLINE_HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
    "taker_buy_volume,taker_buy_quote_volume,ignore"
)
AGGTRADE_HEADER = (
    "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker"
)
FUNDING_HEADER = "calc_time,funding_interval_hours,last_funding_rate"
METRICS_HEADER = (
    "create_time,symbol,sum_open_interest,sum_open_interest_value,"
    "count_toptrader_long_short_ratio,sum_toptrader_long_short_ratio,count_long_short_ratio,"
    "sum_taker_long_short_vol_ratio"
)


@dataclass(frozen=True)
class ArchiveFile:
    """A zip as served, and the hex SHA-256 its .CHECKSUM announces."""

    name: str
    zip_bytes: bytes
    sha256: str

    @property
    def checksum_line(self) -> bytes:
        return f"{self.sha256}  {self.name}\n".encode()


def fixed_text(values: np.ndarray, scale: int, decimals: int) -> pa.Array:
    """Non-negative fixed-point integers as decimal strings: 4228358, 100, 2 -> '42283.58'."""
    whole, fraction = np.divmod(values.astype(np.int64), scale)
    digits = pc.utf8_lpad(pc.cast(pa.array(fraction), pa.string()), decimals, "0")
    return pc.binary_join_element_wise(pc.cast(pa.array(whole), pa.string()), digits, ".")


def _price(ticks: np.ndarray) -> pa.Array:
    """Ticks of 0.01 with Binance's eight decimals."""
    return pc.binary_join_element_wise(
        fixed_text(ticks, TICKS_PER_UNIT, 2), pa.scalar("000000"), ""
    )


def _qty(units: np.ndarray) -> pa.Array:
    return fixed_text(units, UNITS_PER_QTY, 8)


def _bools(values: np.ndarray, spot: bool) -> pa.Array:
    yes, no = ("True", "False") if spot else ("true", "false")
    return pa.array(np.where(values, yes, no))


def klines(rows: Candles, market: str, period_ms: int) -> tuple[list[pa.Array], str | None]:
    micros = market == SPOT and period_ms >= MICROS_FROM_MS
    open_t = rows.open_ms * 1000 if micros else rows.open_ms
    close_t = rows.close_ms * 1000 + 999 if micros else rows.close_ms
    columns = [
        pa.array(open_t),
        _price(rows.open_t),
        _price(rows.high_t),
        _price(rows.low_t),
        _price(rows.close_t),
        _qty(rows.volume_u),
        pa.array(close_t),
        _qty(rows.quote_u),
        pa.array(rows.trades),
        _qty(rows.taker_base_u),
        _qty(rows.taker_quote_u),
        pa.array(np.zeros(len(rows.open_ms), dtype=np.int64)),
    ]
    return columns, _header(market, period_ms, KLINE_HEADER)


def aggtrades(rows: Trades, market: str, period_ms: int) -> tuple[list[pa.Array], str | None]:
    spot = market == SPOT
    # From 2025 spot times are µs; the sub-millisecond digits are real there, so add some.
    time = (
        rows.time_ms * 1000 + rows.agg_id % 1000
        if spot and period_ms >= MICROS_FROM_MS
        else rows.time_ms
    )
    columns = [
        pa.array(rows.agg_id),
        _price(rows.price_t),
        _qty(rows.qty_u),
        pa.array(rows.first_id),
        pa.array(rows.last_id),
        pa.array(time),
        _bools(rows.is_buyer_maker, spot),
    ]
    if spot:
        columns.append(_bools(np.ones(len(rows.agg_id), dtype=bool), spot))
    return columns, _header(market, period_ms, AGGTRADE_HEADER)


def _signed_units(values: np.ndarray) -> pa.Array:
    """Integers in 1e-8 units (may be negative) as decimals with eight places."""
    sign = pa.array(np.where(values < 0, "-", ""))
    return pc.binary_join_element_wise(sign, fixed_text(np.abs(values), UNITS_PER_QTY, 8), "")


def price_klines(
    rows: PriceCandles, kind: str, period_ms: int
) -> tuple[list[pa.Array], str | None]:
    """Mark/index/premium klines: the klines' twelve columns, volumes and taker columns "0",
    `count` the number of underlying samples (as the REST rows)."""
    cells = (rows.open_v, rows.high_v, rows.low_v, rows.close_v)
    prices = [_signed_units(v) if kind == "premium" else _price(v) for v in cells]
    zeros = pa.array(np.full(len(rows), "0"))
    samples_ms = 5_000 if kind == "premium" else 1_000
    columns = [
        pa.array(rows.open_ms),
        *prices,
        zeros,
        pa.array(rows.close_ms),
        zeros,
        pa.array((rows.close_ms + 1 - rows.open_ms) // samples_ms),
        zeros,
        zeros,
        zeros,
    ]
    return columns, _header(USDM, period_ms, KLINE_HEADER)


def metrics(symbol: str, rows: Snapshots, seed: int) -> tuple[list[pa.Array], str]:
    """Daily open interest: create_time as `YYYY-MM-DD HH:MM:SS` (UTC text, not ms), the
    symbol, amount and value with eight decimals, and four long/short ratios (filler)."""
    times = pa.array((rows.time_ms // 1000).astype("datetime64[s]"))
    created = pc.strftime(times, format="%Y-%m-%d %H:%M:%S")
    key = stream_key(seed, "metrics", symbol)
    ratios = [
        fixed_text(
            np.rint((0.5 + 2 * uniform(stream_key(key, str(i)), rows.time_ms)) * 1e8),
            UNITS_PER_QTY,
            8,
        )
        for i in range(4)
    ]
    columns = [
        created,
        pa.array(np.full(len(rows), symbol)),
        fixed_text(rows.amount_u, UNITS_PER_QTY, 8),
        fixed_text(rows.value_u, UNITS_PER_QTY, 8),
        *ratios,
    ]
    return columns, METRICS_HEADER


def fundings(rows: Fundings, period_ms: int) -> tuple[list[pa.Array], str | None]:
    """No mark price: the funding archive has calc time, interval hours and the rate only."""
    rate = _signed_units(rows.rate_u)
    hours = rows.interval_ms // 3_600_000  # the interval from each funding to the next
    return [pa.array(rows.time_ms), pa.array(hours), rate], FUNDING_HEADER


def _header(market: str, period_ms: int, header: str) -> str | None:
    return header if market != SPOT and period_ms >= FUTURES_HEADER_FROM_MS else None


def build(name: str, columns: list[pa.Array], header: str | None) -> ArchiveFile:
    """Zip one CSV named like the zip; the checksum is of the zip's bytes."""
    table = pa.table(columns, names=[f"c{i}" for i in range(len(columns))])
    csv = io.BytesIO()
    if header is not None:
        csv.write(header.encode() + b"\n")
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    pacsv.write_csv(table, csv, write_options=options)
    out = io.BytesIO()
    # A fixed entry time: with the build time in it, two builds of one file would differ.
    entry = zipfile.ZipInfo(name.removesuffix(".zip") + ".csv", date_time=(1980, 1, 1, 0, 0, 0))
    entry.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr(entry, csv.getbuffer(), compresslevel=1)
    data = out.getvalue()
    return ArchiveFile(name, data, hashlib.sha256(data).hexdigest())
