"""The cluster-wide limiter (workers/ratelimit.py + lua/*.lua): budgets, cooldowns, feedback."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import SimpleNamespace

import pytest

from storage.errors import ConfigError, RateLimited
from workers import ratelimit
from workers.ratelimit import Budget, Limiter, cooldown_key, cooldowns, usage, window_key

SPOT = ("binance", "spot")
USDM = ("binance", "usdm")
API = "api.binance.com"
FAPI = "fapi.binance.com"


@pytest.fixture
def limiter(make_async_redis: Callable) -> Callable[..., Limiter]:
    """A new limiter, on a new client of the test's one Redis: separate workers, one budget.

    Call it inside the test's event loop (asyncio clients belong to the loop they first use).
    """

    def make(budgets: dict, **kw) -> Limiter:
        return Limiter(make_async_redis(), budgets, **kw)

    return make


def run(main: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(main(), timeout=30))


@pytest.fixture
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the limiter ever decides to sleep."""

    async def refuse(seconds: float) -> None:
        raise AssertionError(f"the limiter slept {seconds}s")

    monkeypatch.setattr(ratelimit, "asyncio", SimpleNamespace(sleep=refuse))


def test_spending_up_to_the_budget_is_immediate(limiter, no_waiting: None) -> None:
    async def main() -> None:
        lim = limiter({SPOT: Budget(10, 60)})
        for weight in (4, 4, 2):
            assert await lim.acquire(*SPOT, weight) < 1.0

    run(main)


def test_the_request_past_the_budget_is_refused_with_a_positive_wait(limiter) -> None:
    async def main() -> None:
        lim = limiter({SPOT: Budget(10, 60)})
        await lim.acquire(*SPOT, 10)
        with pytest.raises(RateLimited) as caught:
            await lim.acquire(*SPOT, 1, deadline_s=1.0)
        # The weight leaves the rolling window about 60 s after it was spent.
        assert 59.0 < caught.value.retry_after_s <= 61.0

    run(main)


def test_the_script_itself_refuses_and_says_how_long_to_wait(limiter) -> None:
    async def main() -> None:
        lim = limiter({SPOT: Budget(10, 60)})
        keys = [window_key(*SPOT), cooldown_key("binance", API)]
        args = [6, 10, 60_000, 600]  # weight, budget, window ms, bucket ms
        assert await lim._acquire(keys=keys, args=args) == 0
        wait_ms = await lim._acquire(keys=keys, args=args)
        assert 0 < wait_ms <= 60_000 + 600
        assert await lim._acquire(keys=keys, args=[4, 10, 60_000, 600]) == 0  # what is left

    run(main)


def test_a_refused_request_spends_nothing(limiter, no_waiting: None) -> None:
    async def main() -> None:
        lim = limiter({SPOT: Budget(10, 60)})
        await lim.acquire(*SPOT, 7)
        with pytest.raises(RateLimited):
            await lim.acquire(*SPOT, 5, deadline_s=0)
        await lim.acquire(*SPOT, 3)  # the refused 5 was not counted

    run(main)


def test_a_waiter_gets_the_weight_once_the_window_rolls_on(limiter) -> None:
    async def main() -> None:
        lim = limiter({SPOT: Budget(2, 0.2)})  # a 200 ms window keeps the test short
        await lim.acquire(*SPOT, 2)
        waited = await lim.acquire(*SPOT, 1, deadline_s=5.0)
        assert 0.15 < waited < 2.0

    run(main)


def test_the_margin_holds_each_spend_that_much_longer_than_the_window(limiter) -> None:
    async def main() -> None:
        lim = limiter({SPOT: Budget(2, 0.2)}, margin_ms=300)
        await lim.acquire(*SPOT, 2)
        waited = await lim.acquire(*SPOT, 1, deadline_s=5.0)
        assert 0.45 < waited < 2.0  # window 0.2 s + margin 0.3 s

    run(main)


