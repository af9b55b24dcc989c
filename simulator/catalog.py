"""The symbols the simulated exchanges list, and each one's facts: listing, delisting, volume,
funding schedule. One universe is active per process (`use`); every venue and every
ground-truth function reads it, so the server and a test comparing rows must use the same.

The default universe is today's four symbols; `simulator.universe.Universe` builds larger ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

SPOT = "spot"
USDM = "usdm"
MARKETS: tuple[str, ...] = (SPOT, USDM)
# The dataset's names for each exchange's perpetual market, all served from the usdm data.
PERP_ALIASES: dict[str, str] = {"usdm": USDM, "linear": USDM, "futures": USDM, "contract": USDM}
HOUR_MS = 3_600_000
EIGHT_HOURS_MS = 8 * HOUR_MS


class UnknownSymbolError(LookupError):
    """Raised when a symbol is not listed on the market asked for; the server answers -1121."""


@dataclass(frozen=True)
class Listing:
    """One symbol on one market. Nothing exists before `listed_ms`, and no trading happens at
    or after `delisted_ms` (None: still trading).

    `funding` (usdm only) is the funding schedule: (from_ms, interval_ms) segments, the first
    starting at the first funding; each segment's fundings fall on multiples of its interval.
    `quote_per_minute` scales the volumes (and ranks the 24 h tickers).
    """

    symbol: str
    market: str
    listed_ms: int
    base_asset: str
    quote_asset: str
    # None: the first funding is the first 8-hour mark at or after the listing.
    first_funding_ms: int | None = None
    delisted_ms: int | None = None
    quote_per_minute: float = 5_000.0
    funding: tuple[tuple[int, int], ...] = ()

    @property
    def funding_schedule(self) -> tuple[tuple[int, int], ...]:
        """The schedule; a listing built without one funds every 8 hours from its first."""
        if self.funding:
            return self.funding
        first = self.listed_ms if self.first_funding_ms is None else self.first_funding_ms
        return ((-(-first // EIGHT_HOURS_MS) * EIGHT_HOURS_MS, EIGHT_HOURS_MS),)

    def trading_at(self, t_ms: int) -> bool:
        return self.listed_ms <= t_ms and (self.delisted_ms is None or t_ms < self.delisted_ms)


def utc_ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    """Milliseconds since the epoch of a UTC wall-clock time."""
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp() * 1000)


CLASSIC_QUOTE_PER_MINUTE: dict[str, float] = {
    "BTCUSDT": 300_000.0,
    "ETHUSDT": 150_000.0,
    "BNBUSDT": 20_000.0,
}


def _classic(symbol: str, market: str, listed_ms: int, first_funding_ms: int | None = None):
    base = symbol.removesuffix("USDT")
    volume = CLASSIC_QUOTE_PER_MINUTE.get(symbol, 5_000.0)
    return Listing(symbol, market, listed_ms, base, "USDT", first_funding_ms, None, volume)


CLASSIC: tuple[Listing, ...] = (
    _classic("BTCUSDT", SPOT, utc_ms(2017, 8, 17, 4)),
    _classic("ETHUSDT", SPOT, utc_ms(2017, 8, 17, 4)),
    _classic("BNBUSDT", SPOT, utc_ms(2017, 11, 6, 3)),
    _classic("NEWUSDT", SPOT, utc_ms(2024, 2, 15, 6)),
    _classic("BTCUSDT", USDM, utc_ms(2019, 9, 8), utc_ms(2019, 9, 10, 8)),
    _classic("ETHUSDT", USDM, utc_ms(2019, 11, 27, 7)),
    _classic("NEWUSDT", USDM, utc_ms(2024, 2, 15, 6)),
)


class Catalog:
    """Listings by (symbol, market), and each market's symbols in listing order."""

    def __init__(self, listings: Iterable[Listing]) -> None:
        self.listings: dict[tuple[str, str], Listing] = {}
        self.order: dict[str, list[str]] = {market: [] for market in MARKETS}
        for item in listings:
            self.listings[(item.symbol, item.market)] = item
            self.order[item.market].append(item.symbol)


_active = Catalog(CLASSIC)
# Kept for code that reads the mapping directly; always the active universe's listings.
LISTINGS: dict[tuple[str, str], Listing] = _active.listings


def use(listings: Iterable[Listing]) -> None:
    """Make these listings the process's universe (the server does this at start)."""
    global _active
    _active = Catalog(listings)
    LISTINGS.clear()
    LISTINGS.update(_active.listings)


def market_name(market: str) -> str:
    """ "spot" or "usdm"; the perpetual market's dataset names (linear, futures...) mean usdm."""
    if market == SPOT:
        return SPOT
    try:
        return PERP_ALIASES[market]
    except KeyError:
        raise ValueError(f"market must be one of {MARKETS}, not {market!r}") from None


def check_market(market: str) -> None:
    market_name(market)


def listing(symbol: str, market: str) -> Listing:
    """The listing of symbol on market; UnknownSymbolError if that market does not list it."""
    try:
        return _active.listings[(symbol, market_name(market))]
    except KeyError:
        raise UnknownSymbolError(f"{symbol} is not listed on {market}") from None


def is_listed(symbol: str, market: str) -> bool:
    return (symbol, market_name(market)) in _active.listings


def symbols(market: str) -> list[str]:
    """Every symbol listed on market (delisted ones included), sorted."""
    return sorted(_active.order[market_name(market)])


def listings(market: str) -> list[Listing]:
    """Every listing of market, in the universe's order (today's four first)."""
    name = market_name(market)
    return [_active.listings[(symbol, name)] for symbol in _active.order[name]]
