"""Injected faults: 5xx, truncated bodies, dropped connections, down routes and forced 429s."""

import asyncio
import io
import json
import time
import zipfile
from collections import Counter

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from simulator.faults import ERROR_BODY, Faults, FaultSettingError
from simulator.server import SimConfig, make_app

PING = "/api/v3/ping"
KLINES = {"symbol": "BTCUSDT", "interval": "1h", "limit": "3"}
FUNDING_ZIP = "/data/futures/um/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2024-01.zip"
WEIGHT = "X-MBX-USED-WEIGHT-1M"
VENUES = ("binance", "mexc", "gateio", "bybit")


class Clock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def run(scenario, config=None, clock=None):
    async def main():
        app = make_app(config or SimConfig(), clock or Clock())
        async with TestClient(TestServer(app)) as client:
            return await scenario(client)

    return asyncio.run(main())


async def set_faults(client, **state):
    response = await client.post("/_sim/faults", json=state)
    return response.status, await response.json()


async def stats(client):
    return await (await client.get("/_sim/stats")).json()


def test_each_kind_strikes_at_its_own_rate():
    faults = Faults(seed=3, rates={"5xx": 0.05, "truncate": 0.1, "reset": 0.2})
    kinds = Counter(getattr(faults.decide("/x"), "kind", None) for _ in range(20_000))
    assert abs(kinds["5xx"] - 1_000) < 120
    assert abs(kinds["truncate"] - 2_000) < 160
    assert abs(kinds["reset"] - 4_000) < 220
    assert dict(faults.counts) == {k: kinds[k] for k in ("5xx", "truncate", "reset")}


def test_a_seed_replays_the_same_faults_and_reset_replays_it_again():
    def kinds(faults):
        return [getattr(faults.decide("/x"), "kind", None) for _ in range(200)]

    faults = Faults(seed=9, rates={"5xx": 0.3})
    first = kinds(faults)
    faults.reset()
    assert kinds(faults) == first == kinds(Faults(seed=9, rates={"5xx": 0.3}))
    assert first != kinds(Faults(seed=10, rates={"5xx": 0.3}))


@pytest.mark.parametrize(
    "changes",
    [
        {"5xx": 1.5},
        {"reset": -0.1},
        {"truncate": "0.1"},
        {"5xx": 0.6, "reset": 0.6},
        {"latency_ms": -1},
        {"down": {"/api/v3/klines": 99}},
        {"down": ["/api/v3/klines"]},
        {"force_429": {"venue": "kraken"}},
        {"force_429": {"venue": "binance", "count": -1}},
        {"force_429": {"venue": "binance", "retry_after_s": 0}},
        {"fault_5xx": 0.1},
    ],
)
def test_bad_settings_are_refused_whole(changes):
    faults = Faults(rates={"truncate": 0.2})
    with pytest.raises(FaultSettingError):
        faults.update({"5xx": 0.1, **changes}, VENUES)
    assert faults.rates == {"5xx": 0.0, "truncate": 0.2, "reset": 0.0, "poison": 0.0}


def test_fault_rates_over_2000_requests_are_seen_by_the_client_and_counted():
    config = SimConfig(fault_seed=5, fault_5xx=0.05, fault_truncate=0.1, fault_reset=0.05)

    async def scenario(client):
        seen = Counter()
        for _ in range(2_000):
            try:
                response = await client.get("/api/v3/klines", params=KLINES)
                body = await response.read()
            except aiohttp.ClientConnectionError:
                seen["reset"] += 1
                continue
            if response.status == 503:
                seen["5xx"] += 1
                assert body == ERROR_BODY
                continue
            assert response.status == 200
            try:
                json.loads(body)
                seen["ok"] += 1
            except ValueError:
                seen["truncate"] += 1
        return seen, await stats(client)

    seen, counted = run(scenario, config)
    assert abs(seen["5xx"] - 100) < 40 and abs(seen["reset"] - 100) < 40
    assert abs(seen["truncate"] - 200) < 55
    assert counted["faults"] == {
        "5xx": seen["5xx"],
        "truncate": seen["truncate"],
        "reset": seen["reset"],
        "poison": 0,
        "down": 0,
        "forced_429": 0,
    }
    assert counted["weight"]["spot"] == 2 * seen["ok"], "a faulted request spends no weight"
    assert counted["statuses"]["0"] == seen["reset"] and counted["statuses"]["503"] == seen["5xx"]
    assert counted["requests"]["/api/v3/klines"] == 2_000