@pytest.mark.parametrize("weight", [11, 1000])
def test_a_weight_larger_than_the_whole_budget_is_a_config_error(limiter, weight: int) -> None:
    async def main() -> None:
        lim = limiter({SPOT: Budget(10, 60)})
        with pytest.raises(ConfigError, match="raise the budget"):
            await lim.acquire(*SPOT, weight)

    run(main)


def test_a_cooldown_stops_requests_with_budget_left(limiter) -> None:
    async def main() -> None:
        lim = limiter({SPOT: Budget(6000, 60)})
        await lim.cool_down("binance", API, 30)
        with pytest.raises(RateLimited) as caught:
            await lim.acquire(*SPOT, 1, host=API, deadline_s=5.0)
        assert 25.0 < caught.value.retry_after_s <= 30.0

    run(main)


def test_a_shorter_cooldown_never_shortens_a_longer_one(limiter) -> None:
    async def main() -> None:
        lim = limiter({SPOT: Budget(6000, 60)})
        await lim.cool_down("binance", API, 120)
        await lim.cool_down("binance", API, 5)
        with pytest.raises(RateLimited) as caught:
            await lim.acquire(*SPOT, 1, host=API, deadline_s=60.0)
        assert caught.value.retry_after_s > 100.0

    run(main)


def test_a_longer_cooldown_extends_a_shorter_one(limiter) -> None:
    async def main() -> None:
        lim = limiter({SPOT: Budget(6000, 60)})
        await lim.cool_down("binance", API, 5)
        await lim.cool_down("binance", API, 120)
        with pytest.raises(RateLimited) as caught:
            await lim.acquire(*SPOT, 1, host=API, deadline_s=60.0)
        assert caught.value.retry_after_s > 100.0

    run(main)


def test_a_short_cooldown_is_waited_out(limiter) -> None:
    async def main() -> None:
        lim = limiter({SPOT: Budget(6000, 1)})  # 10 ms buckets: little jitter
        await lim.cool_down("binance", API, 0.3)
        waited = await lim.acquire(*SPOT, 1, host=API, deadline_s=5.0)
        assert 0.25 < waited < 2.0

    run(main)


def test_two_limiters_on_one_server_share_one_budget(limiter) -> None:
    async def main() -> None:
        one = limiter({SPOT: Budget(10, 60)})
        two = limiter({SPOT: Budget(10, 60)})
        await one.acquire(*SPOT, 6)
        await two.acquire(*SPOT, 4)
        for lim in (one, two):
            with pytest.raises(RateLimited):
                await lim.acquire(*SPOT, 1, deadline_s=1.0)

    run(main)


def test_a_cooldown_set_by_one_worker_stops_the_others(limiter) -> None:
    async def main() -> None:
        one = limiter({SPOT: Budget(6000, 60)})
        two = limiter({SPOT: Budget(6000, 60)})
        await one.cool_down("binance", API, 30)
        with pytest.raises(RateLimited):
            await two.acquire(*SPOT, 1, host=API, deadline_s=1.0)

    run(main)


def test_a_cooldown_stops_every_group_on_its_host_and_no_other_host(
    limiter, no_waiting: None
) -> None:
    async def main() -> None:
        budgets = {USDM: Budget(10, 60), ("binance", "usdm_funding"): Budget(10, 60)}
        budgets |= {SPOT: Budget(10, 60), ("mexc", "spot"): Budget(10, 60)}
        lim = limiter(budgets)
        await lim.cool_down("binance", FAPI, 60)
        for group in ("usdm", "usdm_funding"):
            with pytest.raises(RateLimited):
                await lim.acquire("binance", group, 1, host=FAPI, deadline_s=1.0)
        await lim.acquire(*SPOT, 10, host=API)
        await lim.acquire("mexc", "spot", 10, host=FAPI)  # another exchange's own cooldowns

    run(main)


