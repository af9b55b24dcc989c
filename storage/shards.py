"""The shard: one (exchange, market, dtype, symbol, interval, period) unit of work."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from storage.dtypes import DTYPES, DataType, dtype
from storage.errors import InputError

_SYMBOL = re.compile(r"[A-Z0-9]{2,32}")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_INTERVAL = re.compile(r"[0-9]{1,3}[smhdwM]")
_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def clean_symbol(raw: str) -> str:
    """Return the canonical spelling (upper case) or refuse anything that is not letters/digits.

    This is the one gate between user input and file paths, so path characters never pass.
    """
    symbol = raw.strip().upper()
    if not _SYMBOL.fullmatch(symbol):
        raise InputError(
            f"symbol {raw!r} is not a symbol: write base and quote together in 2-32 letters "
            "and digits, for example BTCUSDT, on every exchange"
        )
    return symbol


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@lru_cache(maxsize=16384)
def _bounds_ms(unit: str, period: str) -> tuple[int, int]:
    """[start, end) of a period in epoch ms; cached, as a universe's shards share their
    periods (planning 300k shards asks for them a million times)."""
    first = date.fromisoformat(period if unit == "day" else period + "-01")
    after = first + timedelta(days=1) if unit == "day" else next_month(first)
    return to_ms(_midnight(first)), to_ms(_midnight(after))


@dataclass(frozen=True, order=True)
class Shard:
    exchange: str
    market: str
    dtype: str
    symbol: str
    period: str
    interval: str | None = None

    def __post_init__(self) -> None:
        if not (_NAME.fullmatch(self.exchange) and _NAME.fullmatch(self.market)):
            raise InputError(f"bad exchange/market name {self.exchange!r}/{self.market!r}")
        kind = dtype(self.dtype)
        if kind.interval != (self.interval is not None):
            with_interval = ", ".join(n for n, t in DTYPES.items() if t.interval)
            raise InputError(f"an interval goes with {with_interval} and only with them")
        if self.interval is not None and not _INTERVAL.fullmatch(self.interval):
            raise InputError(f"bad interval {self.interval!r}")
        pattern = _DAY if kind.period == "day" else _MONTH
        try:
            if not pattern.fullmatch(self.period):
                raise ValueError
            date.fromisoformat(self.period if pattern is _DAY else self.period + "-01")
        except ValueError:
            raise InputError(f"bad period {self.period!r} for {self.dtype}") from None
        if self.symbol != clean_symbol(self.symbol):
            raise InputError(f"symbol {self.symbol!r} is not in canonical form")

    @property
    def key(self) -> str:
        """`binance:spot:klines:1m:BTCUSDT:2024-01`; the exact inverse of `Shard.parse`."""
        parts = [self.exchange, self.market, self.dtype]
        if self.interval is not None:
            parts.append(self.interval)
        return ":".join([*parts, self.symbol, self.period])

    @classmethod
    def parse(cls, key: str) -> Shard:
        parts = key.split(":")
        if len(parts) == 6:
            exchange, market, dtype, interval, symbol, period = parts
            return cls(exchange, market, dtype, symbol, period, interval)
        if len(parts) == 5:
            exchange, market, dtype, symbol, period = parts
            return cls(exchange, market, dtype, symbol, period)
        raise InputError(f"not a shard key: {key!r}")

    @property
    def kind(self) -> DataType:
        """The data type's facts: schema, sort key, time column, period, checks."""
        return DTYPES[self.dtype]

    @property
    def start(self) -> datetime:
        if self.kind.period == "day":
            return _midnight(date.fromisoformat(self.period))
        return _midnight(date.fromisoformat(self.period + "-01"))

    @property
    def end(self) -> datetime:
        """Exclusive end of the period."""
        first = self.start.date()
        if self.kind.period == "day":
            return _midnight(first + timedelta(days=1))
        return _midnight(next_month(first))

    @property
    def start_ms(self) -> int:
        return _bounds_ms(self.kind.period, self.period)[0]

    @property
    def end_ms(self) -> int:
        return _bounds_ms(self.kind.period, self.period)[1]

    @property
    def queue(self) -> str:
        """Each exchange has its own Celery queue, named like the exchange."""
        return self.exchange


def periods(dtype: str, start: datetime, end: datetime) -> list[str]:
    """The periods of `dtype` that overlap [start, end), in order."""
    if start >= end:
        return []
    day = start.astimezone(UTC).date()
    last = (end - timedelta(microseconds=1)).astimezone(UTC).date()
    if DTYPES[dtype].period == "day":
        return [(day + timedelta(days=i)).isoformat() for i in range((last - day).days + 1)]
    out, month = [], month_start(day)
    while month <= last:
        out.append(month.isoformat()[:7])
        month = next_month(month)
    return out
