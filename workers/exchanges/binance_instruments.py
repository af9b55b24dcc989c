"""Binance instrument lists (`/api/v3/exchangeInfo`, `/fapi/v1/exchangeInfo`) and 24 h
tickers (`/api/v3/ticker/24hr`, `/fapi/v1/ticker/24hr`).

Spot lists no listing date (a delisted pair shows status BREAK); USD-M gives `onboardDate`
and, for a settled perpetual, its delisting as `deliveryDate` (4133404800000 otherwise).
Weights as documented: spot exchangeInfo 20, spot tickers of all symbols 80; USD-M 1 and 40.
"""

from __future__ import annotations

from collections.abc import Mapping

from storage.errors import PermanentError
from workers.exchanges.base import PageRequest, load_json
from workers.exchanges.instruments import Instrument, Listed, number, rows_of

PERPETUAL_DELIVERY_MS = 4133404800000
_PATHS = {
    "spot": ("/api/v3/exchangeInfo", 20, "/api/v3/ticker/24hr", 80),
    "usdm": ("/fapi/v1/exchangeInfo", 1, "/fapi/v1/ticker/24hr", 40),
}


class BinanceInstruments:
    def __init__(self, urls: Mapping[str, str]) -> None:
        self.urls = dict(urls)

    def dated(self, market: str) -> bool:
        return market == "usdm"

    def list_requests(self, market: str) -> list[PageRequest]:
        path, weight, _, _ = _PATHS[market]
        return [PageRequest(self.urls[market] + path, (), market, weight)]

    def parse_list(self, body: bytes, request: PageRequest, market: str) -> Listed:
        data = load_json(body)
        if not isinstance(data, dict):
            raise PermanentError(f"binance {market} exchangeInfo: unexpected {body[:120]!r}")
        rows = rows_of(data.get("symbols"), f"binance {market} exchangeInfo", body)
        return Listed(tuple(_spot(r) if market == "spot" else _usdm(r) for r in rows if _keep(r)))

    def ticker_request(self, market: str) -> PageRequest:
        _, _, path, weight = _PATHS[market]
        params = (("type", "MINI"),) if market == "spot" else ()
        return PageRequest(self.urls[market] + path, params, market, weight)

    def parse_tickers(self, body: bytes, market: str) -> dict[str, float]:
        rows = rows_of(load_json(body), f"binance {market} tickers", body)
        return {r["symbol"]: number(r.get("quoteVolume")) for r in rows}


def _keep(row: dict) -> bool:
    """Spot pairs, and perpetual contracts of USD-M (not the quarterly ones)."""
    return row.get("contractType", "PERPETUAL") == "PERPETUAL"


def _spot(row: dict) -> Instrument:
    return Instrument(
        row["symbol"], row["baseAsset"], row["quoteAsset"], row.get("status") == "TRADING"
    )


def _usdm(row: dict) -> Instrument:
    trading = row.get("status") == "TRADING"
    delivery = int(row.get("deliveryDate") or PERPETUAL_DELIVERY_MS)
    onboard = row.get("onboardDate")
    return Instrument(
        row["symbol"],
        row["baseAsset"],
        row["quoteAsset"],
        trading,
        int(onboard) if onboard else None,
        None if trading or delivery >= PERPETUAL_DELIVERY_MS else delivery,
    )