def test_a_truncated_body_is_cut_inside_with_a_matching_content_length():
    async def scenario(client):
        whole = await (await client.get("/api/v3/klines", params=KLINES)).read()
        zipped = await (await client.get(FUNDING_ZIP)).read()
        await set_faults(client, truncate=1.0)
        cut = await client.get("/api/v3/klines", params=KLINES)
        cut_zip = await client.get(FUNDING_ZIP)
        return whole, zipped, cut, await cut.read(), cut_zip, await cut_zip.read()

    whole, zipped, cut, cut_body, cut_zip, cut_zip_body = run(scenario)
    assert cut.status == 200 and 1 <= len(cut_body) < len(whole)
    assert int(cut.headers["Content-Length"]) == len(cut_body)
    assert whole.startswith(cut_body)
    with pytest.raises(ValueError):
        json.loads(cut_body)
    assert cut_zip.status == 200 and 1 <= len(cut_zip_body) < len(zipped)
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(cut_zip_body)).testzip()


def test_a_reset_closes_the_connection_without_an_answer():
    async def scenario(client):
        await set_faults(client, reset=1.0)
        with pytest.raises(aiohttp.ClientConnectionError):
            await client.get(PING)
        with pytest.raises(aiohttp.ClientConnectionError):
            await client.get(FUNDING_ZIP)
        await set_faults(client, reset=0.0)
        after = await client.get(PING)
        return after.status, await stats(client)

    status, counted = run(scenario)
    assert status == 200, "the next connection is served"
    assert counted["faults"]["reset"] == 2 and counted["weight"]["spot"] == 1


def test_a_down_route_answers_its_status_until_cleared():
    async def scenario(client):
        _, state = await set_faults(client, down={"/fapi/v1/fundingRate": 500, FUNDING_ZIP: 503})
        funding = [await client.get("/fapi/v1/fundingRate") for _ in range(3)]
        bodies = [await r.read() for r in funding]
        archive = await client.get(FUNDING_ZIP)
        other = await client.get("/fapi/v1/ping")
        _, cleared = await set_faults(client, down={})
        after = await client.get("/fapi/v1/fundingRate", params={"symbol": "BTCUSDT"})
        return (
            state,
            funding,
            bodies,
            archive.status,
            other.status,
            cleared,
            after,
            await stats(client),
        )

    state, funding, bodies, archive, other, cleared, after, counted = run(scenario)
    assert state["down"] == {"/fapi/v1/fundingRate": 500, FUNDING_ZIP: 503}
    assert [r.status for r in funding] == [500] * 3 and bodies == [ERROR_BODY] * 3
    assert all(WEIGHT not in r.headers for r in funding)
    assert (archive, other) == (503, 200)
    assert cleared["down"] == {} and after.status == 200
    assert counted["faults"]["down"] == 4
    assert counted["weight"]["usdm_funding"] == 1


