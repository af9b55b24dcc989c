"""The simulator over real HTTP: Binance's formats, paging rules, errors, weights and 429s."""

import asyncio
import json
import time

import pandas as pd
import pytest
from aiohttp.test_utils import TestClient, TestServer

from simulator import market
from simulator.catalog import utc_ms
from simulator.server import SimConfig, make_app

HOUR_MS = 3_600_000
MINUTE_MS = 60_000
JAN_2024 = utc_ms(2024, 1, 1)
WEIGHT = "X-MBX-USED-WEIGHT-1M"


def run(scenario, config=None):
    """Run `await scenario(client)` against a fresh simulator on a loopback port."""

    async def main():
        async with TestClient(TestServer(make_app(config or SimConfig()))) as client:
            return await scenario(client)

    return asyncio.run(main())


async def get(client, path, **params):
    """(status, parsed body, headers) of one GET."""
    response = await client.get(path, params={k: str(v) for k, v in params.items()})
    return response.status, json.loads(await response.read()), response.headers


def kline_frame(rows):
    floats = [1, 2, 3, 4, 5, 7, 9, 10]
    parsed = [
        [float(cell) if i in floats else int(cell) for i, cell in enumerate(row[:11])]
        for row in rows
    ]
    return pd.DataFrame(parsed, columns=list(market.KLINE_COLUMNS))


def trade_frame(rows):
    return pd.DataFrame(
        {
            "agg_id": [r["a"] for r in rows],
            "price": [float(r["p"]) for r in rows],
            "qty": [float(r["q"]) for r in rows],
            "first_id": [r["f"] for r in rows],
            "last_id": [r["l"] for r in rows],
            "time": [r["T"] for r in rows],
            "is_buyer_maker": [r["m"] for r in rows],
        }
    )


def test_a_klines_page_is_the_ground_truth_in_binance_format():
    end_ms = JAN_2024 + 999 * MINUTE_MS

    async def scenario(client):
        return await get(
            client,
            "/api/v3/klines",
            symbol="BTCUSDT",
            interval="1m",
            startTime=JAN_2024,
            endTime=end_ms,
            limit=1000,
        )

    status, rows, headers = run(scenario)
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert len(rows) == 1000
    first = rows[0]
    assert len(first) == 12 and first[11] == "0"
    assert isinstance(first[0], int) and isinstance(first[6], int) and isinstance(first[8], int)
    assert all(isinstance(first[i], str) and len(first[i].split(".")[1]) == 8 for i in (1, 5, 7))
    truth = market.klines("BTCUSDT", "spot", "1m", JAN_2024, end_ms + 1)
    pd.testing.assert_frame_equal(kline_frame(rows), truth, check_exact=True)


def test_klines_paging_follows_binance():
    def opens(rows):
        return [row[0] for row in rows]

    async def scenario(client):
        kw = {"symbol": "ETHUSDT", "interval": "1m"}
        return [
            await get(client, "/api/v3/klines", startTime=JAN_2024 + 30_000, limit=3, **kw),
            await get(client, "/api/v3/klines", endTime=JAN_2024, limit=3, **kw),
            await get(
                client, "/api/v3/klines", startTime=JAN_2024, endTime=JAN_2024 + 120_000, **kw
            ),
            await get(client, "/api/v3/klines", startTime=JAN_2024 * 1000, limit=1, **kw),
            await get(client, "/api/v3/klines", startTime=0, limit=1, **kw),
            await get(
                client,
                "/api/v3/klines",
                symbol="NEWUSDT",
                interval="1h",
                startTime=JAN_2024,
                endTime=utc_ms(2024, 2, 1),
            ),
        ]

    after, before, both, micros, probe, pre_listing = [body for _, body, _ in run(scenario)]
    assert opens(after) == [JAN_2024 + MINUTE_MS * k for k in (1, 2, 3)]
    assert opens(before) == [JAN_2024 - MINUTE_MS * k for k in (2, 1, 0)]
    assert opens(both) == [JAN_2024 + MINUTE_MS * k for k in (0, 1, 2)]  # endTime inclusive
    assert opens(micros) == [JAN_2024]
    assert opens(probe) == [market.listing_ms("ETHUSDT", "spot")]
    assert pre_listing == []


def test_usdm_klines_allow_1500_rows_and_cost_by_limit():
    async def scenario(client):
        kw = {"symbol": "BTCUSDT", "interval": "1m", "startTime": JAN_2024}
        pages = [await get(client, "/fapi/v1/klines", limit=n, **kw) for n in (1500, 99, 499)]
        pages.append(await get(client, "/fapi/v1/klines", **kw))
        return pages

    pages = run(scenario)
    assert [len(body) for _, body, _ in pages] == [1500, 99, 499, 500]
    assert [int(headers[WEIGHT]) for _, _, headers in pages] == [10, 11, 13, 18]


