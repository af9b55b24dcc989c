"""Planning, pure: a symbol, data type and window go in; the shards that cover it come out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from storage.dtypes import DTYPES
from storage.errors import InputError
from storage.shards import Shard, periods


@dataclass(frozen=True)
class Window:
    """A UTC time range, end exclusive."""

    start: datetime
    end: datetime


def _years_back(now: datetime, years: int) -> datetime:
    day = now.date()
    try:
        then = day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        then = day.replace(year=day.year - years, day=28)
    return datetime(then.year, then.month, then.day, tzinfo=UTC)


def _day(text: str, flag: str) -> datetime:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{flag} {text!r} is not a date: write it as YYYY-MM-DD") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def window_from(
    *,
    now: datetime,
    years: int | None = None,
    days: int | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Window:
    """The window the user asked for, before clipping: `--years`, `--days` or `--start/--end`."""
    given = [
        name
        for name, value in (("--years", years), ("--days", days), ("--start", start))
        if value is not None
    ]
    if len(given) != 1:
        raise InputError("give the window as exactly one of --years N, --days N or --start DATE")
    if end is not None and start is None:
        raise InputError("--end goes with --start")
    if years is not None:
        if years < 1:
            raise InputError(f"--years {years}: the lookback must be at least 1 year")
        return Window(_years_back(now, years), now)
    if days is not None:
        if days < 1:
            raise InputError(f"--days {days}: the lookback must be at least 1 day")
        midnight = datetime(now.year, now.month, now.day, tzinfo=UTC)
        return Window(midnight - timedelta(days=days - 1), now)
    window = Window(_day(start, "--start"), _day(end, "--end") if end else now)
    if window.start >= now:
        raise InputError(f"--start {start} is in the future: nothing to fetch yet")
    if window.start >= window.end:
        raise InputError(
            f"the window {window.start:%Y-%m-%d} .. {window.end:%Y-%m-%d} is empty: "
            "--start must be before --end"
        )
    return window


@dataclass(frozen=True)
class Plan:
    shards: tuple[Shard, ...]
    #: the window after clipping to the symbol's first data and to now (None: nothing to fetch)
    clipped: Window | None


def plan(
    *,
    exchange: str,
    market: str,
    dtype: str,
    symbol: str,
    interval: str | None,
    window: Window,
    first_data: datetime | None,
    now: datetime,
) -> Plan:
    """Shards of whole UTC periods (months for klines/funding, days for aggtrades) covering
    the window clipped to [first_data, now). A period that has not ended by `now` is planned
    too; the worker records it partial so that the next run refreshes it."""
    if first_data is None:
        return Plan((), None)
    start = max(window.start, first_data)
    end = min(window.end, now)
    if start >= end:
        return Plan((), None)
    shards = tuple(
        Shard(exchange, market, dtype, symbol, period, interval if DTYPES[dtype].interval else None)
        for period in periods(dtype, start, end)
    )
    return Plan(shards, Window(start, end))


def is_partial(shard: Shard, now: datetime) -> bool:
    return shard.end > now
