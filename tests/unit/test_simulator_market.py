"""Ground truth of the simulator: deterministic, consistent across ranges, clipped to listings."""

from datetime import UTC, datetime
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest

from simulator import market
from simulator.catalog import UnknownSymbolError, utc_ms

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
JAN_2024 = utc_ms(2024, 1, 1)
FEB_2024 = utc_ms(2024, 2, 1)
NEW_LISTED = utc_ms(2024, 2, 15, 6)


def test_klines_are_a_pure_function_of_seed_and_range():
    first = market.klines("BTCUSDT", "spot", "1m", JAN_2024, JAN_2024 + DAY_MS)
    again = market.klines("BTCUSDT", "spot", "1m", JAN_2024, JAN_2024 + DAY_MS)
    other_seed = market.klines("BTCUSDT", "spot", "1m", JAN_2024, JAN_2024 + DAY_MS, seed=1)
    other_market = market.klines("BTCUSDT", "usdm", "1m", JAN_2024, JAN_2024 + DAY_MS)
    pd.testing.assert_frame_equal(first, again)
    assert list(first.columns) == list(market.KLINE_COLUMNS)
    assert len(first) == 1440
    assert not first["close"].equals(other_seed["close"])
    assert not first["close"].equals(other_market["close"])


@pytest.mark.parametrize(
    ("interval", "start_ms", "end_ms", "cut_ms"),
    [
        ("1m", JAN_2024, FEB_2024, JAN_2024 + 12_345 * 60_000),
        ("1s", JAN_2024, JAN_2024 + HOUR_MS, JAN_2024 + 777_000),
        ("1h", JAN_2024, FEB_2024, JAN_2024 + 100 * HOUR_MS),
        ("1w", utc_ms(2022, 1, 1), FEB_2024, utc_ms(2023, 3, 1)),
        ("1M", utc_ms(2018, 1, 1), FEB_2024, utc_ms(2021, 7, 1)),
    ],
)
def test_any_sub_range_of_klines_equals_the_same_rows_of_a_larger_range(
    interval, start_ms, end_ms, cut_ms
):
    whole = market.klines("ETHUSDT", "spot", interval, start_ms, end_ms)
    head = market.klines("ETHUSDT", "spot", interval, start_ms, cut_ms)
    tail = market.klines("ETHUSDT", "spot", interval, cut_ms, end_ms)
    joined = pd.concat([head, tail], ignore_index=True)
    pd.testing.assert_frame_equal(joined, whole, check_exact=True)


@pytest.mark.parametrize("interval", ["1s", "1m", "15m", "1h", "1d", "3d", "1w", "1M"])
def test_candles_are_sane(interval):
    span_ms = HOUR_MS if interval == "1s" else 400 * DAY_MS
    df = market.klines("BTCUSDT", "spot", interval, JAN_2024 - span_ms, JAN_2024)
    assert len(df) > 0
    assert (df["low"] <= df[["open", "close"]].min(axis=1)).all()
    assert (df["high"] >= df[["open", "close"]].max(axis=1)).all()
    assert (df["low"] > 0).all()
    assert (df["volume"] > 0).all() and (df["quote_volume"] > 0).all()
    assert (df["taker_buy_base"] <= df["volume"]).all()
    assert (df["taker_buy_quote"] <= df["quote_volume"]).all()
    assert (df["trades"] >= 1).all() and df["trades"].dtype == np.int64
    assert (df["close"].iloc[:-1].to_numpy() == df["open"].iloc[1:].to_numpy()).all()
    assert df["open_time"].is_monotonic_increasing and df["open_time"].is_unique


def test_prices_are_cents_and_quantities_are_1e8_units():
    df = market.klines("BNBUSDT", "spot", "1m", JAN_2024, JAN_2024 + DAY_MS)
    for column in ("open", "high", "low", "close"):
        ticks = df[column] * 100
        assert (ticks == ticks.round()).all()
    trades = market.aggtrades("BNBUSDT", "spot", JAN_2024, JAN_2024 + HOUR_MS)
    # The float is exactly what parsing the served 8-decimal string gives.
    for value in trades["qty"].head(50):
        assert float(f"{round(value * 1e8) // 10**8}.{round(value * 1e8) % 10**8:08d}") == value


