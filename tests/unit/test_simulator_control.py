"""The /_sim control routes: the request log, the counters in stats, and reset."""

import asyncio
import threading
import time
import urllib.error
import urllib.request

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bench.cluster import Simulator
from simulator.server import SimConfig, make_app
from simulator.traffic import Traffic

KLINES = {"symbol": "BTCUSDT", "interval": "1h", "limit": "2"}
MISSING_ZIP = "/data/spot/monthly/klines/NOPEUSDT/1m/NOPEUSDT-1m-2024-01.zip"


def run(scenario, config=None):
    async def main():
        async with TestClient(TestServer(make_app(config or SimConfig()))) as client:
            return await scenario(client)

    return asyncio.run(main())


async def stats(client):
    return await (await client.get("/_sim/stats")).json()


def test_the_log_lists_every_data_request_in_arrival_order():
    async def scenario(client):
        start_ms = time.time() * 1000
        await client.get("/api/v3/ping")
        await client.get("/api/v3/klines", params={**KLINES, "symbol": "NOPE"})
        await client.post("/_sim/faults", json={"down": {"/api/v3/time": 503}})
        await client.get("/api/v3/time")
        await client.post("/_sim/faults", json={"force_429": {"venue": "binance"}})
        await client.get("/api/v3/klines", params=KLINES)
        await client.get("/api/v1/contract/kline/BTC_USDT", params={"interval": "Min60"})
        await client.get(MISSING_ZIP)
        await stats(client)  # control routes are not logged
        end_ms = time.time() * 1000
        log = await (await client.get("/_sim/log")).json()
        after = await (await client.get("/_sim/log", params={"since_ms": end_ms + 1})).json()
        since = await (await client.get("/_sim/log", params={"since_ms": log[2]["t_ms"]})).json()
        bad = await client.get("/_sim/log", params={"since_ms": "yesterday"})
        return start_ms, end_ms, log, after, since, bad.status

    start_ms, end_ms, log, after, since, bad = run(scenario)
    assert [(e["venue"], e["path"], e["status"], e["weight"], e["fault"]) for e in log] == [
        ("binance", "/api/v3/ping", 200, 1, None),
        ("binance", "/api/v3/klines", 400, 2, None),
        ("binance", "/api/v3/time", 503, 0, "down"),
        ("binance", "/api/v3/klines", 429, 0, "forced_429"),
        ("mexc", "/api/v1/contract/kline/BTC_USDT", 200, 1, None),
        ("binance_archive", MISSING_ZIP, 404, 0, None),
    ]
    times = [e["t_ms"] for e in log]
    assert all(isinstance(t, int) for t in times) and times == sorted(times)
    assert start_ms - 1 <= times[0] and times[-1] <= end_ms + 1
    assert after == [] and bad == 400
    assert since == [e for e in log if e["t_ms"] >= log[2]["t_ms"]] and since[-4:] == log[2:]


def test_stats_count_statuses_faults_and_bans():
    config = SimConfig(spot_weight=(2, 60), binance_ban_after=1, binance_ban_grace_s=0)

    async def scenario(client):
        for _ in range(4):
            await client.get("/api/v3/klines", params=KLINES)
        return await stats(client)

    counted = run(scenario, config)
    assert (counted["status_429"], counted["status_418"], counted["status_403"]) == (2, 1, 0)
    assert counted["statuses"] == {"200": 1, "418": 1, "429": 2}
    assert counted["rejected_429"] == 3 and counted["rejected"] == {"binance": 3}
    assert counted["faults"] == {
        "5xx": 0,
        "truncate": 0,
        "reset": 0,
        "poison": 0,
        "down": 0,
        "forced_429": 0,
    }
    assert counted["bans"] == [{"venue": "binance", "ip": "127.0.0.1", "seconds": 120.0}]
    assert counted["config"]["binance_ban_s"] == 120.0
    assert counted["config"]["binance_ban_after"] == 1


def test_reset_clears_counters_log_and_bans_but_keeps_the_settings():
    config = SimConfig(
        spot_weight=(2, 60), binance_ban_after=0, binance_ban_grace_s=0, fault_truncate=0.5
    )

    async def scenario(client):
        await client.post("/_sim/faults", json={"5xx": 0.25, "down": {"/api/v3/time": 500}})
        for _ in range(20):
            await client.get("/api/v3/klines", params=KLINES)
        await client.get("/api/v3/time")
        before = await stats(client)
        await client.post("/_sim/reset")
        after = await stats(client)
        log = await (await client.get("/_sim/log")).json()
        state = await (await client.get("/_sim/faults")).json()
        await client.post("/_sim/faults", json={"5xx": 0, "truncate": 0})
        again = await client.get("/api/v3/klines", params=KLINES)
        return before, after, log, state, again.status

    before, after, log, state, again = run(scenario, config)
    assert before["bans"] and before["faults"]["5xx"] and before["faults"]["down"] == 1
    assert after["requests_total"] == 0 and log == []
    assert (after["status_429"], after["status_418"], after["rejected_429"]) == (0, 0, 0)
    assert after["faults"] == dict.fromkeys(before["faults"], 0)
    assert after["bans"] == [] and after["weight"]["spot"] == 0
    assert (state["5xx"], state["truncate"], state["down"]) == (0.25, 0.5, {"/api/v3/time": 500})
    assert again == 200, "the ban is forgotten"


def test_the_log_keeps_only_the_newest_entries():
    traffic = Traffic(log_max=3)
    for t_ms in range(5):
        traffic.answer(traffic.arrive("binance", "/p", "/p", t_ms), 200)
    assert [e["t_ms"] for e in traffic.since()] == [2, 3, 4]
    assert traffic.requests["/p"] == 5


@pytest.fixture
def served_url():
    """A simulator app served on a loopback port by a thread, for blocking clients."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(make_app(SimConfig()))
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def test_bench_simulator_sets_faults_and_reads_the_log(served_url):
    sim = object.__new__(Simulator)  # its HTTP methods only need the url, not a process
    sim.url = served_url
    state = sim.faults(down={"/api/v3/ping": 500}, **{"5xx": 0.0})
    assert state["down"] == {"/api/v3/ping": 500}
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(served_url + "/api/v3/ping", timeout=10)
    assert refused.value.code == 500
    refused.value.close()
    (entry,) = sim.arrivals()
    assert (entry["path"], entry["status"], entry["fault"]) == ("/api/v3/ping", 500, "down")
    assert sim.arrivals(since_ms=entry["t_ms"] + 1) == []
    assert sim.stats()["faults"]["down"] == 1
