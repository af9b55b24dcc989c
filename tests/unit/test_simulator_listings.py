"""Instrument lists and 24 h tickers on every venue: the whole universe, real paging, delisted
symbols as each exchange shows them, the current funding interval, the same 24 h volumes."""

from __future__ import annotations

import pytest

from simulator import market
from simulator.server import SimConfig
from simulator.universe import HOURLY, SWITCHING, today_ms
from tests.unit.sim_client import fetch, fetch_one

ANCHOR = today_ms()
CONFIG = SimConfig(symbols=40, delisted=3, anchor_ms=ANCHOR)


def _universe() -> tuple[list[str], list[str], list[str]]:
    """(spot symbols, perpetual symbols, delisted) of CONFIG, as the ground truth lists them."""
    CONFIG.universe().activate()
    gone = [s for s in market.symbols("spot") if market.delisted_ms(s, "spot") is not None]
    return market.symbols("spot"), market.symbols("usdm"), gone


def _pair(symbol: str) -> str:
    return symbol.removesuffix("USDT") + "_USDT"


def test_binance_lists_every_symbol_with_its_status_and_onboard_date():
    spot, perp, gone = _universe()
    spot_info = fetch_one(CONFIG, "/api/v3/exchangeInfo")
    usdm_info = fetch_one(CONFIG, "/fapi/v1/exchangeInfo")
    breaks = fetch_one(CONFIG, "/api/v3/exchangeInfo", symbolStatus="BREAK")
    statuses = {s["symbol"]: s["status"] for s in spot_info["symbols"]}
    assert sorted(statuses) == spot and len(spot) == 40
    assert {s for s, status in statuses.items() if status == "BREAK"} == set(gone)
    assert [s["symbol"] for s in breaks["symbols"]] == sorted(gone)
    contracts = {s["symbol"]: s for s in usdm_info["symbols"]}
    assert sorted(contracts) == perp
    for symbol, contract in contracts.items():
        assert contract["onboardDate"] == market.listing_ms(symbol, "usdm")
        if symbol in gone:
            assert contract["status"] == "SETTLING"
            assert contract["deliveryDate"] == market.delisted_ms(symbol, "usdm")
        else:
            assert (contract["status"], contract["deliveryDate"]) == ("TRADING", 4133404800000)


def test_bybit_pages_linear_instruments_by_cursor_and_hides_closed_ones():
    _, perp, gone = _universe()
    requests = [("/v5/market/instruments-info", {"category": "linear", "limit": 7})]
    seen, statuses = [], set()
    for _ in range(10):
        body = fetch_one(CONFIG, requests[0][0], **requests[0][1])
        page = body["result"]
        seen += [item["symbol"] for item in page["list"]]
        statuses |= {item["status"] for item in page["list"]}
        if not page["nextPageCursor"]:
            break
        assert "first%3D" in page["nextPageCursor"]
        requests = [(requests[0][0], {**requests[0][1], "cursor": page["nextPageCursor"]})]
    assert seen == sorted(set(perp) - set(gone)) and statuses == {"Trading"}
    closed = fetch_one(CONFIG, "/v5/market/instruments-info", category="linear", status="Closed")
    items = closed["result"]["list"]
    assert [i["symbol"] for i in items] == sorted(gone)
    assert all(i["deliveryTime"] == str(market.delisted_ms(i["symbol"], "usdm")) for i in items)
    spot = fetch_one(CONFIG, "/v5/market/instruments-info", category="spot", limit=1)["result"]
    assert len(spot["list"]) == 40 - len(gone) and "nextPageCursor" not in spot


def test_gate_and_mexc_list_every_pair_and_contract_with_delistings():
    spot, perp, gone = _universe()
    pairs = fetch_one(CONFIG, "/api/v4/spot/currency_pairs")
    contracts = fetch_one(CONFIG, "/api/v4/futures/usdt/contracts")
    mexc_spot = fetch_one(CONFIG, "/mexc/api/v3/exchangeInfo")["symbols"]
    mexc_perp = fetch_one(CONFIG, "/api/v1/contract/detail")["data"]
    assert sorted(p["id"] for p in pairs) == sorted(_pair(s) for s in spot)
    untradable = {p["id"] for p in pairs if p["trade_status"] == "untradable"}
    assert untradable == {_pair(s) for s in gone}
    for pair in pairs:
        symbol = pair["id"].replace("_", "")
        assert pair["buy_start"] == market.listing_ms(symbol, "spot") // 1000
    assert sorted(c["name"] for c in contracts) == sorted(_pair(s) for s in perp)
    assert {c["name"] for c in contracts if c["in_delisting"]} == {_pair(s) for s in gone}
    assert {s["symbol"] for s in mexc_spot if s["status"] == "3"} == set(gone)
    assert {c["symbol"] for c in mexc_perp if c["state"] == 3} == {_pair(s) for s in gone}
    created = {c["symbol"]: c["createTime"] for c in mexc_perp}
    assert created[_pair(HOURLY)] == market.listing_ms(HOURLY, "usdm")