@pytest.mark.parametrize(("interval", "step_ms"), [("1m", 60_000), ("1h", HOUR_MS), ("1d", DAY_MS)])
def test_fixed_intervals_align_to_the_epoch(interval, step_ms):
    df = market.klines("BTCUSDT", "spot", interval, JAN_2024 + 7, JAN_2024 + 30 * DAY_MS)
    assert (df["open_time"] % step_ms == 0).all()
    assert (df["close_time"] == df["open_time"] + step_ms - 1).all()
    assert df["open_time"].iloc[0] == JAN_2024 + step_ms  # opens at or after start only


def test_weekly_candles_open_on_monday_midnight():
    df = market.klines("BTCUSDT", "spot", "1w", utc_ms(2023, 1, 1), FEB_2024)
    opens = pd.to_datetime(df["open_time"], unit="ms", utc=True)
    assert (opens.dt.day_of_week == 0).all()
    assert (opens.dt.hour == 0).all()
    assert (df["close_time"] == df["open_time"] + 7 * DAY_MS - 1).all()


def test_monthly_candles_follow_calendar_months():
    df = market.klines("BTCUSDT", "spot", "1M", utc_ms(2023, 1, 1), utc_ms(2024, 4, 1))
    opens = [datetime.fromtimestamp(t / 1000, UTC) for t in df["open_time"]]
    assert [(d.year, d.month, d.day, d.hour) for d in opens[:3]] == [
        (2023, 1, 1, 0),
        (2023, 2, 1, 0),
        (2023, 3, 1, 0),
    ]
    assert len(df) == 15
    # February 2024 has 29 days: the candle closes 1 ms before March.
    feb = df[df["open_time"] == FEB_2024].iloc[0]
    assert feb["close_time"] == utc_ms(2024, 3, 1) - 1


def test_nothing_exists_before_the_listing():
    assert market.klines("NEWUSDT", "spot", "1m", JAN_2024, FEB_2024).empty
    minutes = market.klines("NEWUSDT", "spot", "1m", FEB_2024, utc_ms(2024, 3, 1))
    assert minutes["open_time"].iloc[0] == NEW_LISTED
    trades = market.aggtrades("NEWUSDT", "usdm", utc_ms(2024, 2, 15), utc_ms(2024, 2, 16))
    assert trades["time"].iloc[0] == NEW_LISTED
    assert (
        trades["agg_id"].iloc[0]
        == market.aggtrades("NEWUSDT", "usdm", 0, NEW_LISTED + 1)["agg_id"].iloc[0]
    )


def test_coarse_candles_start_with_the_candle_containing_the_listing():
    days = market.klines("NEWUSDT", "spot", "1d", FEB_2024, utc_ms(2024, 3, 1))
    months = market.klines("NEWUSDT", "spot", "1M", 0, utc_ms(2024, 6, 1))
    assert days["open_time"].iloc[0] == utc_ms(2024, 2, 15)
    assert months["open_time"].iloc[0] == FEB_2024


@pytest.mark.parametrize(
    ("symbol", "market_name", "dtype", "expected_ms"),
    [
        ("BTCUSDT", "spot", "klines", utc_ms(2017, 8, 17, 4)),
        ("BNBUSDT", "spot", "aggtrades", utc_ms(2017, 11, 6, 3)),
        ("NEWUSDT", "spot", "klines", NEW_LISTED),
        ("BTCUSDT", "usdm", "funding", utc_ms(2019, 9, 10, 8)),
        ("NEWUSDT", "usdm", "funding", utc_ms(2024, 2, 15, 8)),
        ("ETHUSDT", "usdm", "aggtrades", utc_ms(2019, 11, 27, 7)),
    ],
)
def test_first_time_of_each_dataset(symbol, market_name, dtype, expected_ms):
    assert market.first_time_ms(symbol, market_name, dtype) == expected_ms


