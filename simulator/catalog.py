"""The symbols each simulated Binance market lists, and when each was listed."""

from dataclasses import dataclass
from datetime import UTC, datetime

SPOT = "spot"
USDM = "usdm"
MARKETS: tuple[str, ...] = (SPOT, USDM)


class UnknownSymbolError(LookupError):
    """Raised when a symbol is not listed on the market asked for; the server answers -1121."""


@dataclass(frozen=True)
class Listing:
    """One symbol on one market. Nothing exists before `listed_ms`."""

    symbol: str
    market: str
    listed_ms: int
    base_asset: str
    quote_asset: str
    # None: the first funding is the first 8-hour mark at or after the listing.
    first_funding_ms: int | None = None


def utc_ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    """Milliseconds since the epoch of a UTC wall-clock time."""
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp() * 1000)


_LISTINGS: tuple[Listing, ...] = (
    Listing("BTCUSDT", SPOT, utc_ms(2017, 8, 17, 4), "BTC", "USDT"),
    Listing("ETHUSDT", SPOT, utc_ms(2017, 8, 17, 4), "ETH", "USDT"),
    Listing("BNBUSDT", SPOT, utc_ms(2017, 11, 6, 3), "BNB", "USDT"),
    Listing("NEWUSDT", SPOT, utc_ms(2024, 2, 15, 6), "NEW", "USDT"),
    Listing("BTCUSDT", USDM, utc_ms(2019, 9, 8), "BTC", "USDT", utc_ms(2019, 9, 10, 8)),
    Listing("ETHUSDT", USDM, utc_ms(2019, 11, 27, 7), "ETH", "USDT"),
    Listing("NEWUSDT", USDM, utc_ms(2024, 2, 15, 6), "NEW", "USDT"),
)
LISTINGS: dict[tuple[str, str], Listing] = {(x.symbol, x.market): x for x in _LISTINGS}


def check_market(market: str) -> None:
    if market not in MARKETS:
        raise ValueError(f"market must be one of {MARKETS}, not {market!r}")


def listing(symbol: str, market: str) -> Listing:
    """The listing of symbol on market; UnknownSymbolError if that market does not list it."""
    check_market(market)
    try:
        return LISTINGS[(symbol, market)]
    except KeyError:
        raise UnknownSymbolError(f"{symbol} is not listed on {market}") from None


def symbols(market: str) -> list[str]:
    """Every symbol listed on market, sorted."""
    check_market(market)
    return sorted(x.symbol for x in _LISTINGS if x.market == market)
