"""A configurable universe of USDT symbols (`exchange-sim --symbols N --delisted K`).

The first four are today's symbols, unchanged. The others get made-up four-letter bases
(BAKOUSDT...) and, from the seed, a listing date relative to the anchor day (about a quarter
listed two to six years ago, most within the last two years, some within the last weeks), a
typical quote volume per minute (31 to 100,000 USDT, so `--top N` has a clear order), the
perpetual listed on the same day or up to three weeks later, and a funding schedule.

Two generated symbols are fixed, whatever the seed, for tests of changing intervals:
* the first (`SWITCHING`) funds every 8 hours until 16:00 UTC on the 15th of the month before
  the anchor's month, then every 4 hours;
* the second (`HOURLY`) funds every hour.
Of the rest, about one in ten funds every 4 h, one in twenty every hour, one in ten moves from
8 h to 4 h on a day within the last year. `delisted` of them (never the first six) stopped
trading at 03:00 UTC on a day within the last two months; their history stays served.

Everything is a pure function of (size, delisted, seed, anchor_ms): a test builds the same
Universe as the server's flags and calls `activate()` (or reads `GET /_sim/universe`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property

import numpy as np

from simulator import catalog
from simulator.catalog import CLASSIC, SPOT, USDM, Listing
from simulator.noise import stream_key, uniform

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MAX_SYMBOLS = 2_000
FIXED = 2  # generated symbols with a fixed funding schedule, never delisted
_CONSONANTS = "BDFGKLMNPRSTVZ"
_VOWELS = "AEIOU"
_SYLLABLES = [c + v for c in _CONSONANTS for v in _VOWELS]  # 70


def base_name(index: int) -> str:
    """The base asset of generated symbol `index` (0-based): four letters, unique below 4,900."""
    scrambled = (index * 37 + 11) % len(_SYLLABLES) ** 2
    first, second = divmod(scrambled, len(_SYLLABLES))
    return _SYLLABLES[first] + _SYLLABLES[second]


def day_start_ms(t_ms: int) -> int:
    return t_ms // DAY_MS * DAY_MS


def today_ms() -> int:
    """The current UTC day's midnight: the default anchor."""
    return day_start_ms(int(datetime.now(UTC).timestamp() * 1000))


def _previous_month_15th_16h(anchor_ms: int) -> int:
    day = datetime.fromtimestamp(anchor_ms / 1000, UTC).date()
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return catalog.utc_ms(year, month, 15, 16)


