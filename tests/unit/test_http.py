"""workers/http.py against the simulator in this process: server feedback reaches the limiter.

The simulator listens on a loopback port (aiohttp's test server); the limiter's Redis is
fakeredis. No other process runs.
"""

from __future__ import annotations

import asyncio

import fakeredis
import pytest
from aiohttp.test_utils import TestServer

from simulator.server import SimConfig, make_app
from storage.errors import RateLimited
from storage.shards import Shard
from workers.exchanges.binance import Binance
from workers.http import Http
from workers.ratelimit import Budget, Limiter

SHARD = Shard("binance", "spot", "klines", "BTCUSDT", "2024-01", "1m")
BUDGETS = {("binance", "spot"): Budget(100, 60), ("binance", "usdm"): Budget(100, 60)}


def run(scenario, config: SimConfig):
    async def main():
        server = TestServer(make_app(config))
        await server.start_server()
        base = str(server.make_url("")).rstrip("/")
        limiter = Limiter(fakeredis.FakeAsyncRedis(), BUDGETS)
        http = Http(limiter, timeout_s=5)
        try:
            adapter = Binance({"spot": base, "usdm": base})
            return await scenario(http, adapter, base)
        finally:
            await http.close()
            await server.close()

    return asyncio.run(asyncio.wait_for(main(), timeout=30))


def test_weight_spent_by_other_software_on_the_ip_is_taken_into_the_budget() -> None:
    async def scenario(http: Http, adapter: Binance, base: str):
        first = adapter.requests(SHARD, SHARD.end_ms)[0]
        # Another program on this IP spends 80 of the exchange's 100 behind our back.
        async with http.session.get(base + "/api/v3/exchangeInfo") as response:
            assert response.status == 200  # weight 20
        for _ in range(30):
            async with http.session.get(first.url, params=first.params) as response:
                assert response.status == 200
        await http.get(adapter, first)  # ours, weight 2: the answer says 82 are used
        with pytest.raises(RateLimited):
            await http.limiter.acquire("binance", "spot", 20, deadline_s=1.0)
        await http.limiter.acquire("binance", "spot", 18, deadline_s=1.0)  # 82 + 18 = 100

    run(scenario, SimConfig(spot_weight=(100, 60)))


def test_a_429_stops_every_group_on_the_host_for_its_retry_after() -> None:
    async def scenario(http: Http, adapter: Binance, base: str):
        first = adapter.requests(SHARD, SHARD.end_ms)[0]
        for _ in range(5):
            await http.get(adapter, first)  # weight 2 each: the exchange's 10 are spent
        with pytest.raises(RateLimited) as refused:
            await http.get(adapter, first)
        assert refused.value.status == 429 and refused.value.retry_after_s > 30
        host = base.split("//", 1)[1]
        with pytest.raises(RateLimited) as waiting:  # our own budget (100) has room left
            await http.limiter.acquire("binance", "usdm", 1, host=host, deadline_s=1.0)
        assert waiting.value.retry_after_s > 30

    run(scenario, SimConfig(spot_weight=(10, 60)))
