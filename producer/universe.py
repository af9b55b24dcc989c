"""Which symbols a job covers, and what each market's instrument list says about them.

`--symbol all` (every symbol the exchange lists for `--quote` on the market the job reads),
`--top N` (by the exchange's 24 h quote volume), `--symbols-file` and `--include-delisted`
resolve here into symbols. Instrument lists and tickers are asked once per exchange and
market and kept in the dataset's Redis keys for an hour, so a re-run asks nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import redis

from producer.listing import ask
from storage.errors import InputError, PermanentError, ShardfetchError
from storage.keys import Keys
from storage.shards import clean_symbol
from workers.exchanges.base import Adapter, PageRequest
from workers.exchanges.binance_instruments import BinanceInstruments
from workers.exchanges.bybit_instruments import BybitInstruments
from workers.exchanges.gateio_instruments import GateInstruments
from workers.exchanges.instruments import Instrument, Instruments
from workers.exchanges.mexc_instruments import MexcInstruments
from workers.http import Http

INSTRUMENTS = {
    "binance": BinanceInstruments,
    "bybit": BybitInstruments,
    "gateio": GateInstruments,
    "mexc": MexcInstruments,
}
#: instrument lists and tickers change (listings, volumes): kept for an hour
LIST_TTL_S = 3_600
#: pages of one instrument list followed at most (Bybit: 1000 symbols a page)
MAX_PAGES = 50
ALL = "ALL"


@dataclass(frozen=True)
class Choice:
    """The user's choice of symbols: named ones (`--symbol`, `--symbols-file`), or every
    symbol of the list (`--symbol all`), with `--quote`, `--top` and `--include-delisted`."""

    named: tuple[str, ...] = ()
    every: bool = False
    quote: str = "USDT"
    top: int | None = None
    include_delisted: bool = False

    @property
    def from_list(self) -> bool:
        """Whether the symbols come from the instrument list (so a symbol a market does not
        list has no data there, rather than being a typing error)."""
        return self.every

    @classmethod
    def from_options(
        cls,
        symbols: Iterable[str],
        *,
        symbols_file: str | None = None,
        quote: str = "USDT",
        top: int | None = None,
        include_delisted: bool = False,
    ) -> Choice:
        """Validate the options; InputError (exit 2) for a bad symbol or an unreadable file."""
        raw = [s.strip() for s in symbols if s.strip()]
        every = any(s.upper() == ALL for s in raw)
        named = [clean_symbol(s) for s in raw if s.upper() != ALL]
        if symbols_file is not None:
            named += read_symbols_file(symbols_file)
        every = every or (top is not None and not named)  # `--top 50` alone: of all
        if not every and not named:
            raise InputError(
                "give at least one --symbol (e.g. --symbol BTCUSDT), --symbol all, or "
                "--symbols-file FILE"
            )
        if top is not None and top < 1:
            raise InputError(f"--top {top}: give a number of symbols of at least 1")
        clean_quote = quote.strip().upper()
        if not clean_quote.isalnum():
            raise InputError(f"--quote {quote!r}: write a currency like USDT")
        return cls(tuple(dict.fromkeys(named)), every, clean_quote, top, include_delisted)


def read_symbols_file(path: str) -> list[str]:
    """One symbol per line; blank lines and `#` comments skipped. InputError naming the file
    (and line) when it cannot be read or a line is not a symbol."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError(f"--symbols-file {path}: cannot read it ({reason})") from None
    symbols = []
    for number, line in enumerate(text.splitlines(), 1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        try:
            symbols.append(clean_symbol(entry))
        except InputError as exc:
            raise InputError(f"--symbols-file {path} line {number}: {exc}") from None
    if not symbols:
        raise InputError(f"--symbols-file {path}: it names no symbol")
    return symbols


class Lists:
    """One exchange's instrument lists and tickers, asked at most once per market (and not
    at all while the dataset's Redis keeps a copy younger than an hour)."""

    def __init__(
        self, http: Http, adapter: Adapter, urls: dict[str, str], client: redis.Redis, keys: Keys
    ) -> None:
        self.http, self.adapter, self.client, self.keys = http, adapter, client, keys
        self.venue: Instruments = INSTRUMENTS[adapter.name](urls)
        self._lists: dict[str, dict[str, Instrument]] = {}

    def dated(self, market: str) -> bool:
        return self.venue.dated(market)

    async def instruments(self, market: str) -> dict[str, Instrument]:
        """Symbol -> instrument of the market's whole list."""
        if market in self._lists:
            return self._lists[market]
        key = f"{self.keys.instruments}{self.adapter.name}:{market}"
        cached = self.client.get(key)
        if cached is not None:
            found = [Instrument.from_dict(row) for row in json.loads(cached)]
        else:
            found = []
            for request in self.venue.list_requests(market):
                found += await self._chain(request, market)
            rows = json.dumps([x.as_dict() for x in found])
            self.client.set(key, rows, ex=LIST_TTL_S)
        # a trading entry wins over a closed one of the same name (a re-listed symbol)
        by_symbol: dict[str, Instrument] = {}
        for x in found:
            if x.symbol not in by_symbol or x.trading:
                by_symbol[x.symbol] = x
        self._lists[market] = by_symbol
        return by_symbol

    async def _chain(self, request: PageRequest, market: str) -> list[Instrument]:
        found: list[Instrument] = []
        next_: PageRequest | None = request
        for _ in range(MAX_PAGES):
            if next_ is None:
                return found
            page = await self._ask(
                next_, lambda body, r=next_: self.venue.parse_list(body, r, market),
                f"its {market} instrument list",
            )  # fmt: skip
            found += page.instruments
            next_ = page.next
        raise ShardfetchError(
            f"{self.adapter.name} {market}: the instrument list ran past {MAX_PAGES} pages"
        )

    async def volumes(self, market: str) -> dict[str, float]:
        """Symbol -> 24 h quote volume of every symbol trading on the market."""
        key = f"{self.keys.tickers}{self.adapter.name}:{market}"
        cached = self.client.get(key)
        if cached is not None:
            return json.loads(cached)
        request = self.venue.ticker_request(market)
        volumes = await self._ask(
            request, lambda body: self.venue.parse_tickers(body, market),
            f"its {market} 24 h tickers",
        )  # fmt: skip
        self.client.set(key, json.dumps(volumes), ex=LIST_TTL_S)
        return volumes

    async def _ask(self, request: PageRequest, read, about: str):
        try:
            return await ask(self.http, self.adapter, request, read, about)
        except PermanentError as exc:
            raise ShardfetchError(f"{self.adapter.name} refused {about}: {exc}") from None

    def has(self, market: str) -> bool:
        """Whether the market's list has been read."""
        return market in self._lists

    def listed(self, symbol: str, market: str) -> Instrument | None:
        """The symbol's entry in the market's list, if that list has been read and lists it."""
        return self._lists.get(market, {}).get(symbol)

    def delisting(self, symbol: str, market: str) -> int | None:
        """When `symbol` stopped trading on `market`: its list's date, or, for an entry that
        stopped without one (Binance spot BREAK), the date another list read gives."""
        own = self.listed(symbol, market)
        if own is None or own.trading:
            return None
        if own.delisted_ms is not None:
            return own.delisted_ms
        for listed in self._lists.values():
            other = listed.get(symbol)
            if other is not None and other.delisted_ms is not None:
                return other.delisted_ms
        return None


async def choose(choice: Choice, lists: Lists, market: str) -> tuple[str, ...]:
    """The symbols of `choice` on `market` (the dataset market the job reads), in order:
    named ones as given, list ones by name, `--top` ones by volume (largest first)."""
    symbols = list(choice.named)
    listed: dict[str, Instrument] = {}
    if choice.every:
        listed = await lists.instruments(market)
        symbols += sorted(
            s
            for s, x in listed.items()
            if x.quote.upper() == choice.quote and (x.trading or choice.include_delisted)
        )
    symbols = list(dict.fromkeys(symbols))
    if choice.top is not None:
        volumes = await lists.volumes(market)
        symbols = sorted(symbols, key=lambda s: (-volumes.get(s, 0.0), s))[: choice.top]
    if not symbols:
        what = "trading or delisted" if choice.include_delisted else "trading"
        raise InputError(
            f"{lists.adapter.name} {market} lists no {what} symbol quoted in {choice.quote}: "
            "check --quote and --market"
        )
    return tuple(symbols)
