"""The perpetual series over HTTP on every venue equal the ground truth: mark/index/premium
klines, open interest, funding on its changing schedule, futures trades; reach limits hold."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import market
from simulator.server import SimConfig
from simulator.universe import SWITCHING, today_ms
from tests.unit.sim_client import fetch, fetch_one

ANCHOR = today_ms()
CONFIG = SimConfig(symbols=12, delisted=2, anchor_ms=ANCHOR)
DAY_MS, HOUR_MS = 86_400_000, 3_600_000
START = ANCHOR - 2 * DAY_MS  # two closed days before today


def _truth(kind: str, symbol: str, interval: str, start_ms: int, end_ms: int):
    CONFIG.universe().activate()
    return market.price_klines(kind, symbol, interval, start_ms, end_ms)


@pytest.mark.parametrize(
    ("kind", "path", "key"),
    [
        ("mark", "/fapi/v1/markPriceKlines", "symbol"),
        ("index", "/fapi/v1/indexPriceKlines", "pair"),
        ("premium", "/fapi/v1/premiumIndexKlines", "symbol"),
    ],
)
def test_binance_price_klines_equal_the_ground_truth(kind, path, key):
    params = {key: "BTCUSDT", "interval": "1h", "startTime": START, "endTime": START + DAY_MS - 1}
    rows = fetch_one(CONFIG, path, **params)
    truth = _truth(kind, "BTCUSDT", "1h", START, START + DAY_MS)
    assert [r[0] for r in rows] == truth["open_time"].tolist()
    assert [r[6] for r in rows] == truth["close_time"].tolist()
    for i, column in ((1, "open"), (2, "high"), (3, "low"), (4, "close")):
        assert [float(r[i]) for r in rows] == truth[column].tolist(), column


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("mark", "/v5/market/mark-price-kline"),
        ("index", "/v5/market/index-price-kline"),
        ("premium", "/v5/market/premium-index-price-kline"),
    ],
)
def test_bybit_price_klines_equal_the_ground_truth_newest_first(kind, path):
    params = {"category": "linear", "symbol": "ETHUSDT", "interval": "60"}
    body = fetch_one(CONFIG, path, **params, start=START, end=START + DAY_MS - HOUR_MS)
    rows = body["result"]["list"][::-1]
    truth = _truth(kind, "ETHUSDT", "1h", START, START + DAY_MS)
    assert [int(r[0]) for r in rows] == truth["open_time"].tolist()
    assert [float(r[4]) for r in rows] == truth["close"].tolist()
    assert [float(r[2]) for r in rows] == truth["high"].tolist()


def test_gate_mark_index_and_premium_candles_equal_the_ground_truth():
    window = {"interval": "1h", "from": START // 1000, "to": (START + DAY_MS) // 1000 - 1}
    path = "/api/v4/futures/usdt/candlesticks"
    mark = fetch_one(CONFIG, path, contract="mark_BTC_USDT", **window)
    index = fetch_one(CONFIG, path, contract="index_BTC_USDT", **window)
    premium = fetch_one(CONFIG, "/api/v4/futures/usdt/premium_index", contract="BTC_USDT", **window)
    for rows, kind in ((mark, "mark"), (index, "index"), (premium, "premium")):
        truth = _truth(kind, "BTCUSDT", "1h", START, START + DAY_MS)
        assert [r["t"] * 1000 for r in rows] == truth["open_time"].tolist()
        assert [float(r["o"]) for r in rows] == truth["open"].tolist(), kind
        assert [float(r["l"]) for r in rows] == truth["low"].tolist(), kind


def test_gate_candles_of_every_kind_reach_back_10000_points_only():
    old = {"interval": "1m", "from": (ANCHOR - 20 * DAY_MS) // 1000}
    old["to"] = old["from"] + 600
    answers = fetch(
        CONFIG,
        ("/api/v4/futures/usdt/candlesticks", {"contract": "mark_BTC_USDT", **old}),
        ("/api/v4/futures/usdt/premium_index", {"contract": "BTC_USDT", **old}),
        ("/api/v4/futures/usdt/candlesticks", {"contract": "BTC_USDT", **old}),
    )
    for status, body in answers:
        assert status == 400 and "10000 points" in body["message"]


def test_mexc_index_and_fair_price_klines_equal_the_ground_truth():
    window = {"interval": "Min60", "start": START // 1000, "end": (START + DAY_MS) // 1000 - 1}
    index = fetch_one(CONFIG, "/api/v1/contract/kline/index_price/BTC_USDT", **window)["data"]
    fair = fetch_one(CONFIG, "/api/v1/contract/kline/fair_price/BTC_USDT", **window)["data"]
    for data, kind in ((index, "index"), (fair, "mark")):
        truth = _truth(kind, "BTCUSDT", "1h", START, START + DAY_MS)
        assert [t * 1000 for t in data["time"]] == truth["open_time"].tolist()
        assert data["close"] == truth["close"].tolist() and set(data["vol"]) == {0.0}


def test_open_interest_equals_the_ground_truth_on_binance_bybit_and_gate():
    start, end = ANCHOR - DAY_MS, ANCHOR
    binance = fetch_one(
        CONFIG,
        "/futures/data/openInterestHist",
        symbol="BTCUSDT",
        period="5m",
        limit=500,
        startTime=start,
        endTime=end - 1,
    )
    gate = fetch_one(
        CONFIG,
        "/api/v4/futures/usdt/contract_stats",
        contract="BTC_USDT",
        **{"from": start // 1000},
        limit=288,
    )
    bybit, cursor = [], None
    for _ in range(10):
        params = {"category": "linear", "symbol": "BTCUSDT", "intervalTime": "5min"}
        params |= {"startTime": start, "endTime": end - 1, "limit": 100}
        if cursor:
            params["cursor"] = cursor
        result = fetch_one(CONFIG, "/v5/market/open-interest", **params)["result"]
        bybit += result["list"]
        cursor = result["nextPageCursor"]
        if not cursor:
            break
    CONFIG.universe().activate()
    truth = market.open_interest("BTCUSDT", start, end)
    assert len(truth) == 288
    assert [int(r["timestamp"]) for r in binance] == truth["time"].tolist()
    assert [float(r["sumOpenInterest"]) for r in binance] == truth["open_interest"].tolist()
    assert [float(r["sumOpenInterestValue"]) for r in binance] == truth[
        "open_interest_value"
    ].tolist()
    rows = bybit[::-1]
    assert [int(r["timestamp"]) for r in rows] == truth["time"].tolist()
    assert [float(r["openInterest"]) for r in rows] == truth["open_interest"].tolist()
    assert [r["time"] * 1000 for r in gate] == truth["time"].tolist()
    assert [r["open_interest"] / 1e8 for r in gate] == truth["open_interest"].tolist()
    assert [r["open_interest_usd"] for r in gate] == truth["open_interest_value"].tolist()


def test_binance_open_interest_history_reaches_back_30_days_only():
    old = fetch_one(
        CONFIG,
        "/futures/data/openInterestHist",
        symbol="BTCUSDT",
        period="1h",
        startTime=0,
        limit=500,
    )
    first_ms = int(old[0]["timestamp"])
    assert ANCHOR - 31 * DAY_MS < first_ms < ANCHOR - 29 * DAY_MS
    beyond = fetch_one(
        CONFIG,
        "/futures/data/openInterestHist",
        symbol="BTCUSDT",
        period="1d",
        startTime=ANCHOR - 90 * DAY_MS,
        endTime=ANCHOR - 40 * DAY_MS,
    )
    assert beyond == []


def test_funding_follows_the_changing_schedule_on_every_venue():
    start, end = ANCHOR - 3 * DAY_MS, ANCHOR
    name = SWITCHING.removesuffix("USDT") + "_USDT"
    answers = fetch(
        CONFIG,
        ("/fapi/v1/fundingRate", {"symbol": SWITCHING, "startTime": start, "endTime": end - 1}),
        (
            "/v5/market/funding/history",
            {"category": "linear", "symbol": SWITCHING, "startTime": start, "endTime": end - 1},
        ),
        (
            "/api/v4/futures/usdt/funding_rate",
            {"contract": name, "from": start // 1000, "to": end // 1000 - 1},
        ),
        ("/api/v1/contract/funding_rate/history", {"symbol": name, "page_size": 100}),
    )
    CONFIG.universe().activate()
    truth = market.funding(SWITCHING, start, end)
    assert len(truth) == 18, "every 4 hours"
    times = truth["funding_time"].tolist()
    (_, binance), (_, bybit), (_, gate), (_, mexc) = answers
    assert [r["fundingTime"] for r in binance] == times
    assert sorted(int(r["fundingRateTimestamp"]) for r in bybit["result"]["list"]) == times
    assert sorted(r["t"] * 1000 for r in gate) == times
    mexc_rows = [r for r in mexc["data"]["resultList"] if start <= r["settleTime"] < end]
    assert sorted(r["settleTime"] for r in mexc_rows) == times
    assert {r["collectCycle"] for r in mexc_rows} == {4}
    assert [float(r["fundingRate"]) for r in binance] == truth["funding_rate"].tolist()


def test_gate_futures_trades_are_the_ground_truths_in_signed_contracts():
    start = ANCHOR - DAY_MS
    rows = fetch_one(
        CONFIG,
        "/api/v4/futures/usdt/trades",
        contract="ETH_USDT",
        **{"from": start // 1000, "to": start // 1000 + 599},
        limit=1000,
    )[::-1]
    CONFIG.universe().activate()
    truth = market.aggtrades("ETHUSDT", "futures", start, start + 600_000)
    assert len(rows) == len(truth) > 0
    assert [r["id"] for r in rows] == truth["agg_id"].tolist()
    assert [round(r["create_time_ms"]) for r in rows] == truth["time"].tolist()
    sizes = np.array([r["size"] for r in rows])
    assert (np.abs(sizes) / 1e8 == truth["qty"].to_numpy()).all()
    assert ((sizes < 0) == truth["is_buyer_maker"].to_numpy()).all(), "negative: the taker sold"


def test_recent_trade_routes_serve_only_the_latest_trades():
    (_, mexc), (_, bybit), (status, too_many) = fetch(
        CONFIG,
        ("/api/v1/contract/deals/BTC_USDT", {}),
        ("/v5/market/recent-trade", {"category": "linear", "symbol": "BTCUSDT", "limit": 1000}),
        ("/api/v1/contract/deals/BTC_USDT", {"limit": 101}),
    )
    deals = mexc["data"]
    assert len(deals) == 100 and deals[0]["t"] >= deals[-1]["t"]
    assert len(bybit["result"]["list"]) == 1000
    assert status == 200 and too_many["success"] is False


def test_a_delisted_perpetual_answers_with_its_history_up_to_the_delisting():
    CONFIG.universe().activate()
    gone = next(s for s in market.symbols("usdm") if market.delisted_ms(s, "usdm"))
    end = market.delisted_ms(gone, "usdm")
    (_, klines), (_, mark), (_, bybit) = fetch(
        CONFIG,
        ("/fapi/v1/klines", {"symbol": gone, "interval": "1h", "startTime": end - 5 * HOUR_MS}),
        ("/fapi/v1/markPriceKlines", {"symbol": gone, "interval": "1h"}),
        ("/v5/market/kline", {"category": "linear", "symbol": gone, "interval": "60", "limit": 3}),
    )
    assert [r[0] for r in klines] == [end - h * HOUR_MS for h in range(5, 0, -1)]
    assert mark[-1][0] == end - HOUR_MS
    assert int(bybit["result"]["list"][0][0]) == end - HOUR_MS