def test_force_429_refuses_count_requests_then_answers_normally():
    clock = Clock()

    async def scenario(client):
        force = {"venue": "binance", "count": 2, "retry_after_s": 3}
        _, state = await set_faults(client, force_429=force)
        answers = []
        for _ in range(4):
            response = await client.get("/api/v3/klines", params=KLINES)
            answers.append((response.status, response.headers.get("Retry-After")))
            body = await response.json()
            clock.now_s += 3  # honours the Retry-After
        mexc = await client.get("/mexc/api/v3/klines", params={**KLINES, "interval": "60m"})
        return state, answers, body, mexc.status, await stats(client)

    state, answers, last_body, mexc, counted = run(scenario, clock=clock)
    assert state["force_429"] == {"venue": "binance", "count": 2, "retry_after_s": 3.0}
    assert answers == [(429, "3"), (429, "3"), (200, None), (200, None)]
    assert isinstance(last_body, list) and mexc == 200
    assert counted["faults"]["forced_429"] == 2 and counted["status_429"] == 2
    assert counted["weight"]["spot"] == 4


def test_a_forced_429_starts_a_retry_after_that_binds_like_a_real_one():
    config = SimConfig(binance_ban_after=2)
    clock = Clock()

    async def scenario(client):
        await set_faults(client, force_429={"venue": "binance", "retry_after_s": 3})
        forced = await client.get("/api/v3/klines", params=KLINES)
        forced_body = await forced.json()
        clock.now_s += 1
        during = [await client.get("/api/v3/klines", params=KLINES) for _ in range(3)]
        log = await (await client.get("/_sim/log")).json()
        return forced, forced_body, during, log, await stats(client)

    forced, body, during, log, counted = run(scenario, config, clock)
    assert forced.status == 429 and forced.headers["Retry-After"] == "3"
    assert body["code"] == -1003 and body["msg"].startswith("Too many requests;")
    assert [(r.status, r.headers["Retry-After"]) for r in during] == [
        (429, "2"),
        (429, "2"),
        (418, "120"),
    ]
    assert [e["fault"] for e in log] == ["forced_429", None, None, None]
    assert counted["faults"]["forced_429"] == 1 and counted["status_429"] == 3


def test_latency_is_set_at_run_time_and_logged_arrival_comes_before_it():
    async def scenario(client):
        _, state = await set_faults(client, latency_ms=200)
        sent_ms = time.time() * 1000
        await client.get(PING)
        answered_ms = time.time() * 1000
        (entry,) = await (await client.get("/_sim/log")).json()
        return state, sent_ms, answered_ms, entry, await (await client.get("/_sim/faults")).json()

    state, sent_ms, answered_ms, entry, read_back = run(scenario)
    assert state["latency_ms"] == 200 and read_back == state
    assert answered_ms - sent_ms >= 200
    assert sent_ms - 1 <= entry["t_ms"] < answered_ms - 150, "stamped on arrival, before the delay"
    assert entry["status"] == 200


def test_bad_fault_settings_get_400_and_change_nothing():
    async def scenario(client):
        bad = await client.post("/_sim/faults", json={"5xx": 2})
        not_json = await client.post("/_sim/faults", data=b"nope")
        return bad.status, (await bad.json())["error"], not_json.status, await set_faults(client)

    bad, message, not_json, (status, state) = run(scenario)
    assert (bad, not_json, status) == (400, 400, 200)
    assert "5xx" in message
    assert state["5xx"] == 0.0


def test_a_poisoned_page_is_a_200_whose_first_row_has_a_field_of_the_wrong_type():
    from simulator.faults import POISON, poisoned

    klines = json.loads(poisoned(b'[[1704067200000,"42283.58","42300.0"],[1704067260000,"1"]]'))
    assert klines == [[1704067200000, POISON, "42300.0"], [1704067260000, "1"]]
    bybit = b'{"retCode":0,"result":{"category":"linear","list":[{"symbol":"X","rate":"0.1"}]}}'
    assert json.loads(poisoned(bybit))["result"]["list"][0]["rate"] == POISON
    assert poisoned(b"[]") == b"[]" and poisoned(b"PK\x03\x04") == b"PK\x03\x04"
    faults = Faults(seed=1, rates={"poison": 1.0})
    fault = faults.decide("/api/v3/klines")
    assert (fault.kind, fault.status) == ("poison", 200) and faults.counts["poison"] == 1