def _ceil_to(t_ms: int, step_ms: int) -> int:
    return -(-t_ms // step_ms) * step_ms


@dataclass(frozen=True)
class Universe:
    """`size` symbols (None: today's four); `delisted` of them stopped trading."""

    size: int | None = None
    delisted: int = 0
    seed: int = 0
    anchor_ms: int = 0

    def __post_init__(self) -> None:
        if self.size is not None and not 1 <= self.size <= MAX_SYMBOLS:
            raise ValueError(f"symbols must be from 1 to {MAX_SYMBOLS}, not {self.size}")
        room = max(0, (self.size or 0) - 4 - FIXED)
        if not 0 <= self.delisted <= room:
            raise ValueError(
                f"delisted must be from 0 to {room} with {self.size or 4} symbols (today's four "
                f"and the first {FIXED} generated ones are never delisted)"
            )
        if self.anchor_ms % DAY_MS:
            raise ValueError("anchor_ms must be a UTC midnight")

    @cached_property
    def listings(self) -> tuple[Listing, ...]:
        """Spot then usdm listings of every symbol, in the universe's order."""
        if self.size is None:
            return CLASSIC
        classic = [x for x in CLASSIC if x.symbol in self._classic_names]
        generated = [self._generated(i) for i in range(max(0, self.size - 4))]
        spot = [x for x in classic if x.market == SPOT] + [pair[0] for pair in generated]
        usdm = [x for x in classic if x.market == USDM] + [pair[1] for pair in generated]
        return tuple(spot + usdm)

    @property
    def _classic_names(self) -> list[str]:
        return ["BTCUSDT", "ETHUSDT", "BNBUSDT", "NEWUSDT"][: self.size]

    @cached_property
    def _draws(self) -> np.ndarray:
        """Eight uniform draws per generated symbol (rows)."""
        count = max(0, (self.size or 0) - 4)
        flat = uniform(stream_key(self.seed, "universe"), np.arange(count * 8, dtype=np.int64))
        return flat.reshape(count, 8)

    @cached_property
    def _delisted_indices(self) -> frozenset[int]:
        """The generated indices that are delisted: those old enough, in seeded order."""
        draws = self._draws
        eligible = [i for i in range(FIXED, len(draws)) if self._age_days(i) >= 120]
        eligible.sort(key=lambda i: draws[i, 5])
        return frozenset(eligible[: self.delisted])

    def _age_days(self, index: int) -> int:
        u = self._draws[index]
        if index < FIXED or u[0] < 0.25:
            return 730 + int(u[1] * 4 * 365)
        if u[0] < 0.85:
            return 45 + int(u[1] * 685)
        return 3 + int(u[1] * 39)

    def _generated(self, index: int) -> tuple[Listing, Listing]:
        u = self._draws[index]
        base = base_name(index)
        symbol = base + "USDT"
        age_days = self._age_days(index)
        spot_ms = self.anchor_ms - age_days * DAY_MS + int(u[2] * 24) * HOUR_MS
        lag_days = 0 if age_days < 60 else int(u[3] * 21)
        perp_ms = spot_ms + lag_days * DAY_MS
        delisted_ms = None
        if index in self._delisted_indices:
            delisted_ms = self.anchor_ms - (2 + int(u[6] * 60)) * DAY_MS + 3 * HOUR_MS
        volume = float(10 ** (1.5 + 3.5 * u[4]))
        schedule = self._funding(index, perp_ms, delisted_ms)
        spot = Listing(symbol, SPOT, spot_ms, base, "USDT", None, delisted_ms, volume)
        perp = Listing(symbol, USDM, perp_ms, base, "USDT", None, delisted_ms, volume, schedule)
        return spot, perp

    def _funding(
        self, index: int, listed_ms: int, delisted_ms: int | None
    ) -> tuple[tuple[int, int], ...]:
        u7 = self._draws[index, 7]
        eight, four, one = 8 * HOUR_MS, 4 * HOUR_MS, HOUR_MS
        if index == 1 or (index >= FIXED and 0.10 <= u7 < 0.15):
            return ((_ceil_to(listed_ms, one), one),)
        if index >= FIXED and u7 < 0.10:
            return ((_ceil_to(listed_ms, four), four),)
        first = _ceil_to(listed_ms, eight)
        if index == 0:
            switch_ms = _previous_month_15th_16h(self.anchor_ms)
        elif u7 < 0.25:
            days = int(self._draws[index, 6] * 365)
            switch_ms = day_start_ms(self.anchor_ms - days * DAY_MS) + 16 * HOUR_MS
        else:
            return ((first, eight),)
        end_ms = self.anchor_ms if delisted_ms is None else delisted_ms
        if not first + 7 * DAY_MS <= switch_ms < end_ms:
            return ((first, eight),)
        return ((first, eight), (switch_ms, four))

    def activate(self) -> Universe:
        """Make this the process's universe (what every venue and ground truth reads)."""
        catalog.use(self.listings)
        return self

    def describe(self) -> dict[str, object]:
        """The settings that rebuild this universe, as `GET /_sim/universe` reports them."""
        anchor = datetime.fromtimestamp(self.anchor_ms / 1000, UTC).date()
        return {
            "symbols": self.size,
            "delisted": self.delisted,
            "seed": self.seed,
            "anchor": anchor.isoformat(),
            "anchor_ms": self.anchor_ms,
        }


SWITCHING = base_name(0) + "USDT"
HOURLY = base_name(1) + "USDT"


def anchor_from_date(text: str) -> int:
    """The anchor of a YYYY-MM-DD date; ValueError if it is not one."""
    day = date.fromisoformat(text)
    return catalog.utc_ms(day.year, day.month, day.day)