def test_aggtrades_by_time_then_by_from_id_walk_the_ground_truth():
    truth = market.aggtrades("BTCUSDT", "spot", JAN_2024, JAN_2024 + 3 * HOUR_MS)

    async def scenario(client):
        kw = {"symbol": "BTCUSDT", "limit": 1000}
        _, by_time, _ = await get(
            client, "/api/v3/aggTrades", startTime=JAN_2024, endTime=JAN_2024 + HOUR_MS, **kw
        )
        _, by_id, _ = await get(client, "/api/v3/aggTrades", fromId=by_time[-1]["a"] + 1, **kw)
        _, newest, _ = await get(
            client, "/api/v3/aggTrades", endTime=JAN_2024 + HOUR_MS, symbol="BTCUSDT", limit=5
        )
        return by_time, by_id, newest

    by_time, by_id, newest = run(scenario)
    assert set(by_time[0]) == {"a", "p", "q", "f", "l", "T", "m", "M"}
    assert all(row["M"] is True for row in by_time)
    in_hour = truth[truth["time"] <= JAN_2024 + HOUR_MS].reset_index(drop=True)
    pd.testing.assert_frame_equal(trade_frame(by_time), in_hour, check_exact=True)
    pd.testing.assert_frame_equal(trade_frame(newest), in_hour.tail(5).reset_index(drop=True))
    following = truth.iloc[len(in_hour) : len(in_hour) + 1000].reset_index(drop=True)
    pd.testing.assert_frame_equal(trade_frame(by_id), following, check_exact=True)


def test_usdm_aggtrades_have_no_best_match_and_a_one_hour_window():
    async def scenario(client):
        kw = {"symbol": "ETHUSDT", "startTime": JAN_2024}
        return (
            await get(client, "/fapi/v1/aggTrades", endTime=JAN_2024 + HOUR_MS, **kw),
            await get(client, "/fapi/v1/aggTrades", endTime=JAN_2024 + HOUR_MS + 1, **kw),
        )

    (ok_status, rows, _), (status, body, _) = run(scenario)
    assert ok_status == 200 and rows
    assert set(rows[0]) == {"a", "p", "q", "f", "l", "T", "m"}
    assert status == 400
    assert body == {"code": -1127, "msg": "More than 1 hours between startTime and endTime."}


def test_funding_rate_serves_the_ground_truth_in_binance_format():
    async def scenario(client):
        return (
            await get(client, "/fapi/v1/fundingRate", symbol="BTCUSDT", startTime=0, limit=5),
            await get(
                client,
                "/fapi/v1/fundingRate",
                symbol="BTCUSDT",
                startTime=utc_ms(2024, 1, 1),
                endTime=utc_ms(2024, 1, 2),
            ),
        )

    (status, first_five, _), (_, one_day, _) = run(scenario)
    assert status == 200
    assert set(first_five[0]) == {"symbol", "fundingRate", "fundingTime", "markPrice"}
    assert first_five[0]["symbol"] == "BTCUSDT"
    assert all(len(row["fundingRate"].split(".")[1]) == 8 for row in first_five)
    truth = market.funding("BTCUSDT", 0, utc_ms(2019, 9, 12))
    served = pd.DataFrame(
        {
            "funding_time": [row["fundingTime"] for row in first_five],
            "funding_rate": [float(row["fundingRate"]) for row in first_five],
            "mark_price": [float(row["markPrice"]) for row in first_five],
        }
    )
    pd.testing.assert_frame_equal(served, truth, check_exact=True)
    assert [row["fundingTime"] for row in one_day] == [
        utc_ms(2024, 1, 1, h) for h in (0, 8, 16)
    ] + [utc_ms(2024, 1, 2)]


@pytest.mark.parametrize(
    ("path", "params", "code", "msg"),
    [
        ("/api/v3/klines", {"symbol": "DOGEUSDT", "interval": "1m"}, -1121, "Invalid symbol."),
        ("/fapi/v1/klines", {"symbol": "BNBUSDT", "interval": "1m"}, -1121, "Invalid symbol."),
        ("/fapi/v1/fundingRate", {"symbol": "BNBUSDT"}, -1121, "Invalid symbol."),
        ("/api/v3/exchangeInfo", {"symbol": "DOGEUSDT"}, -1121, "Invalid symbol."),
        ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1H"}, -1120, "Invalid interval."),
        ("/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1s"}, -1120, "Invalid interval."),
        (
            "/api/v3/klines",
            {"symbol": "btcusdt", "interval": "1m"},
            -1100,
            "Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'.",
        ),
        (
            "/api/v3/aggTrades",
            {},
            -1102,
            "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
        ),
        (
            "/api/v3/klines",
            {"symbol": "BTCUSDT"},
            -1102,
            "Mandatory parameter 'interval' was not sent, was empty/null, or malformed.",
        ),
        (
            "/api/v3/klines",
            {"symbol": "BTCUSDT", "interval": "1m", "limit": 1001},
            -1130,
            "Data sent for parameter 'limit' is not valid.",
        ),
        (
            "/api/v3/aggTrades",
            {"symbol": "BTCUSDT", "fromId": 5, "startTime": 0},
            -1128,
            "Combination of optional parameters invalid.",
        ),
    ],
)
def test_bad_requests_get_http_400_with_binance_error_bodies(path, params, code, msg):
    async def scenario(client):
        return await get(client, path, **params)

    status, body, headers = run(scenario)
    assert status == 400
    assert body == {"code": code, "msg": msg}
    assert WEIGHT in headers
    assert headers["Content-Type"].startswith("application/json")


