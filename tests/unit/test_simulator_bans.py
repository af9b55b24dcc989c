"""Binance's escalating bans: 429 with Retry-After, requests sent during it, then 418 bans."""

import asyncio
import json
import re

import pytest
from aiohttp.test_utils import TestClient, TestServer

from simulator.bans import MAX_BAN_S, BanPolicy, Bans
from simulator.server import SimConfig, make_app

KLINES = ("/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1h", "limit": "1"})
USDM_PING = ("/fapi/v1/ping", {})
MEXC_KLINES = ("/mexc/api/v3/klines", {"symbol": "BTCUSDT", "interval": "60m", "limit": "1"})


class Clock:
    """The simulator's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def run(scenario, config, clock):
    async def main():
        async with TestClient(TestServer(make_app(config, clock))) as client:
            return await scenario(client)

    return asyncio.run(main())


async def send(client, route):
    """(status, Retry-After or None, parsed body) of one GET."""
    path, params = route
    response = await client.get(path, params=params)
    return response.status, response.headers.get("Retry-After"), json.loads(await response.read())


def test_ban_seconds_double_per_ban_up_to_three_days():
    policy = BanPolicy(first_s=120.0)
    assert [policy.seconds(n) for n in range(4)] == [120.0, 240.0, 480.0, 960.0]
    assert policy.seconds(11) == 245_760.0
    assert policy.seconds(12) == MAX_BAN_S == 259_200.0
    assert policy.seconds(10_000) == MAX_BAN_S


def test_violations_beyond_the_allowance_start_a_ban_and_reset():
    bans, policy = Bans(), BanPolicy(first_s=10.0, after=2)
    bans.hold("binance", "ip", "spot", until_s=30.0, now_s=20.0)
    assert bans.told_s("binance", "ip", "spot") == 20.0
    assert bans.retry_left_s("binance", "ip", "spot", now_s=25.0) == 5.0
    assert bans.retry_left_s("binance", "ip", "usdm", now_s=25.0) == 0.0
    assert bans.violate("binance", "ip", policy, now_s=25.0, now_ms=0) is None
    assert bans.violate("binance", "ip", policy, now_s=25.0, now_ms=0) is None
    ban = bans.violate("binance", "ip", policy, now_s=26.0, now_ms=5_000)
    assert (ban.seconds, ban.until_s, ban.until_ms) == (10.0, 36.0, 15_000)
    assert bans.active("binance", "ip", now_s=35.9) == ban
    assert bans.active("binance", "other-ip", now_s=30.0) is None
    assert bans.active("binance", "ip", now_s=36.0) is None
    assert bans.retry_left_s("binance", "ip", "spot", now_s=26.0) == 0.0, "the ban replaced it"
    assert bans.violate("binance", "ip", policy, now_s=40.0, now_ms=0) is None, "count restarted"


def test_sending_during_retry_after_is_banned_with_418_that_escalates():
    config = SimConfig(
        spot_weight=(2, 60), binance_ban_s=5, binance_ban_after=3, binance_ban_grace_s=0
    )
    clock = Clock()

    async def scenario(client):
        first = [await send(client, KLINES) for _ in range(6)]
        clock.now_s += 1
        during = [await send(client, KLINES), await send(client, USDM_PING)]
        other_venue = await send(client, MEXC_KLINES)
        clock.now_s += 4.5  # the 5 s ban is over; the 60 s window still holds the first weight
        second = [await send(client, KLINES) for _ in range(5)]
        stats = await (await client.get("/_sim/stats")).json()
        return first, during, other_venue, second, stats

    first, during, other_venue, second, stats = run(scenario, config, clock)
    assert [(s, ra) for s, ra, _ in first] == [(200, None)] + [(429, "60")] * 4 + [(418, "5")]
    banned_body = first[-1][2]
    assert banned_body["code"] == -1003
    until = re.fullmatch(
        r"Way too many requests; IP\(127\.0\.0\.1\) banned until (\d{13})\. "
        r"Please use the websocket for live updates to avoid bans\.",
        banned_body["msg"],
    )
    assert until, banned_body["msg"]
    assert [(s, ra) for s, ra, _ in during] == [(418, "4"), (418, "4")], "one ban for the venue"
    assert other_venue[0] == 200
    assert [(s, ra) for s, ra, _ in second] == [(429, "55")] * 4 + [(418, "10")]
    assert [b["seconds"] for b in stats["bans"]] == [5, 10]
    assert stats["bans"][0] == {"venue": "binance", "ip": "127.0.0.1", "seconds": 5}
    assert (stats["status_429"], stats["status_418"]) == (8, 4)
    assert stats["rejected"] == {"binance": 12}
    assert stats["weight"]["spot"] == 2 and stats["peak_window_weight"]["spot"] == 2


def test_requests_already_on_their_way_when_the_429_went_out_are_not_held_against_the_ip():
    config = SimConfig(spot_weight=(2, 60), binance_ban_after=3, binance_ban_grace_s=1.0)
    clock = Clock()

    async def scenario(client):
        burst = [await send(client, KLINES) for _ in range(10)]  # one in budget, 9 in flight
        clock.now_s += 1.0
        kept_on = [await send(client, KLINES) for _ in range(4)]
        return burst, kept_on

    burst, kept_on = run(scenario, config, clock)
    assert [s for s, _, _ in burst] == [200] + [429] * 9, "refused, but no ban for them"
    assert [s for s, _, _ in kept_on] == [429] * 3 + [418], "sending on after the grace is"


def test_a_client_that_honours_retry_after_is_never_banned():
    config = SimConfig(spot_weight=(2, 10), binance_ban_after=0)
    clock = Clock()

    async def scenario(client):
        statuses = []
        for _ in range(5):
            status, retry_after, _ = await send(client, KLINES)
            statuses.append(status)
            if retry_after is not None:
                clock.now_s += int(retry_after)
        return statuses, await (await client.get("/_sim/stats")).json()

    statuses, stats = run(scenario, config, clock)
    assert statuses == [200, 429, 200, 429, 200]
    assert stats["bans"] == [] and stats["status_418"] == 0


def test_retry_after_binds_its_own_budget_only():
    config = SimConfig(spot_weight=(2, 60), binance_ban_after=0)

    async def scenario(client):
        return [await send(client, route) for route in (KLINES, KLINES, USDM_PING, USDM_PING)]

    answers = run(scenario, config, Clock())
    assert [status for status, _, _ in answers] == [200, 429, 200, 200]


def test_bybit_keeps_its_403_ban_and_counts_it():
    config = SimConfig(bybit_ban_s=30)
    clock = Clock()
    route = ("/v5/market/funding/history", {"category": "linear", "symbol": "X"})

    async def scenario(client):
        answers = [await send(client, route) for _ in range(602)]
        clock.now_s += 30
        answers.append(await send(client, route))
        return answers, await (await client.get("/_sim/stats")).json()

    answers, stats = run(scenario, config, clock)
    assert [(s, ra) for s, ra, _ in answers[600:]] == [(403, "30"), (403, "30"), (200, None)]
    assert stats["status_403"] == 2
    assert stats["bans"] == [{"venue": "bybit", "ip": "127.0.0.1", "seconds": 30}]


@pytest.mark.parametrize("ban_after", [0, 10])
def test_the_request_one_past_the_allowance_is_the_first_418(ban_after):
    config = SimConfig(spot_weight=(2, 60), binance_ban_after=ban_after, binance_ban_grace_s=0)

    async def scenario(client):
        return [await send(client, KLINES) for _ in range(ban_after + 4)]

    statuses = [status for status, _, _ in run(scenario, config, Clock())]
    assert statuses == [200] + [429] * (ban_after + 1) + [418, 418]
