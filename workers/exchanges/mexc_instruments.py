"""MEXC instrument lists (spot `/api/v3/exchangeInfo`, contract `/api/v1/contract/detail`)
and tickers (`/api/v3/ticker/24hr`, `/api/v1/contract/ticker`).

Spot gives no listing date; status "1" (older answers "ENABLED") is online, anything else
offline. Contracts give `createTime` (ms) and `state` (0 enabled, others paused or offline)
without a delisting date. The spot ticker's `quoteVolume` may be null (the docs' example):
then volume × last price stands in.
"""

from __future__ import annotations

from collections.abc import Mapping

from storage.errors import PermanentError
from workers.exchanges.base import PageRequest, load_json
from workers.exchanges.instruments import Instrument, Listed, ms_or_none, number, rows_of


class MexcInstruments:
    def __init__(self, urls: Mapping[str, str]) -> None:
        self.urls = dict(urls)

    def dated(self, market: str) -> bool:
        return market == "contract"

    def list_requests(self, market: str) -> list[PageRequest]:
        if market == "spot":
            return [PageRequest(self.urls["spot"] + "/api/v3/exchangeInfo", (), "spot_klines", 10)]
        url = self.urls["contract"] + "/api/v1/contract/detail"
        return [PageRequest(url, (), "contract", 1)]

    def parse_list(self, body: bytes, request: PageRequest, market: str) -> Listed:
        data = load_json(body)
        if market == "spot":
            if not isinstance(data, dict):
                raise PermanentError(f"mexc exchangeInfo: unexpected answer {body[:120]!r}")
            rows = rows_of(data.get("symbols"), "mexc exchangeInfo", body)
            return Listed(tuple(_spot(r) for r in rows))
        rows = rows_of(_contract_data(data, body), "mexc contract detail", body)
        return Listed(tuple(_contract(r) for r in rows))

    def ticker_request(self, market: str) -> PageRequest:
        if market == "spot":
            return PageRequest(self.urls["spot"] + "/api/v3/ticker/24hr", (), "spot_klines", 40)
        return PageRequest(self.urls["contract"] + "/api/v1/contract/ticker", (), "contract", 1)

    def parse_tickers(self, body: bytes, market: str) -> dict[str, float]:
        data = load_json(body)
        if market == "spot":
            rows = rows_of(data, "mexc tickers", body)
            return {r["symbol"]: _spot_volume(r) for r in rows}
        rows = rows_of(_contract_data(data, body), "mexc contract tickers", body)
        return {r["symbol"].replace("_", ""): number(r.get("amount24")) for r in rows}


def _contract_data(data: object, body: bytes) -> object:
    if not isinstance(data, dict) or data.get("success") is not True:
        raise PermanentError(f"mexc contract: unexpected answer {body[:160]!r}")
    rows = data.get("data")
    return [rows] if isinstance(rows, dict) else rows


def _spot_volume(row: dict) -> float:
    quote = row.get("quoteVolume")
    if quote not in (None, ""):
        return number(quote)
    return number(row.get("volume")) * number(row.get("lastPrice"))


def _spot(row: dict) -> Instrument:
    status = str(row.get("status"))
    return Instrument(
        row["symbol"], row["baseAsset"], row["quoteAsset"], status in ("1", "ENABLED")
    )


def _contract(row: dict) -> Instrument:
    return Instrument(
        row["symbol"].replace("_", ""),
        row["baseCoin"],
        row["quoteCoin"],
        row.get("state") == 0,
        ms_or_none(row.get("createTime")),
    )
