"""The configurable universe and the perpetual ground truth: deterministic, staggered,
delisted symbols stop, funding schedules change, mark/index/premium and open interest sane."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simulator import catalog, market
from simulator.catalog import CLASSIC, utc_ms
from simulator.universe import HOURLY, SWITCHING, Universe, today_ms

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
ANCHOR = utc_ms(2026, 12, 4)


@pytest.fixture
def universe():
    active = Universe(300, 12, seed=0, anchor_ms=ANCHOR).activate()
    yield active
    Universe().activate()


def test_the_default_universe_is_todays_four_symbols():
    assert Universe().listings == CLASSIC
    Universe().activate()
    assert market.symbols("spot") == ["BNBUSDT", "BTCUSDT", "ETHUSDT", "NEWUSDT"]
    assert market.symbols("usdm") == ["BTCUSDT", "ETHUSDT", "NEWUSDT"]


def test_a_universe_is_a_pure_function_of_its_settings():
    a = Universe(200, 5, seed=3, anchor_ms=ANCHOR).listings
    assert a == Universe(200, 5, seed=3, anchor_ms=ANCHOR).listings
    assert a != Universe(200, 5, seed=4, anchor_ms=ANCHOR).listings
    # Growing the universe keeps every earlier symbol as it was (delistings aside).
    small = {(x.symbol, x.market): x.listed_ms for x in Universe(50, 0, 3, ANCHOR).listings}
    big = {(x.symbol, x.market): x.listed_ms for x in Universe(200, 0, 3, ANCHOR).listings}
    assert all(big[key] == listed for key, listed in small.items())


def test_listings_are_staggered_from_years_to_weeks_before_the_anchor(universe):
    ages_days = np.array(
        [(ANCHOR - market.listing_ms(s, "spot")) / DAY_MS for s in market.symbols("spot")]
    )
    assert len(ages_days) == 300 and len(market.symbols("usdm")) == 299  # no BNB perpetual
    assert (ages_days > 730).sum() >= 30, "some listed years ago"
    assert ((ages_days > 45) & (ages_days < 730)).sum() >= 100, "many within two years"
    assert ((ages_days > 2) & (ages_days < 43)).sum() >= 10, "a few within the last weeks"
    for symbol in market.symbols("usdm"):
        assert market.listing_ms(symbol, "usdm") >= market.listing_ms(symbol, "spot")


def test_delisted_symbols_stop_on_both_markets_and_their_history_stays(universe):
    gone = [s for s in market.symbols("spot") if market.delisted_ms(s, "spot") is not None]
    assert len(gone) == 12 and market.symbols("spot", include_delisted=False) == sorted(
        set(market.symbols("spot")) - set(gone)
    )
    for symbol in gone:
        end = market.delisted_ms(symbol, "spot")
        assert end == market.delisted_ms(symbol, "usdm")
        assert ANCHOR - 63 * DAY_MS < end < ANCHOR and end % DAY_MS == 3 * HOUR_MS
        before = market.klines(symbol, "spot", "1h", end - DAY_MS, end + DAY_MS)
        assert before["open_time"].max() == end - HOUR_MS and len(before) == 24
        trades = market.aggtrades(symbol, "usdm", end - HOUR_MS, end + DAY_MS)
        assert len(trades) > 0 and trades["time"].max() < end
        assert market.funding(symbol, end, end + DAY_MS).empty
        assert market.open_interest(symbol, end - HOUR_MS, end + HOUR_MS)["time"].max() < end
        assert market.mark_klines(symbol, "1m", end - 60_000, end + DAY_MS)[
            "open_time"
        ].tolist() == [end - 60_000]


def test_one_symbol_moves_from_8h_to_4h_mid_month_and_another_funds_hourly(universe):
    schedule = market.funding_intervals(SWITCHING)
    switch_ms = utc_ms(2026, 11, 15, 16)
    assert schedule["interval_hours"].tolist() == [8, 4]
    assert schedule["from_time"].iloc[1] == switch_ms
    month = market.funding(SWITCHING, utc_ms(2026, 11, 1), utc_ms(2026, 12, 1))
    times = month["funding_time"].to_numpy()
    gaps = np.diff(times) // HOUR_MS  # from each funding to the next
    assert set(gaps[times[:-1] < switch_ms]) == {8} and set(gaps[times[:-1] >= switch_ms]) == {4}
    assert len(month) == (14 * 3 + 2) + (2 + 15 * 6), "8h until the 15th 16:00, then 4h"
    hourly = market.funding(HOURLY, ANCHOR - DAY_MS, ANCHOR)
    assert len(hourly) == 24 and market.funding_interval_hours(HOURLY, ANCHOR) == 1
    assert market.funding_interval_hours(SWITCHING, ANCHOR) == 4


def test_an_8h_funding_keeps_its_value_whatever_the_schedule_around_it(universe):
    # The original 8-hour fundings of today's symbols are unchanged by the schedules.
    df = market.funding("BTCUSDT", utc_ms(2024, 1, 1), utc_ms(2024, 1, 2))
    assert df["funding_time"].tolist() == [utc_ms(2024, 1, 1, h) for h in (0, 8, 16)]
    four_hourly = market.funding(SWITCHING, ANCHOR - DAY_MS, ANCHOR)
    assert len(four_hourly) == 6 and (four_hourly["funding_rate"].abs() < 0.005).all()


@pytest.mark.parametrize("kind", ["mark", "index", "premium"])
def test_price_klines_are_sane_and_any_sub_range_equals_the_larger_one(kind):
    start, end = utc_ms(2024, 1, 1), utc_ms(2024, 1, 3)
    whole = market.price_klines(kind, "BTCUSDT", "1h", start, end)
    head = market.price_klines(kind, "BTCUSDT", "1h", start, start + 17 * HOUR_MS)
    tail = market.price_klines(kind, "BTCUSDT", "1h", start + 17 * HOUR_MS, end)
    pd.testing.assert_frame_equal(pd.concat([head, tail], ignore_index=True), whole)
    assert len(whole) == 48 and list(whole.columns) == list(market.KLINE_COLUMNS)
    assert (whole["high"] >= whole[["open", "close"]].max(axis=1)).all()
    assert (whole["low"] <= whole[["open", "close"]].min(axis=1)).all()
    assert (whole["close"].iloc[:-1].to_numpy() == whole["open"].iloc[1:].to_numpy()).all()
    assert (whole["close_time"] == whole["open_time"] + HOUR_MS - 1).all()
    nulls = ["volume", "quote_volume", "trades", "taker_buy_base", "taker_buy_quote"]
    assert whole[nulls].isna().all().all()
    if kind == "premium":
        assert whole["close"].abs().max() < 0.002 and (whole["close"] < 0).any()
    else:
        traded = market.klines("BTCUSDT", "usdm", "1h", start, end)["close"]
        assert ((whole["close"] / traded - 1).abs() < 0.002).all(), "near the traded price"


def test_open_interest_is_5_minute_snapshots_and_coarser_periods_sample_them():
    start = utc_ms(2024, 1, 1)
    fine = market.open_interest("BTCUSDT", start, start + DAY_MS)
    hourly = market.open_interest("BTCUSDT", start, start + DAY_MS, period="1h")
    assert list(fine.columns) == ["time", "open_interest", "open_interest_value"]
    assert len(fine) == 288 and (np.diff(fine["time"]) == 300_000).all()
    sampled = fine[fine["time"] % HOUR_MS == 0].reset_index(drop=True)
    pd.testing.assert_frame_equal(sampled, hourly)
    assert (fine["open_interest"] > 0).all()
    mark = market.mark_klines("BTCUSDT", "5m", start, start + DAY_MS)["open"]
    ratio = fine["open_interest_value"] / fine["open_interest"] / mark
    assert ((ratio - 1).abs() < 1e-6).all(), "value = amount × mark price"


def test_market_accepts_every_name_of_the_perpetual_market():
    start = utc_ms(2024, 1, 1)
    usdm = market.klines("ETHUSDT", "usdm", "1h", start, start + DAY_MS)
    for name in ("linear", "futures", "contract"):
        pd.testing.assert_frame_equal(
            market.klines("ETHUSDT", name, "1h", start, start + DAY_MS), usdm
        )
    assert market.first_time_ms("NEWUSDT", "linear", "openinterest") == utc_ms(2024, 2, 15, 6)
    with pytest.raises(catalog.UnknownSymbolError):
        market.first_time_ms("BTCUSDT", "spot", "markklines")


def test_top_symbols_rank_by_a_24h_quote_volume_that_holds_still(universe):
    now = ANCHOR + 12 * HOUR_MS
    top = market.top_symbols("spot", 10, now)
    volumes = [market.quote_volume_24h(s, "spot", now) for s in top]
    assert top[:2] == ["BTCUSDT", "ETHUSDT"] and volumes == sorted(volumes, reverse=True)
    assert top == market.top_symbols("spot", 10, now + 5 * HOUR_MS)
    gone = next(s for s in market.symbols("spot") if market.delisted_ms(s, "spot"))
    assert market.quote_volume_24h(gone, "spot", now) == 0


def test_todays_anchor_is_a_utc_midnight():
    assert today_ms() % DAY_MS == 0
    with pytest.raises(ValueError, match="delisted"):
        Universe(10, 5, 0, ANCHOR)
    with pytest.raises(ValueError, match="midnight"):
        Universe(10, 0, 0, ANCHOR + 1)
