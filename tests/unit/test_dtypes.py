"""The data-type table: every fact a data type has, in one place, and the rest reads it."""

from __future__ import annotations

import pytest

from storage.dtypes import DTYPES, DataType, dtype
from storage.errors import InputError
from storage.gaps import step
from storage.shards import Shard


@pytest.mark.parametrize("kind", DTYPES.values(), ids=list(DTYPES))
def test_each_type_names_columns_of_its_own_schema(kind: DataType) -> None:
    names = set(kind.schema.names)
    assert {kind.sort_key, kind.time_column} <= names
    assert set(kind.checked) <= names and set(kind.non_negative + kind.positive) <= names
    assert kind.time_column in kind.time_columns
    assert kind.interval + kind.ids + kind.snapshots <= 1, "one step rule per type"


def test_the_table_says_what_the_design_says() -> None:
    facts = {n: (t.period, t.interval, t.sort_key, t.time_column) for n, t in DTYPES.items()}
    assert facts == {
        "klines": ("month", True, "open_time", "open_time"),
        "aggtrades": ("day", False, "agg_id", "time"),
        "funding": ("month", False, "funding_time", "funding_time"),
        "markklines": ("month", True, "open_time", "open_time"),
        "indexklines": ("month", True, "open_time", "open_time"),
        "premiumklines": ("month", True, "open_time", "open_time"),
        "openinterest": ("month", False, "time", "time"),
    }
    assert [n for n, t in DTYPES.items() if t.signed] == ["premiumklines"]
    assert [n for n, t in DTYPES.items() if t.snapshots] == ["openinterest"]
    assert DTYPES["klines"].checked == (
        "open_time", "open", "high", "low", "close", "volume", "quote_volume", "trades",
        "taker_buy_base", "taker_buy_quote",
    )  # fmt: skip
    assert DTYPES["aggtrades"].checked == ("agg_id", "price", "qty", "time")
    assert DTYPES["funding"].checked == ("funding_time",)


def test_shards_periods_and_gap_steps_follow_the_table() -> None:
    month = Shard("binance", "spot", "klines", "BTCUSDT", "2024-02", "1h")
    day = Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-02-29")
    funding = Shard("binance", "usdm", "funding", "BTCUSDT", "2024-02")
    assert (month.end_ms - month.start_ms, day.end_ms - day.start_ms) == (
        29 * 86_400_000,
        86_400_000,
    )
    assert (step(month), step(day), step(day, "sparse"), step(funding)) == (
        3_600_000,
        1,
        None,
        None,
    )


def test_an_unknown_type_is_refused_with_the_known_ones() -> None:
    with pytest.raises(InputError, match="choose from klines, aggtrades, funding, markklines"):
        dtype("candles")
    with pytest.raises(InputError, match="goes with klines"):
        Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-02-29", "1m")
