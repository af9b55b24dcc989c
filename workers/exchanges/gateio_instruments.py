"""Gate instrument lists (`/spot/currency_pairs`, `/futures/usdt/contracts`) and tickers
(`/spot/tickers`, `/futures/usdt/tickers`).

Pairs give the listing as `buy_start` (seconds, may be 0) and, for an `untradable` delisted
pair, `delisting_time`; contracts give `create_time` (seconds) and flag a delisted one
`in_delisting`, without a date. Names are BTC_USDT: read as BTCUSDT.
"""

from __future__ import annotations

from collections.abc import Mapping

from workers.exchanges.base import PageRequest, load_json
from workers.exchanges.instruments import Instrument, Listed, ms_or_none, number, rows_of

_PATHS = {
    "spot": ("/spot/currency_pairs", "spot_candles", "/spot/tickers"),
    "futures": ("/futures/usdt/contracts", "futures_contracts", "/futures/usdt/tickers"),
}


class GateInstruments:
    def __init__(self, urls: Mapping[str, str]) -> None:
        self.url = dict(urls)[""]

    def dated(self, market: str) -> bool:
        return True

    def list_requests(self, market: str) -> list[PageRequest]:
        path, group, _ = _PATHS[market]
        return [PageRequest(self.url + path, (), group, 1)]

    def parse_list(self, body: bytes, request: PageRequest, market: str) -> Listed:
        rows = rows_of(load_json(body), f"gateio {market} list", body)
        return Listed(tuple(_pair(r) if market == "spot" else _contract(r) for r in rows))

    def ticker_request(self, market: str) -> PageRequest:
        _, group, path = _PATHS[market]
        return PageRequest(self.url + path, (), group, 1)

    def parse_tickers(self, body: bytes, market: str) -> dict[str, float]:
        rows = rows_of(load_json(body), f"gateio {market} tickers", body)
        if market == "spot":
            return {_name(r["currency_pair"]): number(r.get("quote_volume")) for r in rows}
        return {_name(r["contract"]): number(r.get("volume_24h_quote")) for r in rows}


def _name(native: str) -> str:
    return native.replace("_", "").upper()


def _pair(row: dict) -> Instrument:
    trading = row.get("trade_status") == "tradable"
    return Instrument(
        _name(row["id"]),
        row["base"],
        row["quote"],
        trading,
        ms_or_none(row.get("buy_start"), 1000),
        None if trading else ms_or_none(row.get("delisting_time"), 1000),
    )


def _contract(row: dict) -> Instrument:
    base, _, quote = row["name"].partition("_")
    return Instrument(
        _name(row["name"]),
        base,
        quote,
        not row.get("in_delisting", False),
        ms_or_none(row.get("create_time"), 1000),
    )