def test_budgets_of_different_groups_and_exchanges_are_independent(
    limiter, no_waiting: None
) -> None:
    async def main() -> None:
        budgets = {SPOT: Budget(10, 60), USDM: Budget(10, 60), ("mexc", "spot"): Budget(10, 60)}
        lim = limiter(budgets)
        await lim.acquire(*SPOT, 10)
        await lim.acquire(*USDM, 10)
        await lim.acquire("mexc", "spot", 10)

    run(main)


def test_hosts_with_their_own_egress_ip_get_their_own_budget(limiter, no_waiting: None) -> None:
    async def main() -> None:
        host_a = limiter({SPOT: Budget(10, 60)}, limit_key="10.0.0.1")
        host_b = limiter({SPOT: Budget(10, 60)}, limit_key="10.0.0.2")
        await host_a.acquire(*SPOT, 10)
        await host_b.acquire(*SPOT, 10)
        await host_a.cool_down("binance", API, 60)
        await host_b.acquire(*SPOT, 0, host=API)  # host a's ban is not host b's

    run(main)


def test_weight_the_exchange_reports_beyond_our_count_is_spent_for_everyone(limiter) -> None:
    async def main() -> None:
        one = limiter({SPOT: Budget(100, 60)})
        two = limiter({SPOT: Budget(100, 60)})
        await one.acquire(*SPOT, 10)
        # Other software on the same IP spent 80 more: the exchange says 90 are used.
        assert await one.observe(*SPOT, 90, 60) == 80
        await two.acquire(*SPOT, 10)
        with pytest.raises(RateLimited):
            await two.acquire(*SPOT, 1, deadline_s=1.0)

    run(main)


def test_a_report_at_or_below_our_count_changes_nothing(limiter, no_waiting: None) -> None:
    async def main() -> None:
        lim = limiter({SPOT: Budget(100, 60)})
        await lim.acquire(*SPOT, 50)
        # 50 sent, 30 arrived so far: weight in flight is not in the exchange's figure yet.
        assert await lim.observe(*SPOT, 30, 60) == 0
        assert await lim.observe(*SPOT, 50, 60) == 0
        await lim.acquire(*SPOT, 50)

    run(main)


def test_a_report_over_another_window_than_the_budget_is_ignored(limiter, no_waiting: None) -> None:
    async def main() -> None:
        lim = limiter({SPOT: Budget(100, 10)})
        assert await lim.observe(*SPOT, 99, 60) == 0  # a 1M figure says nothing of 10 s
        assert await lim.observe("binance", "unknown", 99, 10) == 0
        await lim.acquire(*SPOT, 100)

    run(main)


def test_usage_and_cooldowns_are_read_without_spending(limiter, redis_client) -> None:
    budgets = {SPOT: Budget(100, 60), USDM: Budget(100, 60)}

    async def main() -> None:
        lim = limiter(budgets)
        await lim.acquire(*SPOT, 30)
        await lim.cool_down("binance", FAPI, 20)

    run(main)
    assert usage(redis_client, budgets) == {SPOT: 30, USDM: 0}
    assert usage(redis_client, budgets) == {SPOT: 30, USDM: 0}
    left = cooldowns(redis_client, ["binance", "mexc"])
    assert list(left) == [("binance", FAPI)] and 15 < left[("binance", FAPI)] <= 20


def test_the_limiter_stands_on_its_own_without_settings_or_adapters() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, workers.ratelimit; "
        "print(sorted(m for m in sys.modules if m.startswith(('workers.', 'celery', 'aiohttp'))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['workers.ratelimit']", out.stdout


def test_a_large_budget_is_spent_in_local_credits_counted_up_front(limiter) -> None:
    """One round trip takes four requests' weight: three more requests spend it locally,
    and the cluster saw all four counted at the first."""

    async def main() -> None:
        budget = {SPOT: Budget(160, 60)}  # 4 x weight 2 is a twentieth: credit applies
        ours, other = limiter(budget, margin_ms=500), limiter(budget, margin_ms=500)
        await ours.acquire(*SPOT, 2, host=API)
        await other.acquire(*SPOT, 152, host=API, deadline_s=0)  # all the rest
        with pytest.raises(RateLimited):
            await other.acquire(*SPOT, 1, host=API, deadline_s=0)
        for _ in range(3):  # the credit: no round trip, nothing more counted
            assert await ours.acquire(*SPOT, 2, host=API, deadline_s=0) == 0.0
        with pytest.raises(RateLimited):  # credit spent: back to the (full) shared budget
            await ours.acquire(*SPOT, 2, host=API, deadline_s=0)

    run(main)


