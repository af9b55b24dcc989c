"""Bybit v5 instrument lists (`/v5/market/instruments-info`) and tickers (`/v5/market/tickers`).

Spot lists trading pairs only, on one page, without a listing date. Linear lists by status
(`Trading` by default; delisted perpetuals are `Closed`, with their delisting as
`deliveryTime`), 1000 a page, paged by `nextPageCursor`; `launchTime` is the listing.
Every endpoint shares the IP's one budget ("ip", weight 1).
"""

from __future__ import annotations

from collections.abc import Mapping

from storage.errors import PermanentError
from workers.exchanges.base import PageRequest, load_json
from workers.exchanges.instruments import Instrument, Listed, ms_or_none, number, rows_of

PAGE = 1000
CATEGORY = {"spot": "spot", "linear": "linear"}


class BybitInstruments:
    def __init__(self, urls: Mapping[str, str]) -> None:
        self.url = dict(urls)[""]

    def dated(self, market: str) -> bool:
        return market == "linear"

    def _get(self, path: str, params: tuple[tuple[str, str], ...]) -> PageRequest:
        return PageRequest(self.url + path, params, "ip", 1)

    def list_requests(self, market: str) -> list[PageRequest]:
        path = "/v5/market/instruments-info"
        if market == "spot":
            return [self._get(path, (("category", "spot"),))]
        return [
            self._get(path, (("category", "linear"), ("status", s), ("limit", str(PAGE))))
            for s in ("Trading", "Closed")
        ]

    def parse_list(self, body: bytes, request: PageRequest, market: str) -> Listed:
        result = _result(body, "instruments-info")
        rows = rows_of(result.get("list"), f"bybit {market} instruments-info", body)
        if market == "spot":
            return Listed(tuple(_spot(r) for r in rows))
        found = tuple(_linear(r) for r in rows if r.get("contractType") == "LinearPerpetual")
        cursor = result.get("nextPageCursor") or ""
        if not cursor or not rows:
            return Listed(found)
        params = (*tuple((k, v) for k, v in request.params if k != "cursor"), ("cursor", cursor))
        return Listed(found, PageRequest(request.url, params, request.group, request.weight))

    def ticker_request(self, market: str) -> PageRequest:
        return self._get("/v5/market/tickers", (("category", CATEGORY[market]),))

    def parse_tickers(self, body: bytes, market: str) -> dict[str, float]:
        rows = rows_of(_result(body, "tickers").get("list"), f"bybit {market} tickers", body)
        return {r["symbol"]: number(r.get("turnover24h")) for r in rows}


def _result(body: bytes, what: str) -> dict:
    data = load_json(body)
    if not isinstance(data, dict) or data.get("retCode") != 0:
        raise PermanentError(f"bybit {what}: unexpected answer {body[:160]!r}")
    result = data.get("result")
    if not isinstance(result, dict):
        raise PermanentError(f"bybit {what}: unexpected answer {body[:160]!r}")
    return result


def _spot(row: dict) -> Instrument:
    return Instrument(
        row["symbol"], row["baseCoin"], row["quoteCoin"], row.get("status") == "Trading"
    )


def _linear(row: dict) -> Instrument:
    trading = row.get("status") == "Trading"
    return Instrument(
        row["symbol"],
        row["baseCoin"],
        row["quoteCoin"],
        trading,
        ms_or_none(row.get("launchTime")),
        None if trading else ms_or_none(row.get("deliveryTime")),
    )
