"""Gap finding: candle slots by interval, trade ids by one, and the edges of a month."""

from __future__ import annotations

import numpy as np
import pytest

from storage.gaps import edge_gaps, from_metadata, inner_gaps, interval_ms, to_metadata
from storage.shards import Shard

MIN = 60_000
WEEK = 7 * 86_400_000


@pytest.mark.parametrize(
    ("interval", "ms"),
    [
        ("1s", 1000),
        ("1m", MIN),
        ("15m", 15 * MIN),
        ("4h", 4 * 3_600_000),
        ("3d", 3 * 86_400_000),
        ("1w", WEEK),
        ("1M", None),
    ],
)
def test_interval_ms(interval: str, ms: int | None) -> None:
    assert interval_ms(interval) == ms


def test_inner_gaps_are_half_open_ranges_of_what_is_missing() -> None:
    assert inner_gaps(np.array([0, 1, 2, 5, 6, 9]), 1) == [(3, 5), (7, 9)]
    assert inner_gaps(np.array([10, 11]), 1, before=7) == [(8, 10)], "across batches"
    assert inner_gaps(np.array([0, MIN, 3 * MIN]), MIN) == [(2 * MIN, 3 * MIN)]


def test_weekly_candles_that_do_not_start_on_the_first_are_not_a_gap() -> None:
    month = Shard("binance", "spot", "klines", "BTCUSDT", "2024-01", "1w")
    first_monday = month.start_ms  # 2024-01-01 was a Monday
    last_monday = first_monday + 4 * WEEK  # 2024-01-29
    assert edge_gaps(month, first_monday, last_monday, complete=True) == []
    feb = Shard("binance", "spot", "klines", "BTCUSDT", "2024-02", "1w")
    assert edge_gaps(feb, first_monday + 5 * WEEK, first_monday + 8 * WEEK, complete=True) == []


def test_edges_of_a_minute_month_and_of_an_unfinished_one() -> None:
    month = Shard("binance", "spot", "klines", "BTCUSDT", "2024-02", "1m")
    last = month.end_ms - MIN
    assert edge_gaps(month, month.start_ms, last, complete=True) == []
    assert edge_gaps(month, month.start_ms + 2 * MIN, last - MIN, complete=True) == [
        (month.start_ms, month.start_ms + 2 * MIN),
        (last, month.end_ms),
    ]
    assert edge_gaps(month, month.start_ms, month.start_ms + 10 * MIN, complete=False) == []


def test_gaps_round_trip_through_file_metadata() -> None:
    gaps = [(1, 5), (9, 12)]
    assert from_metadata(to_metadata(gaps)) == set(gaps)
    assert from_metadata(None) == set()
