"""The data types: one row per type says everything storage needs to know about it.

Schema, sort key, time column, period, interval, the columns `verify` reads and the rules
it applies are facts of a data type, so they live here and nowhere else. Adding a data type
is one `DataType(...)` line below (plus the adapters that serve it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Literal

from storage.errors import InputError

if TYPE_CHECKING:
    import pyarrow as pa

#: a column's Arrow type by its short name; the table below names types this way so that
#: commands that never touch a file (`producer status`) do not pay pyarrow's import.
Column = tuple[str, Literal["time", "f64", "i64", "bool"]]

CANDLES: tuple[Column, ...] = (
    ("open_time", "time"),
    ("open", "f64"),
    ("high", "f64"),
    ("low", "f64"),
    ("close", "f64"),
    ("volume", "f64"),
    ("close_time", "time"),
    ("quote_volume", "f64"),
    ("trades", "i64"),
    ("taker_buy_base", "f64"),
    ("taker_buy_quote", "f64"),
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
    columns: tuple[Column, ...]
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
        return tuple(n for n, _ in self.columns if n in wanted)

    @property
    def time_columns(self) -> tuple[str, ...]:
        return tuple(n for n, kind in self.columns if kind == "time")

    @cached_property
    def schema(self) -> pa.Schema:
        """The Arrow schema every stored file of this type has (timestamps in ms, UTC)."""
        import pyarrow as pa

        types = {
            "time": pa.timestamp("ms", tz="UTC"),
            "f64": pa.float64(),
            "i64": pa.int64(),
            "bool": pa.bool_(),
        }
        return pa.schema([(n, types[kind]) for n, kind in self.columns])


def _candles(name: str, signed: bool = False) -> DataType:
    return DataType(
        name, CANDLES, "open_time", "open_time", "month", interval=True, ohlc=True,
        signed=signed, non_negative=CANDLE_VOLUMES,
    )  # fmt: skip


_TABLE = (
    _candles("klines"),
    DataType(
        "aggtrades",
        (
            ("agg_id", "i64"),
            ("price", "f64"),
            ("qty", "f64"),
            ("first_id", "i64"),
            ("last_id", "i64"),
            ("time", "time"),
            ("is_buyer_maker", "bool"),
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
        (("funding_time", "time"), ("funding_rate", "f64"), ("mark_price", "f64")),
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
        (("time", "time"), ("open_interest", "f64"), ("open_interest_value", "f64")),
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
