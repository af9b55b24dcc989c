"""The shard model: keys, periods and the validation that guards file paths."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.errors import InputError
from storage.shards import Shard, clean_symbol, periods


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def ms(*args: int) -> int:
    return int(utc(*args).timestamp() * 1000)


KLINES = Shard("binance", "spot", "klines", "BTCUSDT", "2024-01", "1m")
AGGTRADES = Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-01-15")
FUNDING = Shard("binance", "usdm", "funding", "BTCUSDT", "2024-01")

KEYS = [
    (KLINES, "binance:spot:klines:1m:BTCUSDT:2024-01"),
    (AGGTRADES, "binance:spot:aggtrades:BTCUSDT:2024-01-15"),
    (FUNDING, "binance:usdm:funding:BTCUSDT:2024-01"),
]


@pytest.mark.parametrize(("shard", "key"), KEYS, ids=["klines", "aggtrades", "funding"])
def test_key_is_the_design_spelling_for_all_three_dtypes(shard: Shard, key: str) -> None:
    assert shard.key == key


@pytest.mark.parametrize(("shard", "key"), KEYS, ids=["klines", "aggtrades", "funding"])
def test_parse_then_key_round_trips_for_all_three_dtypes(shard: Shard, key: str) -> None:
    assert Shard.parse(key).key == key
    assert Shard.parse(key) == shard


@pytest.mark.parametrize(("shard", "key"), KEYS, ids=["klines", "aggtrades", "funding"])
def test_key_then_parse_round_trips_for_all_three_dtypes(shard: Shard, key: str) -> None:
    assert Shard.parse(shard.key) == shard


@pytest.mark.parametrize(
    ("shard", "start", "end"),
    [
        (KLINES, utc(2024, 1, 1), utc(2024, 2, 1)),
        (
            Shard("binance", "spot", "klines", "BTCUSDT", "2023-12", "1m"),
            utc(2023, 12, 1),
            utc(2024, 1, 1),
        ),
        (
            Shard("binance", "usdm", "funding", "BTCUSDT", "2024-02"),
            utc(2024, 2, 1),
            utc(2024, 3, 1),
        ),
        (
            Shard("binance", "usdm", "funding", "BTCUSDT", "2023-02"),
            utc(2023, 2, 1),
            utc(2023, 3, 1),
        ),
        (AGGTRADES, utc(2024, 1, 15), utc(2024, 1, 16)),
        (
            Shard("binance", "spot", "aggtrades", "BTCUSDT", "2023-12-31"),
            utc(2023, 12, 31),
            utc(2024, 1, 1),
        ),
        (
            Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-01-31"),
            utc(2024, 1, 31),
            utc(2024, 2, 1),
        ),
    ],
    ids=[
        "january",
        "december-to-january",
        "leap-february",
        "february",
        "day",
        "new-year-eve",
        "month-end-day",
    ],
)
def test_period_bounds_are_utc_and_end_exclusive(
    shard: Shard, start: datetime, end: datetime
) -> None:
    assert (shard.start, shard.end) == (start, end)
    assert shard.start_ms == int(start.timestamp() * 1000)
    assert shard.end_ms == int(end.timestamp() * 1000)


def test_leap_day_is_its_own_shard() -> None:
    leap = Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-02-29")
    assert leap.start == utc(2024, 2, 29)
    assert leap.end == utc(2024, 3, 1)
    assert leap.end_ms - leap.start_ms == 86_400_000


def test_january_bounds_in_ms() -> None:
    assert KLINES.start_ms == 1_704_067_200_000
    assert KLINES.end_ms == 1_706_745_600_000


@pytest.mark.parametrize(
    ("dtype", "start", "end", "expected"),
    [
        ("klines", utc(2024, 1, 1), utc(2024, 4, 1), ["2024-01", "2024-02", "2024-03"]),
        ("funding", utc(2023, 11, 1), utc(2024, 2, 1), ["2023-11", "2023-12", "2024-01"]),
        (
            "aggtrades",
            utc(2024, 2, 27),
            utc(2024, 3, 2),
            ["2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01"],
        ),
        ("aggtrades", utc(2023, 12, 31), utc(2024, 1, 2), ["2023-12-31", "2024-01-01"]),
        # a window starting mid-period still gets that whole period
        ("klines", utc(2024, 1, 15, 12), utc(2024, 3, 1), ["2024-01", "2024-02"]),
        (
            "aggtrades",
            utc(2024, 1, 15, 23, 59),
            utc(2024, 1, 16, 0, 1),
            ["2024-01-15", "2024-01-16"],
        ),
        # the end is exclusive: a window ending exactly on a boundary stops before it
        ("klines", utc(2024, 1, 1), utc(2024, 2, 1), ["2024-01"]),
        ("aggtrades", utc(2024, 1, 15), utc(2024, 1, 16), ["2024-01-15"]),
        # ... and one ending a millisecond past it reaches into the next period
        ("klines", utc(2024, 1, 1), utc(2024, 2, 1, 0, 0, 0, 1000), ["2024-01", "2024-02"]),
        # empty windows
        ("klines", utc(2024, 1, 1), utc(2024, 1, 1), []),
        ("aggtrades", utc(2024, 2, 1), utc(2024, 1, 1), []),
    ],
    ids=[
        "months",
        "months-over-new-year",
        "days-over-leap-day",
        "days-over-new-year",
        "mid-month-start",
        "mid-day-start",
        "month-end-exclusive",
        "day-end-exclusive",
        "one-ms-past-boundary",
        "empty",
        "reversed",
    ],
)
def test_periods_overlapping_a_window(
    dtype: str, start: datetime, end: datetime, expected: list[str]
) -> None:
    assert periods(dtype, start, end) == expected


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("btcusdt", "BTCUSDT"),
        ("BTCUSDT", "BTCUSDT"),
        (" ethbtc ", "ETHBTC"),
        ("1000PEPEUSDT", "1000PEPEUSDT"),
    ],
)
def test_clean_symbol_upper_cases_what_it_accepts(raw: str, clean: str) -> None:
    assert clean_symbol(raw) == clean


@pytest.mark.parametrize(
    "raw", ["../x", "BTC/USDT", "a", "", "BTC_USDT", "BTC USDT", "BTC\\USDT", "..", "X" * 33]
)
def test_clean_symbol_refuses_path_and_odd_characters(raw: str) -> None:
    with pytest.raises(InputError, match="for example BTCUSDT"):
        clean_symbol(raw)


def test_an_exchange_spelling_is_refused_with_the_one_spelling_every_exchange_takes() -> None:
    with pytest.raises(InputError, match="BTCUSDT, on every exchange"):
        clean_symbol("BTC_USDT")  # Gate's and MEXC futures' spelling; the adapters map to it


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(
            ("binance", "usdm", "funding", "BTCUSDT", "2024-01", "1m"), id="interval-on-funding"
        ),
        pytest.param(
            ("binance", "spot", "aggtrades", "BTCUSDT", "2024-01-15", "1m"),
            id="interval-on-aggtrades",
        ),
        pytest.param(
            ("binance", "spot", "klines", "BTCUSDT", "2024-01"), id="klines-without-interval"
        ),
        pytest.param(("binance", "spot", "klines", "BTCUSDT", "2024-01", "1x"), id="bad-interval"),
        pytest.param(
            ("binance", "spot", "klines", "BTCUSDT", "2024-01-15", "1m"), id="day-period-on-klines"
        ),
        pytest.param(
            ("binance", "spot", "aggtrades", "BTCUSDT", "2024-01"), id="month-period-on-aggtrades"
        ),
        pytest.param(
            ("binance", "spot", "klines", "BTCUSDT", "2024-1", "1m"), id="one-digit-month"
        ),
        pytest.param(("binance", "spot", "klines", "BTCUSDT", "2024/01", "1m"), id="slash-period"),
        pytest.param(("binance", "spot", "klines", "BTCUSDT", "", "1m"), id="empty-period"),
        pytest.param(("binance", "spot", "trades", "BTCUSDT", "2024-01"), id="unknown-dtype"),
        pytest.param(
            ("binance", "spot", "klines", "btcusdt", "2024-01", "1m"), id="lowercase-symbol"
        ),
        pytest.param(("binance", "spot", "klines", "../X", "2024-01", "1m"), id="path-in-symbol"),
        pytest.param(
            ("Binance", "spot", "klines", "BTCUSDT", "2024-01", "1m"), id="capitalised-exchange"
        ),
        pytest.param(
            ("binance", "../spot", "klines", "BTCUSDT", "2024-01", "1m"), id="path-in-market"
        ),
    ],
)
def test_invalid_shards_are_refused(args: tuple) -> None:
    with pytest.raises(InputError):
        Shard(*args)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("binance", "spot", "klines", "BTCUSDT", "2024-13", "1m"), id="month-13"),
        pytest.param(
            ("binance", "spot", "aggtrades", "BTCUSDT", "2023-02-29"), id="feb-29-in-common-year"
        ),
    ],
)
def test_periods_that_are_not_calendar_dates_are_refused(args: tuple) -> None:
    # binance:spot:klines:1m:BTCUSDT:2024-13 must be refused like any bad period, not accepted
    # and then crash with a ValueError the first time its bounds (or its path's data) are read.
    with pytest.raises(InputError, match="bad period"):
        Shard(*args)


@pytest.mark.parametrize(
    "key",
    [
        "binance:spot:BTCUSDT:2024-01",
        "binance:spot:klines:1m:BTCUSDT:2024-01:extra",
        "",
        "binance:spot:funding:1m:BTCUSDT:2024-01",
        "binance:spot:klines:BTCUSDT:2024-01",
    ],
)
def test_malformed_keys_are_refused(key: str) -> None:
    with pytest.raises(InputError):
        Shard.parse(key)


def test_each_exchange_has_its_own_queue() -> None:
    assert KLINES.queue == "binance"
