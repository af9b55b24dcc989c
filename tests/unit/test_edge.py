"""The network edge (workers/edge.py): one error map, one backoff, one retry policy."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest
import redis

from storage.errors import (
    ExchangeUnavailable,
    PermanentError,
    RateLimited,
    RedisUnavailable,
    TransientError,
)
from workers import edge
from workers.credentials import MaskingFilter, mask
from workers.edge import Retry, mapped, until_redis


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []

    async def fake_async_sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(edge.asyncio, "sleep", fake_async_sleep)
    monkeypatch.setattr(edge.time, "sleep", waits.append)
    return waits


def failing(*errors: BaseException, result: object = "ok"):
    """An async call that raises `errors` one per call, then returns `result`."""
    left = list(errors)
    calls = []

    async def once():
        calls.append(1)
        if left:
            raise left.pop(0)
        return result

    return once, calls


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (TimeoutError(), ExchangeUnavailable),
        (aiohttp.ServerDisconnectedError(), ExchangeUnavailable),
        (aiohttp.ClientPayloadError("cut short"), ExchangeUnavailable),
        (redis.ConnectionError("Connection refused"), RedisUnavailable),
        (
            redis.BusyLoadingError("LOADING Redis is loading the dataset in memory"),
            RedisUnavailable,
        ),
        (redis.TimeoutError("Timeout reading from socket"), RedisUnavailable),
    ],
)
def test_transport_and_redis_failures_map_to_transient_errors(raised, expected) -> None:
    with pytest.raises(expected) as caught, mapped("https://api.example/x"):
        raise raised
    assert isinstance(caught.value, TransientError)


def test_a_redis_bug_is_not_mistaken_for_an_outage() -> None:
    with pytest.raises(redis.ResponseError), mapped("Redis"):
        raise redis.ResponseError("WRONGTYPE Operation against a key holding the wrong value")


def test_a_mapped_message_masks_the_credentials_of_the_url() -> None:
    with pytest.raises(ExchangeUnavailable) as caught, mapped("https://me:hunter2@mirror/api"):
        raise TimeoutError
    assert "hunter2" not in str(caught.value) and "me:***@mirror" in str(caught.value)


def test_transient_faults_spend_attempts_and_the_last_one_is_raised() -> None:
    once, calls = failing(*(ExchangeUnavailable("503") for _ in range(5)))
    with pytest.raises(ExchangeUnavailable):
        asyncio.run(Retry(3).run(once, "page"))
    assert len(calls) == 3


def test_a_permanent_error_is_raised_at_once() -> None:
    once, calls = failing(PermanentError("Invalid symbol"))
    with pytest.raises(PermanentError):
        asyncio.run(Retry(5).run(once, "page"))
    assert len(calls) == 1


def test_a_rate_limit_waits_nothing_here_because_the_limiter_holds_the_cooldown(no_sleep) -> None:
    once, _ = failing(RateLimited("429", retry_after_s=3.0))
    assert asyncio.run(Retry(2).run(once, "page")) == "ok"
    assert no_sleep == [0.0]


def test_a_redis_outage_is_waited_out_without_spending_attempts(no_sleep) -> None:
    once, calls = failing(*(RedisUnavailable("down") for _ in range(20)))
    assert asyncio.run(Retry(1).run(once, "page")) == "ok"
    assert len(calls) == 21
    assert all(0 <= s <= 2.0 for s in no_sleep)


def test_a_redis_outage_longer_than_the_wait_is_raised(monkeypatch) -> None:
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr(edge.time, "monotonic", lambda: next(clock))
    once, calls = failing(*(RedisUnavailable("down") for _ in range(50)))
    with pytest.raises(RedisUnavailable):
        asyncio.run(Retry(1, redis_wait_s=60).run(once, "page"))
    assert len(calls) == 7, "tried for 60 s of the fake clock, 10 s apart"


def test_until_redis_retries_a_blocking_call_on_raw_redis_errors() -> None:
    errors = [redis.ConnectionError("refused"), redis.BusyLoadingError("LOADING")]

    def once() -> int:
        if errors:
            raise errors.pop(0)
        return 7

    assert until_redis(once, "mark done", wait_s=30) == 7


def test_until_redis_raises_other_errors_at_once() -> None:
    def once() -> None:
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        until_redis(once, "mark done", wait_s=30)


@pytest.mark.parametrize("attempt", range(10))
def test_backoff_is_jittered_within_an_exponential_cap(attempt: int) -> None:
    ceiling = min(30.0, 0.5 * 2**attempt)
    delays = [edge.backoff_s(attempt, base_s=0.5, cap_s=30.0) for _ in range(200)]
    assert all(0.0 <= d <= ceiling for d in delays)
    assert len(set(delays)) > 1  # jitter: retries of many workers do not line up


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("redis://:s3cret@redis:6379/0", "redis://:***@redis:6379/0"),
        (
            "cannot reach redis://user:p@ss:w0rd@h:1/0 (refused)",
            "cannot reach redis://user:***@h:1/0 (refused)",
        ),
        ("https://mirror/api?symbol=X&password=zz", "https://mirror/api?symbol=X&password=***"),
        ("redis://localhost:6379/0", "redis://localhost:6379/0"),
        ("s3://bucket/prefix", "s3://bucket/prefix"),
    ],
)
def test_credentials_in_any_url_are_masked(text: str, masked: str) -> None:
    assert mask(text) == masked


def test_log_records_from_any_library_are_masked(caplog) -> None:
    logger = logging.getLogger("some.library")
    caplog.handler.addFilter(MaskingFilter())
    try:
        raise ConnectionError("Error connecting to redis://:topsecret@host:6379/0")
    except ConnectionError:
        logger.exception("broker %s lost", "redis://:topsecret@host:6379/0")
    assert "topsecret" not in caplog.text
    assert "redis://:***@host:6379/0" in caplog.text