def test_unspent_credit_lapses_within_a_quarter_of_the_margin(limiter, monkeypatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=lambda: clock[0]))

    async def main() -> None:
        budget = {SPOT: Budget(160, 60)}
        ours, other = limiter(budget, margin_ms=200), limiter(budget, margin_ms=200)
        await ours.acquire(*SPOT, 2, host=API)
        await other.acquire(*SPOT, 152, host=API, deadline_s=0)
        clock[0] += 0.05 + 1e-6  # 200 ms / 4: the credit is gone
        with pytest.raises(RateLimited):
            await ours.acquire(*SPOT, 2, host=API, deadline_s=0)

    run(main)


def test_credit_lapses_counted_from_when_it_was_asked_for_not_when_the_answer_came(
    limiter, monkeypatch
) -> None:
    """Redis counts the batch when the script runs; a slow answer (a loaded host, a far
    Redis) must not stretch the credit past a quarter of the margin from that moment, or
    the last requests it pays for could reach the exchange in a later window."""
    clock = [1000.0]
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=lambda: clock[0]))

    async def main() -> None:
        budget = {SPOT: Budget(160, 60)}
        ours, other = limiter(budget, margin_ms=200), limiter(budget, margin_ms=200)
        script = ours._acquire

        async def answered_late(**kw: object) -> object:
            answer = await script(**kw)
            clock[0] += 0.04  # the answer takes 40 ms of the credit's 50 to come back
            return answer

        ours._acquire = answered_late
        await ours.acquire(*SPOT, 2, host=API)  # four requests' weight counted, three credited
        await other.acquire(*SPOT, 152, host=API, deadline_s=0)  # the rest of the budget
        assert await ours.acquire(*SPOT, 2, host=API, deadline_s=0) == 0.0  # 40 ms: credit
        clock[0] += 0.01 + 1e-6  # 50 ms after asking, 10 ms after the answer: lapsed
        with pytest.raises(RateLimited):
            await ours.acquire(*SPOT, 2, host=API, deadline_s=0)

    run(main)


def test_a_cooldown_this_process_sets_cancels_its_credit(limiter) -> None:
    async def main() -> None:
        lim = limiter({SPOT: Budget(160, 60)}, margin_ms=500)
        await lim.acquire(*SPOT, 2, host=API)
        await lim.cool_down("binance", API, 5.0)
        with pytest.raises(RateLimited):
            await lim.acquire(*SPOT, 2, host=API, deadline_s=1.0)

    run(main)


def test_small_budgets_are_never_taken_ahead(limiter) -> None:
    async def main() -> None:
        budget = {SPOT: Budget(100, 60)}  # 4 x weight 2 is over a twentieth
        ours, other = limiter(budget, margin_ms=500), limiter(budget, margin_ms=500)
        await ours.acquire(*SPOT, 2)
        await other.acquire(*SPOT, 98, deadline_s=0)  # only the 2 was counted

    run(main)


def test_a_burst_of_requests_takes_no_more_than_one_batch_ahead(limiter) -> None:
    async def main() -> None:
        budget = {SPOT: Budget(160, 60)}
        ours, other = limiter(budget, margin_ms=500), limiter(budget, margin_ms=500)
        await asyncio.gather(*(ours.acquire(*SPOT, 2, host=API) for _ in range(20)))
        # 20 x 2 spent, plus at most the three requests' weight one batch holds ahead
        await other.acquire(*SPOT, 160 - 40 - 6, host=API, deadline_s=0)

    run(main)