def test_stats_count_requests_and_weight_per_budget():
    async def scenario(client):
        await get(client, "/api/v3/klines", symbol="BTCUSDT", interval="1h")
        await get(client, "/api/v3/aggTrades", symbol="BTCUSDT")
        await get(client, "/api/v3/exchangeInfo")
        await get(client, "/api/v3/time")
        _, _, headers = await get(client, "/api/v3/ping")
        await get(client, "/fapi/v1/aggTrades", symbol="BTCUSDT")
        await get(client, "/fapi/v1/fundingRate", symbol="BTCUSDT")
        _, stats, _ = await get(client, "/_sim/stats")
        return headers, stats

    headers, stats = run(scenario)
    assert headers[WEIGHT] == "28"
    assert stats["requests"] == {
        "/api/v3/klines": 1,
        "/api/v3/aggTrades": 1,
        "/api/v3/exchangeInfo": 1,
        "/api/v3/time": 1,
        "/api/v3/ping": 1,
        "/fapi/v1/aggTrades": 1,
        "/fapi/v1/fundingRate": 1,
    }
    assert stats["requests_total"] == 7
    assert binance_only(stats["weight"]) == {"spot": 28, "usdm": 20, "usdm_funding": 1}
    assert binance_only(stats["peak_window_weight"]) == {"spot": 28, "usdm": 20, "usdm_funding": 1}
    assert binance_only(stats["budgets"]) == {
        "spot": [6000, 60],
        "usdm": [2400, 60],
        "usdm_funding": [500, 300],
    }
    assert stats["rejected_429"] == 0


def test_exceeding_the_budget_gives_429_with_retry_after_and_spends_nothing():
    config = SimConfig(spot_weight=(10, 60))

    async def scenario(client):
        kw = {"symbol": "BTCUSDT", "interval": "1m"}
        accepted = [await client.get("/api/v3/klines", params=kw) for _ in range(5)]
        refused = await client.get("/api/v3/klines", params=kw)
        refused_body = await refused.json()
        futures = await client.get("/fapi/v1/klines", params=kw)
        _, stats, _ = await get(client, "/_sim/stats")
        return accepted, refused, refused_body, futures, stats

    accepted, refused, body, futures, stats = run(scenario, config)
    assert [r.status for r in accepted] == [200] * 5
    assert [r.headers[WEIGHT] for r in accepted] == ["2", "4", "6", "8", "10"]
    assert refused.status == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers[WEIGHT] == "10"
    assert body == {
        "code": -1003,
        "msg": "Too many requests; current limit of IP(127.0.0.1) request weight is 10 per 60 "
        "SECONDS. Please use WebSocket Streams for live updates to avoid polling the API.",
    }
    assert futures.status == 200  # USD-M has its own budget
    assert stats["weight"]["spot"] == 10
    assert stats["rejected_429"] == 1
    assert stats["requests"]["/api/v3/klines"] == 6


def test_funding_requests_spend_their_own_budget_not_weight():
    config = SimConfig(usdm_weight=(5, 60), usdm_funding=(2, 300))

    async def scenario(client):
        kw = {"symbol": "ETHUSDT"}
        funding = [await client.get("/fapi/v1/fundingRate", params=kw) for _ in range(3)]
        refused_body = await funding[2].json()
        info = await client.get("/fapi/v1/exchangeInfo")
        _, stats, _ = await get(client, "/_sim/stats")
        return funding, refused_body, info, stats

    funding, refused_body, info, stats = run(scenario, config)
    assert [r.status for r in funding] == [200, 200, 429]
    assert [r.headers[WEIGHT] for r in funding] == ["0", "0", "0"]
    assert 1 <= int(funding[2].headers["Retry-After"]) <= 300
    assert refused_body["code"] == -1003
    assert "is 2 per 300 SECONDS" in refused_body["msg"]
    assert info.status == 200 and info.headers[WEIGHT] == "1"
    assert binance_only(stats["weight"]) == {"spot": 0, "usdm": 1, "usdm_funding": 2}