def test_listing_times_and_unknown_symbols():
    assert market.listing_ms("ETHUSDT", "spot") == utc_ms(2017, 8, 17, 4)
    assert market.listing_ms("BTCUSDT", "usdm") == utc_ms(2019, 9, 8)
    with pytest.raises(UnknownSymbolError):
        market.listing_ms("BNBUSDT", "usdm")
    with pytest.raises(UnknownSymbolError):
        market.klines("DOGEUSDT", "spot", "1m", JAN_2024, FEB_2024)
    with pytest.raises(ValueError, match="market"):
        market.listing_ms("BTCUSDT", "coinm")


def _assert_trade_invariants(df):
    assert list(df.columns) == list(market.AGGTRADE_COLUMNS)
    assert (np.diff(df["agg_id"].to_numpy()) == 1).all()
    assert (np.diff(df["time"].to_numpy()) >= 0).all()
    assert (df["first_id"] <= df["last_id"]).all()
    assert (df["last_id"].to_numpy()[:-1] < df["first_id"].to_numpy()[1:]).all()
    assert (df["qty"] > 0).all() and (df["price"] > 0).all()
    assert df["is_buyer_maker"].dtype == bool
    assert df["agg_id"].dtype == np.int64 and df["time"].dtype == np.int64


def test_a_day_of_trades_has_contiguous_ids_and_ordered_times():
    day = market.aggtrades("BTCUSDT", "spot", JAN_2024, JAN_2024 + DAY_MS)
    _assert_trade_invariants(day)
    assert abs(len(day) - market.DEFAULT_TRADES_PER_DAY) <= 1
    assert day["time"].between(JAN_2024, JAN_2024 + DAY_MS - 1).all()
    next_day = market.aggtrades("BTCUSDT", "spot", JAN_2024 + DAY_MS, JAN_2024 + 2 * DAY_MS)
    assert next_day["agg_id"].iloc[0] == day["agg_id"].iloc[-1] + 1


def test_a_dense_hour_of_trades_is_consistent_with_its_pieces():
    dense = {"trades_per_day": 3_000_000}
    hour = market.aggtrades("BTCUSDT", "spot", JAN_2024, JAN_2024 + HOUR_MS, **dense)
    _assert_trade_invariants(hour)
    assert abs(len(hour) - 125_000) <= 1
    assert hour["time"].duplicated().any()  # several trades can share a millisecond
    cuts = [JAN_2024, JAN_2024 + 1, JAN_2024 + 1_234_567, JAN_2024 + 1_234_568, JAN_2024 + HOUR_MS]
    pieces = [market.aggtrades("BTCUSDT", "spot", lo, hi, **dense) for lo, hi in pairwise(cuts)]
    pd.testing.assert_frame_equal(pd.concat(pieces, ignore_index=True), hour, check_exact=True)


def test_funding_is_every_eight_hours_from_the_first_funding():
    df = market.funding("BTCUSDT", 0, utc_ms(2019, 10, 1))
    assert list(df.columns) == list(market.FUNDING_COLUMNS)
    assert df["funding_time"].iloc[0] == utc_ms(2019, 9, 10, 8)
    assert (np.diff(df["funding_time"].to_numpy()) == 8 * HOUR_MS).all()
    assert (df["funding_time"] % (8 * HOUR_MS) == 0).all()
    assert (df["mark_price"] > 0).all()
    assert (df["funding_rate"].abs() < 0.01).all()
    year = market.funding("ETHUSDT", utc_ms(2023, 1, 1), utc_ms(2024, 1, 1))
    assert len(year) == 365 * 3
    assert (year["funding_rate"] < 0).any() and (year["funding_rate"] > 0).any()
