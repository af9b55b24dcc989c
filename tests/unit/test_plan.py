"""Planning: the window a user asks for, and the shards that cover it after clipping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from producer.plan import Window, is_partial, plan, window_from
from storage.errors import InputError
from storage.shards import Shard


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


NOW = utc(2024, 6, 15, 13, 45)  # mid-month, mid-day
LISTED = utc(2017, 8, 17)  # Binance spot BTCUSDT's first candle


# -- window_from --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "now", "expected"),
    [
        ({"years": 1}, NOW, Window(utc(2023, 6, 15), NOW)),
        ({"years": 2}, NOW, Window(utc(2022, 6, 15), NOW)),
        ({"years": 1}, utc(2024, 2, 29, 12), Window(utc(2023, 2, 28), utc(2024, 2, 29, 12))),
        ({"years": 4}, utc(2024, 2, 29, 12), Window(utc(2020, 2, 29), utc(2024, 2, 29, 12))),
        ({"days": 1}, NOW, Window(utc(2024, 6, 15), NOW)),
        ({"days": 7}, NOW, Window(utc(2024, 6, 9), NOW)),
        ({"days": 3}, utc(2024, 3, 1, 8), Window(utc(2024, 2, 28), utc(2024, 3, 1, 8))),
        ({"start": "2024-01-01"}, NOW, Window(utc(2024, 1, 1), NOW)),
        (
            {"start": "2024-01-01", "end": "2024-02-01"},
            NOW,
            Window(utc(2024, 1, 1), utc(2024, 2, 1)),
        ),
        ({"start": "2024-06-15"}, NOW, Window(utc(2024, 6, 15), NOW)),
        # an end beyond now is kept here; plan() clips it to now
        (
            {"start": "2024-06-01", "end": "2024-07-01"},
            NOW,
            Window(utc(2024, 6, 1), utc(2024, 7, 1)),
        ),
    ],
    ids=[
        "one-year",
        "two-years",
        "year-back-from-leap-day",
        "four-years-from-leap-day",
        "one-day-is-today",
        "seven-days",
        "days-over-leap-day",
        "start-only-ends-now",
        "start-and-end",
        "start-today",
        "end-after-now",
    ],
)
def test_window_from_user_flags(kwargs: dict, now: datetime, expected: Window) -> None:
    assert window_from(now=now, **kwargs) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"years": 0}, "--years 0"),
        ({"years": -1}, "at least 1 year"),
        ({"days": 0}, "--days 0"),
        ({"start": "2024-02-01", "end": "2024-02-01"}, "--start must be before --end"),
        ({"start": "2024-03-01", "end": "2024-02-01"}, "--start must be before --end"),
        ({"start": "2024-07-01", "end": "2024-08-01"}, "in the future"),
        ({"start": "2024-13-01"}, "YYYY-MM-DD"),
        ({"start": "yesterday"}, "YYYY-MM-DD"),
        ({"start": "2024-01-01", "end": "2024-02-30"}, "--end '2024-02-30' is not a date"),
        ({}, "exactly one of"),
        ({"years": 1, "days": 3}, "exactly one of"),
        ({"years": 1, "start": "2024-01-01"}, "exactly one of"),
        ({"end": "2024-02-01"}, "exactly one of"),
        ({"years": 1, "end": "2024-02-01"}, "--end goes with --start"),
        ({"days": 5, "end": "2024-02-01"}, "--end goes with --start"),
    ],
    ids=[
        "years-0",
        "years-negative",
        "days-0",
        "start-equals-end",
        "start-after-end",
        "start-in-future-with-end",
        "impossible-date",
        "not-a-date",
        "bad-end-date",
        "no-window",
        "years-and-days",
        "years-and-start",
        "end-alone",
        "end-with-years",
        "end-with-days",
    ],
)
def test_window_from_refuses_bad_input_with_a_fix(kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        window_from(now=NOW, **kwargs)


def test_start_in_the_future_without_end_says_it_is_in_the_future() -> None:
    # The user gave only --start; the error must not tell them to fix an --end they never gave.
    with pytest.raises(InputError, match="in the future") as caught:
        window_from(now=NOW, start="2024-07-01")
    assert "--end" not in str(caught.value)


# -- plan ---------------------------------------------------------------------------------
def make_plan(
    dtype: str,
    window: Window,
    *,
    first_data: datetime | None = LISTED,
    now: datetime = NOW,
    market: str = "spot",
) -> tuple[list[str], Window | None]:
    result = plan(
        exchange="binance",
        market=market,
        dtype=dtype,
        symbol="BTCUSDT",
        interval="1m",
        window=window,
        first_data=first_data,
        now=now,
    )
    return [s.period for s in result.shards], result.clipped


def test_plan_months_of_klines_have_the_interval_in_their_keys() -> None:
    result = plan(
        exchange="binance",
        market="spot",
        dtype="klines",
        symbol="BTCUSDT",
        interval="1m",
        window=Window(utc(2023, 11, 1), utc(2024, 2, 1)),
        first_data=LISTED,
        now=NOW,
    )
    assert [s.key for s in result.shards] == [
        "binance:spot:klines:1m:BTCUSDT:2023-11",
        "binance:spot:klines:1m:BTCUSDT:2023-12",
        "binance:spot:klines:1m:BTCUSDT:2024-01",
    ]


def test_plan_funding_and_aggtrades_drop_the_interval() -> None:
    for dtype, market in (("funding", "usdm"), ("aggtrades", "spot")):
        result = plan(
            exchange="binance",
            market=market,
            dtype=dtype,
            symbol="BTCUSDT",
            interval="1m",
            window=Window(utc(2024, 1, 1), utc(2024, 1, 2)),
            first_data=utc(2019, 9, 1),
            now=NOW,
        )
        assert [s.interval for s in result.shards] == [None]


@pytest.mark.parametrize(
    ("dtype", "window", "expected"),
    [
        ("klines", Window(utc(2023, 12, 1), utc(2024, 2, 1)), ["2023-12", "2024-01"]),
        ("funding", Window(utc(2024, 1, 1), utc(2024, 3, 1)), ["2024-01", "2024-02"]),
        (
            "aggtrades",
            Window(utc(2024, 1, 30), utc(2024, 2, 2)),
            ["2024-01-30", "2024-01-31", "2024-02-01"],
        ),
        ("aggtrades", Window(utc(2023, 12, 31), utc(2024, 1, 1)), ["2023-12-31"]),
        ("klines", Window(utc(2024, 1, 15), utc(2024, 3, 1)), ["2024-01", "2024-02"]),
        (
            "aggtrades",
            Window(utc(2024, 1, 15, 18), utc(2024, 1, 16, 6)),
            ["2024-01-15", "2024-01-16"],
        ),
    ],
    ids=[
        "month-boundaries",
        "funding-months",
        "day-boundaries",
        "new-year-eve",
        "mid-month-start-plans-that-month",
        "mid-day-window",
    ],
)
def test_plan_covers_whole_periods(dtype: str, window: Window, expected: list[str]) -> None:
    assert make_plan(dtype, window)[0] == expected


def test_aggtrades_over_february_2024_has_29_day_shards() -> None:
    days, _ = make_plan("aggtrades", Window(utc(2024, 2, 1), utc(2024, 3, 1)))
    assert len(days) == 29
    assert days[0] == "2024-02-01"
    assert days[-1] == "2024-02-29"
    assert len(set(days)) == 29


def test_listing_mid_month_plans_nothing_before_its_period() -> None:
    periods, clipped = make_plan(
        "klines", Window(utc(2023, 1, 1), utc(2024, 1, 1)), first_data=utc(2023, 9, 14, 6)
    )
    assert periods == ["2023-09", "2023-10", "2023-11", "2023-12"]
    assert clipped == Window(utc(2023, 9, 14, 6), utc(2024, 1, 1))


def test_listing_mid_day_plans_the_listing_day() -> None:
    days, _ = make_plan(
        "aggtrades", Window(utc(2024, 1, 1), utc(2024, 1, 10)), first_data=utc(2024, 1, 8, 9)
    )
    assert days == ["2024-01-08", "2024-01-09"]


def test_listing_after_the_window_plans_nothing() -> None:
    periods, clipped = make_plan(
        "klines", Window(utc(2023, 1, 1), utc(2024, 1, 1)), first_data=utc(2024, 3, 1)
    )
    assert periods == []
    assert clipped is None


def test_listing_exactly_at_window_end_plans_nothing() -> None:
    periods, clipped = make_plan(
        "klines", Window(utc(2023, 1, 1), utc(2024, 1, 1)), first_data=utc(2024, 1, 1)
    )
    assert (periods, clipped) == ([], None)


def test_no_data_on_the_exchange_plans_nothing() -> None:
    periods, clipped = make_plan("klines", Window(utc(2023, 1, 1), NOW), first_data=None)
    assert (periods, clipped) == ([], None)


def test_unfinished_current_month_is_planned_and_partial() -> None:
    result = plan(
        exchange="binance",
        market="spot",
        dtype="klines",
        symbol="BTCUSDT",
        interval="1m",
        window=Window(utc(2024, 4, 1), utc(2024, 9, 1)),  # the user's end is past now
        first_data=LISTED,
        now=NOW,
    )
    assert [s.period for s in result.shards] == ["2024-04", "2024-05", "2024-06"]
    assert result.clipped == Window(utc(2024, 4, 1), NOW)
    assert [is_partial(s, NOW) for s in result.shards] == [False, False, True]


def test_today_is_planned_and_partial_but_tomorrow_never() -> None:
    result = plan(
        exchange="binance",
        market="spot",
        dtype="aggtrades",
        symbol="BTCUSDT",
        interval=None,
        window=window_from(now=NOW, days=2),
        first_data=LISTED,
        now=NOW,
    )
    assert [s.period for s in result.shards] == ["2024-06-14", "2024-06-15"]
    assert [is_partial(s, NOW) for s in result.shards] == [False, True]


def test_now_exactly_at_a_month_boundary_plans_no_empty_new_month() -> None:
    now = utc(2024, 2, 1)
    periods, _ = make_plan("klines", Window(utc(2024, 1, 1), now + timedelta(days=30)), now=now)
    assert periods == ["2024-01"]
    assert not is_partial(Shard.parse("binance:spot:klines:1m:BTCUSDT:2024-01"), now)


def test_years_window_plans_every_month_back_to_that_day() -> None:
    periods, _ = make_plan("klines", window_from(now=NOW, years=2))
    assert periods[0] == "2022-06"
    assert periods[-1] == "2024-06"
    assert len(periods) == 25


# -- what REST can serve ----------------------------------------------------------------------
def _gate_plan(interval: str) -> tuple[Shard, ...]:
    return plan(
        exchange="gateio",
        market="spot",
        dtype="klines",
        symbol="BTCUSDT",
        interval=interval,
        window=window_from(now=NOW, years=2),
        first_data=LISTED,
        now=NOW,
    ).shards


def test_the_warning_names_the_skipped_shards_and_why():
    from producer.sources import sort_plans, unreachable_warning
    from workers.exchanges.gateio import GateIo

    adapter = GateIo({"": GateIo.base_urls[""]})  # REST only
    sorted_ = sort_plans(adapter, _gate_plan("1h"), int(NOW.timestamp() * 1000), "auto")
    line = unreachable_warning(sorted_.skipped[:3])
    assert "skipping 3 gateio spot klines 1h BTCUSDT shard(s) 2022-06 .. 2022-08" in line
    assert "latest 10,000 1h candles" in line and "nothing was queued for them" in line
