"""The cluster-wide limiter (workers/ratelimit.py + lua/*.lua) and the settings it reads."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import SimpleNamespace

import fakeredis
import pytest

from storage.errors import ConfigError, RateLimited
from workers import ratelimit
from workers.ratelimit import Limiter
from workers.settings import Budget, Settings

SPOT = ("binance", "spot")
USDM = ("binance", "usdm")


def run(main: Callable[[fakeredis.FakeServer], Awaitable[None]]) -> None:
    asyncio.run(main(fakeredis.FakeServer()))


def limiter(server: fakeredis.FakeServer, budgets: dict, **kw) -> Limiter:
    return Limiter(fakeredis.FakeAsyncRedis(server=server), budgets, **kw)


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the limiter ever decides to sleep."""

    async def refuse(seconds: float) -> None:
        raise AssertionError(f"the limiter slept {seconds}s")

    monkeypatch.setattr(ratelimit, "asyncio", SimpleNamespace(sleep=refuse))


def test_spending_up_to_the_budget_is_immediate(no_waiting: None) -> None:
    async def main(server: fakeredis.FakeServer) -> None:
        lim = limiter(server, {SPOT: Budget(10, 60)})
        for weight in (4, 4, 2):
            assert await lim.acquire(*SPOT, weight) < 1.0

    run(main)


def test_the_request_past_the_budget_is_refused_with_a_positive_wait() -> None:
    async def main(server: fakeredis.FakeServer) -> None:
        lim = limiter(server, {SPOT: Budget(10, 60)})
        await lim.acquire(*SPOT, 10)
        with pytest.raises(RateLimited) as caught:
            await lim.acquire(*SPOT, 1, deadline_s=1.0)
        # The weight leaves the rolling window about 60 s after it was spent.
        assert 59.0 < caught.value.retry_after_s <= 61.0

    run(main)


def test_the_script_itself_refuses_and_says_how_long_to_wait() -> None:
    async def main(server: fakeredis.FakeServer) -> None:
        lim = limiter(server, {SPOT: Budget(10, 60)})
        keys = lim._keys(*SPOT)
        args = [6, 10, 60_000, 600]  # weight, budget, window ms, bucket ms
        assert await lim._acquire(keys=keys, args=args) == 0
        wait_ms = await lim._acquire(keys=keys, args=args)
        assert 0 < wait_ms <= 60_000 + 600
        assert await lim._acquire(keys=keys, args=[4, 10, 60_000, 600]) == 0  # what is left

    run(main)


def test_a_refused_request_spends_nothing(no_waiting: None) -> None:
    async def main(server: fakeredis.FakeServer) -> None:
        lim = limiter(server, {SPOT: Budget(10, 60)})
        await lim.acquire(*SPOT, 7)
        with pytest.raises(RateLimited):
            await lim.acquire(*SPOT, 5, deadline_s=0)
        await lim.acquire(*SPOT, 3)  # the refused 5 was not counted

    run(main)


def test_a_waiter_gets_the_weight_once_the_window_rolls_on() -> None:
    async def main(server: fakeredis.FakeServer) -> None:
        lim = limiter(server, {SPOT: Budget(2, 0.2)})  # a 200 ms window keeps the test short
        await lim.acquire(*SPOT, 2)
        waited = await lim.acquire(*SPOT, 1, deadline_s=5.0)
        assert 0.05 < waited < 2.0

    run(main)


@pytest.mark.parametrize("weight", [11, 1000])
def test_a_weight_larger_than_the_whole_budget_is_a_config_error(weight: int) -> None:
    async def main(server: fakeredis.FakeServer) -> None:
        lim = limiter(server, {SPOT: Budget(10, 60)})
        with pytest.raises(ConfigError, match="raise the budget"):
            await lim.acquire(*SPOT, weight)

    run(main)


def test_a_cooldown_stops_requests_with_budget_left() -> None:
    async def main(server: fakeredis.FakeServer) -> None:
        lim = limiter(server, {SPOT: Budget(6000, 60)})
        await lim.cool_down(*SPOT, 30)
        with pytest.raises(RateLimited) as caught:
            await lim.acquire(*SPOT, 1, deadline_s=5.0)
        assert 25.0 < caught.value.retry_after_s <= 30.0

    run(main)


def test_a_shorter_cooldown_never_shortens_a_longer_one() -> None:
    async def main(server: fakeredis.FakeServer) -> None:
        lim = limiter(server, {SPOT: Budget(6000, 60)})
        await lim.cool_down(*SPOT, 120)
        await lim.cool_down(*SPOT, 5)
        with pytest.raises(RateLimited) as caught:
            await lim.acquire(*SPOT, 1, deadline_s=60.0)
        assert caught.value.retry_after_s > 100.0

    run(main)


def test_a_longer_cooldown_extends_a_shorter_one() -> None:
    async def main(server: fakeredis.FakeServer) -> None:
        lim = limiter(server, {SPOT: Budget(6000, 60)})
        await lim.cool_down(*SPOT, 5)
        await lim.cool_down(*SPOT, 120)
        with pytest.raises(RateLimited) as caught:
            await lim.acquire(*SPOT, 1, deadline_s=60.0)
        assert caught.value.retry_after_s > 100.0

    run(main)


