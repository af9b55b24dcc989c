"""The MEXC, Gate.io and Bybit venues of the simulator: their formats, paging and limits."""

import asyncio
import json
import time

from aiohttp.test_utils import TestClient, TestServer

from simulator import market
from simulator.catalog import utc_ms
from simulator.server import SimConfig, Simulation, make_app

JAN_2024 = utc_ms(2024, 1, 1)
HOUR_MS = 3_600_000


def run(scenario, config=None):
    async def main():
        async with TestClient(TestServer(make_app(config or SimConfig()))) as client:
            return await scenario(client)

    return asyncio.run(main())


async def get(client, path, **params):
    response = await client.get(path, params={k: str(v) for k, v in params.items()})
    return response.status, json.loads(await response.read())


def test_no_two_venues_share_a_path():
    paths = [e.path for v in Simulation(SimConfig()).venues for e in v.endpoints]
    assert len(paths) == len(set(paths))


def test_mexc_spot_klines_are_eight_columns_closing_at_the_next_open():
    async def scenario(client):
        kw = {"symbol": "BTCUSDT", "interval": "60m", "startTime": JAN_2024}
        return await get(client, "/mexc/api/v3/klines", **kw, endTime=JAN_2024 + 3 * HOUR_MS)

    status, rows = run(scenario)
    truth = market.klines("BTCUSDT", "spot", "1h", JAN_2024, JAN_2024 + 3 * HOUR_MS)
    assert status == 200 and len(rows) == 3, "endTime is exclusive"
    assert all(len(r) == 8 and r[6] == r[0] + HOUR_MS for r in rows)
    assert [float(r[4]) for r in rows] == truth["close"].tolist()


def test_mexc_aggtrades_need_both_bounds_and_have_no_ids():
    async def scenario(client):
        missing = await get(client, "/mexc/api/v3/aggTrades", symbol="BTCUSDT", startTime=0)
        kw = {"symbol": "BTCUSDT", "startTime": JAN_2024, "endTime": JAN_2024 + HOUR_MS}
        kw["limit"] = 1000
        return missing, await get(client, "/mexc/api/v3/aggTrades", **kw)

    (bad, _), (status, rows) = run(scenario)
    truth = market.aggtrades("BTCUSDT", "spot", JAN_2024, JAN_2024 + HOUR_MS)
    assert bad == 400 and status == 200
    assert [r["T"] for r in rows] == truth["time"].tolist()
    assert all(r["a"] is None and r["f"] is None and r["l"] is None for r in rows)


def test_mexc_contract_funding_pages_newest_first_and_errors_in_http_200():
    async def scenario(client):
        path = "/api/v1/contract/funding_rate/history"
        page = await get(client, path, symbol="BTC_USDT", page_num=2, page_size=5)
        unknown = await get(client, path, symbol="NOPE_USDT")
        kline = await get(client, "/api/v1/contract/kline/BTC_USDT", interval="Month1")
        return page, unknown, kline

    (status, page), (ustatus, unknown), (_, kline) = run(scenario)
    rows = page["data"]["resultList"]
    times = [r["settleTime"] for r in rows]
    assert status == 200 and page["data"]["currentPage"] == 2 and len(rows) == 5
    assert times == sorted(times, reverse=True)
    assert isinstance(rows[0]["fundingRate"], float)
    assert (ustatus, unknown["success"], unknown["code"]) == (200, False, 1001)
    assert kline["data"]["time"][0] * 1000 == market.first_time_ms(
        "BTCUSDT", "usdm", "klines", "1M"
    )


def test_gate_candles_reach_back_10000_intervals_only():
    now_s = int(time.time())

    async def scenario(client):
        path = "/api/v4/spot/candlesticks"
        kw = {"currency_pair": "BTC_USDT", "interval": "1m"}
        old = await get(
            client, path, **kw, **{"from": now_s - 20_000 * 60, "to": now_s - 19_500 * 60}
        )
        recent = await get(client, path, **kw, **{"from": now_s - 3_600, "to": now_s})
        both = await get(client, path, **kw, limit=10, **{"from": now_s - 600})
        unknown = await get(client, path, currency_pair="BTC_USDX", interval="1m")
        return old, recent, both, unknown

    (old, body), (ok, rows), (both, _), (bad, err) = run(scenario)
    assert old == 400 and "10000 points" in body["message"]
    assert ok == 200 and rows[-1][-1] == "false" and all(r[-1] == "true" for r in rows[:-1])
    assert [len(r) for r in rows[:1]] == [8]
    assert both == 400, "limit cannot be combined with from/to"
    assert (bad, err["label"]) == (400, "INVALID_CURRENCY_PAIR")


def test_gate_trades_are_newest_first_in_pages():
    async def scenario(client):
        kw = {"currency_pair": "BTC_USDT", "from": JAN_2024 // 1000, "to": JAN_2024 // 1000 + 3599}
        return [await get(client, "/api/v4/spot/trades", **kw, limit=300, page=p) for p in (1, 2)]

    (s1, page1), (s2, page2) = run(scenario)
    truth = market.aggtrades("BTCUSDT", "spot", JAN_2024, JAN_2024 + HOUR_MS)
    ids = [int(r["id"]) for r in page1 + page2]
    assert s1 == s2 == 200 and ids == sorted(ids, reverse=True)
    assert ids[0] == truth["agg_id"].iloc[-1] and len(set(ids)) == 600


def test_gate_limit_is_per_endpoint():
    config = SimConfig()

    async def scenario(client):
        statuses = []
        for _ in range(201):
            status, _ = await get(
                client, "/api/v4/futures/usdt/funding_rate", contract="BTC_USDT", limit=1
            )
            statuses.append(status)
        other, _ = await get(client, "/api/v4/spot/trades", currency_pair="BTC_USDT", limit=1)
        return statuses, other

    statuses, other = run(scenario, config)
    assert statuses[:200] == [200] * 200 and statuses[200] == 429
    assert other == 200, "the trades endpoint has its own budget"


def test_bybit_breach_is_403_then_a_ban():
    async def scenario(client):
        statuses = []
        for _ in range(602):
            response = await client.get("/v5/market/funding/history?category=linear&symbol=X")
            statuses.append(response.status)
        return statuses

    statuses = run(scenario, SimConfig(bybit_ban_s=60))
    assert statuses[:600] == [200] * 600  # unknown symbol: retCode 10001 in HTTP 200
    assert statuses[600:] == [403, 403]


def test_bybit_klines_newest_first_with_inclusive_bounds():
    async def scenario(client):
        kw = {"category": "spot", "symbol": "BTCUSDT", "interval": "60"}
        return await get(
            client, "/v5/market/kline", **kw, start=JAN_2024, end=JAN_2024 + 2 * HOUR_MS
        )

    status, body = run(scenario)
    starts = [int(r[0]) for r in body["result"]["list"]]
    assert status == 200 and body["retCode"] == 0
    assert starts == [JAN_2024 + 2 * HOUR_MS, JAN_2024 + HOUR_MS, JAN_2024]


def test_per_venue_latency_slows_only_that_venue():
    config = SimConfig(venue_latency_ms={"bybit": 300.0})

    async def scenario(client):
        started = time.monotonic()
        await client.get("/api/v4/futures/usdt/funding_rate", params={"contract": "BTC_USDT"})
        fast = time.monotonic() - started
        started = time.monotonic()
        await client.get("/v5/market/funding/history", params={"category": "linear"})
        return fast, time.monotonic() - started

    fast, slow = run(scenario, config)
    assert slow >= 0.3 and fast < 0.3
