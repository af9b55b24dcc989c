"""The data types: one row per type says everything storage needs to know about it.

Schema, sort key, time column, period, interval, the columns `verify` reads and the rules
it applies are facts of a data type, so they live here and nowhere else. Adding a data type
is one `DataType(...)` line below (plus the adapters that serve it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from storage.errors import InputError

TIME = pa.timestamp("ms", tz="UTC")
F64 = pa.float64()

CANDLES = pa.schema(
    [
        ("open_time", TIME),
        ("open", F64),
        ("high", F64),
        ("low", F64),
        ("close", F64),
        ("volume", F64),
        ("close_time", TIME),
        ("quote_volume", F64),
        ("trades", pa.int64()),
        ("taker_buy_base", F64),
        ("taker_buy_quote", F64),
    ]
)
CANDLE_VOLUMES = ("volume", "quote_volume", "trades", "taker_buy_base", "taker_buy_quote")
OHLC = ("open", "high", "low", "close")


@dataclass(frozen=True)
class DataType:
    """What one data type is, as storage sees it.

    `sort_key` orders a shard's rows and must increase strictly (sorted and unique);
    `time_column` places a row inside its shard's period. `interval`: shards carry a candle
    interval and rows step by it (gaps are missing slots); `ids`: rows step by one trade id
    where the exchange's ids are contiguous (gaps are skipped ids); `snapshots`: rows are
    taken every so often at a step the exchange declares (its capability table), gaps are
    missing snapshots; none of them: no gap check. `ohlc` types get the candle check
    (low <= open, close <= high, and low > 0 unless `signed`: premium index rates go below
    zero); columns in `non_negative` must be >= 0 and in `positive` > 0.
    """

    name: str
    schema: pa.Schema
    sort_key: str
    time_column: str
    period: Literal["month", "day"]
    interval: bool = False
    ids: bool = False
    snapshots: bool = False
    ohlc: bool = False
    signed: bool = False
    non_negative: tuple[str, ...] = ()
    positive: tuple[str, ...] = ()

    @property
    def checked(self) -> tuple[str, ...]:
        """The columns `verify` reads, so a trade day is not loaded whole to be checked."""
        wanted = {self.sort_key, self.time_column, *self.non_negative, *self.positive}
        if self.ohlc:
            wanted.update(OHLC)
        return tuple(n for n in self.schema.names if n in wanted)

    @property
    def time_columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.schema if pa.types.is_timestamp(f.type))


def _candles(name: str, signed: bool = False) -> DataType:
    return DataType(
        name, CANDLES, "open_time", "open_time", "month", interval=True, ohlc=True,
        signed=signed, non_negative=CANDLE_VOLUMES,
    )  # fmt: skip


_TABLE = (
    _candles("klines"),
    DataType(
        "aggtrades",
        pa.schema(
            [
                ("agg_id", pa.int64()),
                ("price", F64),
                ("qty", F64),
                ("first_id", pa.int64()),
                ("last_id", pa.int64()),
                ("time", TIME),
                ("is_buyer_maker", pa.bool_()),
            ]
        ),
        sort_key="agg_id",
        time_column="time",
        period="day",
        ids=True,
        non_negative=("qty",),
        positive=("price",),
    ),
    DataType(
        "funding",
        pa.schema([("funding_time", TIME), ("funding_rate", F64), ("mark_price", F64)]),
        sort_key="funding_time",
        time_column="funding_time",
        period="month",
    ),
    # The perpetual market's own series: mark, index and premium index price candles (the
    # klines columns; the volumes and counts no exchange gives for them are null) ...
    _candles("markklines"),
    _candles("indexklines"),
    _candles("premiumklines", signed=True),
    # ... and open interest, snapshots at the exchange's finest history step.
    DataType(
        "openinterest",
        pa.schema([("time", TIME), ("open_interest", F64), ("open_interest_value", F64)]),
        sort_key="time",
        time_column="time",
        period="month",
        snapshots=True,
        non_negative=("open_interest", "open_interest_value"),
    ),
)

#: name -> DataType, in the order the CLI lists them
DTYPES: dict[str, DataType] = {t.name: t for t in _TABLE}


def dtype(name: str) -> DataType:
    """The data type called `name`, or an InputError that lists the known ones."""
    try:
        return DTYPES[name]
    except KeyError:
        raise InputError(f"unknown data type {name!r}: choose from {', '.join(DTYPES)}") from None