def test_a_short_cooldown_is_waited_out() -> None:
    async def main(server: fakeredis.FakeServer) -> None:
        lim = limiter(server, {SPOT: Budget(6000, 1)})  # 10 ms buckets: little jitter
        await lim.cool_down(*SPOT, 0.1)
        waited = await lim.acquire(*SPOT, 1, deadline_s=5.0)
        assert 0.05 < waited < 2.0

    run(main)


def test_two_limiters_on_one_server_share_one_budget() -> None:
    async def main(server: fakeredis.FakeServer) -> None:
        one = limiter(server, {SPOT: Budget(10, 60)})
        two = limiter(server, {SPOT: Budget(10, 60)})
        await one.acquire(*SPOT, 6)
        await two.acquire(*SPOT, 4)
        for lim in (one, two):
            with pytest.raises(RateLimited):
                await lim.acquire(*SPOT, 1, deadline_s=1.0)

    run(main)


def test_a_cooldown_set_by_one_worker_stops_the_others() -> None:
    async def main(server: fakeredis.FakeServer) -> None:
        one = limiter(server, {SPOT: Budget(6000, 60)})
        two = limiter(server, {SPOT: Budget(6000, 60)})
        await one.cool_down(*SPOT, 30)
        with pytest.raises(RateLimited):
            await two.acquire(*SPOT, 1, deadline_s=1.0)

    run(main)


def test_budgets_of_different_groups_and_exchanges_are_independent(no_waiting: None) -> None:
    async def main(server: fakeredis.FakeServer) -> None:
        budgets = {SPOT: Budget(10, 60), USDM: Budget(10, 60), ("mexc", "spot"): Budget(10, 60)}
        lim = limiter(server, budgets)
        await lim.acquire(*SPOT, 10)
        await lim.cool_down(*SPOT, 60)
        await lim.acquire(*USDM, 10)
        await lim.acquire("mexc", "spot", 10)

    run(main)


def test_hosts_with_their_own_egress_ip_get_their_own_budget(no_waiting: None) -> None:
    async def main(server: fakeredis.FakeServer) -> None:
        host_a = limiter(server, {SPOT: Budget(10, 60)}, host_key="10.0.0.1")
        host_b = limiter(server, {SPOT: Budget(10, 60)}, host_key="10.0.0.2")
        await host_a.acquire(*SPOT, 10)
        await host_b.acquire(*SPOT, 10)

    run(main)


# -- Budget and Settings ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "weight", "seconds"),
    [("6000/60", 6000, 60.0), ("475/300", 475, 300.0), ("10/0.5", 10, 0.5), (" 5 / 1 ", 5, 1.0)],
)
def test_budget_parses_weight_per_seconds(text: str, weight: int, seconds: float) -> None:
    assert Budget.parse(text) == Budget(weight, seconds)


@pytest.mark.parametrize(
    "text",
    [
        "6000",
        "6000/60/1",
        "",
        "/60",
        "6000/",
        "abc/60",
        "6000/a minute",
        "60.5/60",
        "0/60",
        "-5/60",
        "6000/0",
        "6000/-60",
        "6000/inf",
        "6000/nan",
    ],
)
def test_budget_refuses_bad_text_and_shows_the_right_form(text: str) -> None:
    with pytest.raises(ConfigError, match="6000/60") as caught:
        Budget.parse(text, "BINANCE_SPOT_RATE_LIMIT")
    assert "BINANCE_SPOT_RATE_LIMIT" in str(caught.value)


def test_settings_default_to_the_real_exchange() -> None:
    settings = Settings.from_env({})
    assert settings.urls[SPOT] == "https://api.binance.com"
    assert settings.urls[USDM] == "https://fapi.binance.com"
    assert settings.budgets[SPOT] == Budget(5700, 60)
    assert settings.budgets[("binance", "usdm_funding")] == Budget(475, 300)
    assert settings.redis_url == "redis://localhost:6379/0"


def test_settings_read_url_and_rate_limit_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "BINANCE_SPOT_URL": "http://127.0.0.1:8900/",
            "BINANCE_SPOT_RATE_LIMIT": "600/10",
            "BINANCE_USDM_FUNDING_RATE_LIMIT": "50/30",
            "REDIS_URL": "redis://127.0.0.1:6390/2",
        }
    )
    assert settings.urls[SPOT] == "http://127.0.0.1:8900"  # trailing slash dropped
    assert settings.budgets[SPOT] == Budget(600, 10)
    assert settings.budgets[("binance", "usdm_funding")] == Budget(50, 30)
    assert settings.urls[USDM] == "https://fapi.binance.com"  # untouched
    assert settings.redis_url == "redis://127.0.0.1:6390/2"
    adapter = settings.adapter("binance")
    assert adapter.urls["spot"] == "http://127.0.0.1:8900"


def test_a_bad_rate_limit_in_the_environment_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="BINANCE_SPOT_RATE_LIMIT='6000 per minute'"):
        Settings.from_env({"BINANCE_SPOT_RATE_LIMIT": "6000 per minute"})
