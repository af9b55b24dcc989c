"""What every exchange's instrument list and 24 h tickers say, in one shape.

Each exchange has one module (`<name>_instruments.py`) that builds the list and ticker
requests of a market and reads their answers; the producer resolves `--symbol all`,
`--top N` and the listing dates from them (producer/universe.py). Symbols are the canonical
spelling (BTCUSDT) whatever the exchange writes (BTC_USDT).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from storage.errors import PermanentError
from workers.exchanges.base import PageRequest


@dataclass(frozen=True)
class Instrument:
    """One symbol of a market's instrument list.

    `listed_ms` is the listing where the list gives one (None: it does not say);
    `delisted_ms` the moment it stopped trading where the list says (None: trading, or not
    said); `trading` False for a symbol that stopped (delisted, settling, offline).
    """

    symbol: str
    base: str
    quote: str
    trading: bool
    listed_ms: int | None = None
    delisted_ms: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Instrument:
        return cls(**raw)


@dataclass(frozen=True)
class Listed:
    """One page of an instrument list, and the next page's request if there is one."""

    instruments: tuple[Instrument, ...]
    next: PageRequest | None = None


class Instruments(Protocol):
    """An exchange's instrument lists and tickers, per dataset market (spot, usdm, ...)."""

    def dated(self, market: str) -> bool:
        """Whether the market's list gives each symbol's listing date."""
        ...

    def list_requests(self, market: str) -> list[PageRequest]:
        """The first request of each page chain that together list the market (a list of
        trading symbols and one of delisted ones, where the exchange keeps them apart)."""
        ...

    def parse_list(self, body: bytes, request: PageRequest, market: str) -> Listed:
        """The instruments of one answer (perpetual contracts only on a futures market)."""
        ...

    def ticker_request(self, market: str) -> PageRequest:
        """One request for the 24 h tickers of every symbol of the market."""
        ...

    def parse_tickers(self, body: bytes, market: str) -> dict[str, float]:
        """Symbol -> 24 h volume in the quote currency."""
        ...


def number(value: object) -> float:
    """A number the exchange wrote as a string or a number; 0 for null or empty."""
    if value is None or value == "":
        return 0.0
    return float(value)  # type: ignore[arg-type]


def rows_of(data: object, what: str, body: bytes) -> list[dict]:
    """The list of objects an answer must hold, or PermanentError naming what came."""
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise PermanentError(f"{what}: unexpected answer {body[:120]!r}")
    return data


def ms_or_none(value: object, scale: int = 1) -> int | None:
    """A time field as ms; None for 0, "", null (the exchange's "not set")."""
    if value in (None, "", "0", 0):
        return None
    return int(float(value)) * scale  # type: ignore[arg-type]