def test_nothing_after_now_is_served():
    async def scenario(client):
        before_ms = int(time.time() * 1000)
        kw = {"symbol": "BTCUSDT"}
        results = (
            await get(client, "/api/v3/klines", interval="1m", **kw),
            await get(client, "/api/v3/klines", interval="1m", startTime=before_ms + HOUR_MS, **kw),
            await get(client, "/api/v3/aggTrades", endTime=before_ms + 86_400_000, **kw),
            await get(client, "/api/v3/aggTrades", fromId=10**12, **kw),
            await get(client, "/fapi/v1/fundingRate", startTime=before_ms - 86_400_000, **kw),
        )
        return before_ms, int(time.time() * 1000), [body for _, body, _ in results]

    before_ms, after_ms, (klines, future, trades, beyond, funding) = run(scenario)
    assert len(klines) == 500
    assert klines[-1][0] <= after_ms and klines[-1][6] >= before_ms  # the open candle is served
    assert future == []
    assert trades and trades[-1]["T"] <= after_ms
    assert beyond == []
    assert 1 <= len(funding) <= 3 and funding[-1]["fundingTime"] <= after_ms


def binance_only(per_budget: dict) -> dict:
    """The Binance venue's budgets (the other venues' are counted beside them)."""
    return {k: v for k, v in per_budget.items() if k in ("spot", "usdm", "usdm_funding")}


def test_reset_zeroes_counters_and_refills_budgets():
    config = SimConfig(spot_weight=(4, 60))

    async def scenario(client):
        kw = {"symbol": "BTCUSDT"}
        await client.get("/api/v3/aggTrades", params=kw)
        refused = await client.get("/api/v3/aggTrades", params=kw)
        reset = await client.post("/_sim/reset")
        _, stats, _ = await get(client, "/_sim/stats")
        again = await client.get("/api/v3/aggTrades", params=kw)
        return refused.status, reset.status, stats, again.status

    refused, reset, stats, again = run(scenario, config)
    assert (refused, reset, again) == (429, 200, 200)
    assert stats["requests_total"] == 0 and stats["rejected_429"] == 0
    assert binance_only(stats["weight"]) == {"spot": 0, "usdm": 0, "usdm_funding": 0}


def test_exchange_info_lists_symbols_and_configured_limits():
    async def scenario(client):
        return (
            await get(client, "/api/v3/exchangeInfo", symbols='["BTCUSDT","NEWUSDT"]'),
            await get(client, "/fapi/v1/exchangeInfo"),
        )

    (_, spot, spot_headers), (_, usdm, _) = run(scenario, SimConfig(spot_weight=(1200, 60)))
    assert spot_headers[WEIGHT] == "20"
    assert spot["rateLimits"][0] == {
        "rateLimitType": "REQUEST_WEIGHT",
        "interval": "MINUTE",
        "intervalNum": 1,
        "limit": 1200,
    }
    assert [s["symbol"] for s in spot["symbols"]] == ["BTCUSDT", "NEWUSDT"]
    assert spot["symbols"][0]["status"] == "TRADING"
    assert spot["symbols"][0]["permissionSets"] == [["SPOT"]]
    contracts = {s["symbol"]: s for s in usdm["symbols"]}
    assert set(contracts) == {"BTCUSDT", "ETHUSDT", "NEWUSDT"}
    assert contracts["NEWUSDT"]["onboardDate"] == market.listing_ms("NEWUSDT", "usdm")
    assert contracts["BTCUSDT"]["contractType"] == "PERPETUAL"
    assert usdm["rateLimits"][0]["limit"] == 2400


@pytest.mark.parametrize(
    ("window_s", "header"),
    [
        (5, "X-MBX-USED-WEIGHT-5S"),
        (10, "X-MBX-USED-WEIGHT-10S"),
        (60, "X-MBX-USED-WEIGHT-1M"),
        (120, "X-MBX-USED-WEIGHT-2M"),
        (3600, "X-MBX-USED-WEIGHT-1H"),
    ],
)
def test_usage_header_is_named_after_the_budget_window(window_s, header):
    config = SimConfig(spot_weight=(6000, window_s), usdm_weight=(2400, 60))

    async def scenario(client):
        spot = await client.get("/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1h"})
        spot_again = await client.get("/api/v3/ping")
        usdm = await client.get("/fapi/v1/ping")
        return spot.headers, spot_again.headers, usdm.headers

    spot, spot_again, usdm = run(scenario, config)
    assert spot[header] == "2" and spot_again[header] == "3"
    assert [name for name in spot if name.startswith("X-MBX")] == [header]
    assert usdm["X-MBX-USED-WEIGHT-1M"] == "1", "USD-M keeps its own 60 s budget and name"
