"""The limiter's unit assertions again, on a real redis-server: Lua, TIME and PTTL as Redis
itself runs them, not as fakeredis emulates them."""

from __future__ import annotations

import pytest
import redis
import redis.asyncio as aioredis

from tests.unit.test_ratelimit import *  # noqa: F403 - the same tests, other fixtures


@pytest.fixture
def make_async_redis(redis_url: str):
    return lambda: aioredis.Redis.from_url(redis_url)


@pytest.fixture
def redis_client(redis_url: str):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()