def test_instrument_lists_show_the_funding_interval_in_force_now():
    _universe()
    bybit = fetch_one(CONFIG, "/v5/market/instruments-info", category="linear", limit=1000)
    minutes = {i["symbol"]: i["fundingInterval"] for i in bybit["result"]["list"]}
    gate = {
        c["name"]: c["funding_interval"]
        for c in fetch_one(CONFIG, "/api/v4/futures/usdt/contracts")
    }
    info = {
        r["symbol"]: r["fundingIntervalHours"] for r in fetch_one(CONFIG, "/fapi/v1/fundingInfo")
    }
    for symbol, hours in ((SWITCHING, 4), (HOURLY, 1), ("BTCUSDT", 8)):
        assert market.funding_interval_hours(symbol, ANCHOR + 86_400_000) == hours
        assert minutes[symbol] == hours * 60
        assert gate[_pair(symbol)] == hours * 3600
    assert info[SWITCHING] == 4 and info[HOURLY] == 1 and "BTCUSDT" not in info
    name = SWITCHING.removesuffix("USDT") + "_USDT"
    mexc = fetch_one(CONFIG, f"/api/v1/contract/funding_rate/{name}")["data"]
    assert mexc["collectCycle"] == 4 and mexc["nextSettleTime"] % (4 * 3_600_000) == 0


def test_every_venues_ticker_shows_the_ground_truths_24h_volume_for_trading_symbols():
    spot, perp, gone = _universe()
    binance = fetch_one(CONFIG, "/api/v3/ticker/24hr")
    usdm = fetch_one(CONFIG, "/fapi/v1/ticker/24hr")
    bybit = fetch_one(CONFIG, "/v5/market/tickers", category="spot")["result"]["list"]
    gate = fetch_one(CONFIG, "/api/v4/spot/tickers")
    gate_perp = fetch_one(CONFIG, "/api/v4/futures/usdt/tickers")
    mexc = fetch_one(CONFIG, "/mexc/api/v3/ticker/24hr")
    mexc_perp = fetch_one(CONFIG, "/api/v1/contract/ticker")["data"]
    now = ANCHOR + 86_400_000  # any time today: the 24 h volume holds still
    truth = {s: market.quote_volume_24h(s, "spot", now) for s in spot}
    assert {r["symbol"]: float(r["quoteVolume"]) for r in binance} == truth  # BREAK: 0
    trading = {s: v for s, v in truth.items() if s not in gone}
    assert {r["symbol"]: float(r["turnover24h"]) for r in bybit} == trading
    assert {r["currency_pair"].replace("_", ""): float(r["quote_volume"]) for r in gate} == trading
    assert {r["symbol"]: float(r["quoteVolume"]) for r in mexc} == trading
    perp_truth = {s: market.quote_volume_24h(s, "usdm", now) for s in perp if s not in gone}
    assert {r["symbol"]: float(r["quoteVolume"]) for r in usdm if r["count"]} == perp_truth
    assert {
        r["contract"].replace("_", ""): float(r["volume_24h_quote"]) for r in gate_perp
    } == perp_truth
    assert {r["symbol"].replace("_", ""): r["amount24"] for r in mexc_perp} == perp_truth
    ranked = sorted(binance, key=lambda r: -float(r["quoteVolume"]))
    assert [r["symbol"] for r in ranked[:5]] == market.top_symbols("spot", 5, now)


@pytest.mark.parametrize(
    ("params", "weight"),
    [({"symbol": "BTCUSDT"}, 2), ({"symbols": '["BTCUSDT","ETHUSDT"]'}, 2), ({}, 80)],
)
def test_binance_spot_ticker_weight_grows_with_the_symbols_asked(params, weight):
    [(status, _), (_, stats)] = fetch(CONFIG, ("/api/v3/ticker/24hr", params), ("/_sim/stats", {}))
    assert status == 200 and stats["weight"]["spot"] == weight


def test_the_universe_settings_are_served_to_rebuild_the_ground_truth():
    body = fetch_one(CONFIG, "/_sim/universe")
    assert body["symbols"] == 40 and body["delisted"] == 3 and body["anchor_ms"] == ANCHOR
    default = fetch_one(SimConfig(), "/_sim/universe")
    assert default["symbols"] is None and default["delisted"] == 0
