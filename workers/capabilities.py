"""What each exchange market serves, declared as data.

Per data type and interval: the REST endpoint (page size, weight, budget group, how far back
it reaches), the public archive's files (monthly or daily, how long after their period they
appear, the columns they lack), the columns the exchange never fills, and the market's time
units. Each exchange declares its markets in `workers/exchanges/<name>_capabilities.py`;
the source plan (workers/sourceplan.py), the adapters' page sizes, the planner, `--dry-run`,
`verify` and the README's data-type table read them, and nothing else says these facts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from storage.errors import InputError

DAY_MS = 86_400_000
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": DAY_MS, "w": 7 * DAY_MS}


def interval_ms(interval: str) -> int:
    """Length of a candle interval; `1M` counts as its shortest month (28 days), so a window
    of N intervals never holds more than N candles."""
    if interval.endswith("M"):
        return int(interval[:-1]) * 28 * DAY_MS
    return int(interval[:-1]) * _UNIT_MS[interval[-1]]


@dataclass(frozen=True)
class Reach:
    """How far back REST serves a data type, judged at the moment of asking.

    `kind`: "all" (back to the listing), "points" (the latest `n` intervals, as Gate's
    candles), "days" (the last `n` days) or "latest" (only the newest `n` rows: no history).
    `margin_ms` (or, for points, `margin` intervals) is slack for a shard that waits in the
    queue after it was planned. `why` says it in words; `{interval}` is filled in.
    """

    kind: Literal["all", "points", "days", "latest"] = "all"
    n: int = 0
    margin: int = 0
    why: str = ""

    def since_ms(self, interval: str | None, now_ms: int) -> int | None:
        """The oldest millisecond REST serves at `now_ms`; None: everything."""
        if self.kind == "all":
            return None
        if self.kind == "points":
            return now_ms - (self.n - self.margin) * interval_ms(interval or "1m")
        if self.kind == "days":
            return now_ms - self.n * DAY_MS + self.margin
        return now_ms  # the newest rows only: nothing of the past

    def reason(self, interval: str | None) -> str:
        return self.why.replace("{interval}", interval or "")


ALL = Reach()


@dataclass(frozen=True)
class Rest:
    """One REST endpoint: `page` rows per request, charged `weight` to budget `group`."""

    path: str
    page: int
    weight: int
    group: str
    reach: Reach = ALL


@dataclass(frozen=True)
class Files:
    """The public archive's files for a data type.

    `monthly`: one file per closed month; `daily`: one file per closed day (with `monthly`,
    only for the days of a month that has not closed yet). A file usually appears
    `delay_h` hours after its period ends: until then a missing file is expected, and REST
    takes its place where it reaches. `lacks`: schema columns REST fills and the files do not
    (stored null). `time_unit` is for the README.
    """

    monthly: bool
    daily: bool
    delay_h: float
    time_unit: str = "ms"
    lacks: tuple[str, ...] = ()
    checksum: bool = True


@dataclass(frozen=True)
class Capability:
    """What a market serves of one data type, for `intervals` (empty: the type has none).

    `nulls`: columns this exchange never fills for it (left null in every row, REST or
    archive). `snapshot_ms`: the step of snapshot rows (open interest), the exchange's
    finest history step.
    """

    dtype: str
    intervals: tuple[str, ...] = ()
    rest: Rest | None = None
    archive: Files | None = None
    nulls: tuple[str, ...] = ()
    snapshot_ms: int | None = None


@dataclass(frozen=True)
class Market:
    """One exchange market: `name` is the dataset's `market=` partition (spot, usdm, linear,
    futures, contract), `kind` what `--market` calls it, `times` the REST time units."""

    exchange: str
    name: str
    kind: Literal["spot", "perp"]
    times: str
    capabilities: tuple[Capability, ...]

    def capability(self, dtype: str, interval: str | None = None) -> Capability | None:
        for cap in self.capabilities:
            if cap.dtype == dtype and (not cap.intervals or interval in cap.intervals):
                return cap
        return None

    @property
    def dtypes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(cap.dtype for cap in self.capabilities))

    def intervals(self, dtype: str) -> tuple[str, ...]:
        return tuple(i for cap in self.capabilities if cap.dtype == dtype for i in cap.intervals)


@dataclass(frozen=True)
class Capabilities:
    """Every market of one exchange."""

    exchange: str
    markets: tuple[Market, ...]

    def market(self, name: str) -> Market:
        """The market called `name` in the dataset (spot, usdm, ...)."""
        for market in self.markets:
            if market.name == name:
                return market
        raise InputError(f"{self.exchange} has no market {name!r}")

    def market_for(self, kind: str, dtype: str) -> Market:
        """The market `--market kind` reads `dtype` from: that market if it serves the type,
        else the perpetual market for its own series (funding, mark prices, open interest).

        InputError when no market of the exchange serves the type.
        """
        wanted = [m for m in self.markets if m.kind == kind and dtype in m.dtypes]
        perp = [m for m in self.markets if m.kind == "perp" and dtype in m.dtypes]
        if wanted or perp:
            return (wanted or perp)[0]
        raise InputError(
            f"{self.exchange} serves no {dtype} (neither over REST nor in an archive); "
            f"it serves {', '.join(dict.fromkeys(d for m in self.markets for d in m.dtypes))}"
        )

    def without_archive(self) -> Capabilities:
        """The same markets as read where no archive is configured: REST only."""
        return replace(
            self,
            markets=tuple(
                replace(m, capabilities=tuple(replace(c, archive=None) for c in m.capabilities))
                for m in self.markets
            ),
        )
