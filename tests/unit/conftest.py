"""Shared fixtures for the unit run: fakeredis stands in for Redis, tmp_path for DATA_DIR.

Tests ask for `redis_server`, `redis_client` and `ledger` by name, so an integration conftest
can provide the same names over a real redis-server and run the same assertions.
"""

from __future__ import annotations

from pathlib import Path

import fakeredis
import pytest

from storage.custody import Custody
from storage.ledger import Ledger

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NAMESPACE = "test-data"


@pytest.fixture
def redis_server() -> fakeredis.FakeServer:
    """One in-memory Redis server; every client made on it sees the same data."""
    return fakeredis.FakeServer()


@pytest.fixture
def redis_client(redis_server: fakeredis.FakeServer) -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(server=redis_server)


@pytest.fixture
def ledger(redis_client: fakeredis.FakeRedis) -> Ledger:
    return Ledger(redis_client, NAMESPACE)


@pytest.fixture
def custody(redis_client: fakeredis.FakeRedis) -> Custody:
    return Custody(redis_client, NAMESPACE)


@pytest.fixture
def fixture_bytes():
    """Read a recorded body from tests/fixtures/<exchange>/<name>."""

    def read(exchange: str, name: str) -> bytes:
        return (FIXTURES / exchange / name).read_bytes()

    return read


@pytest.fixture
def make_async_redis(redis_server: fakeredis.FakeServer):
    """New asyncio clients of the test's one Redis (one per simulated worker process)."""
    return lambda: fakeredis.FakeAsyncRedis(server=redis_server)
