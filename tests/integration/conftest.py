"""Fixtures that start real redis-server, exchange-sim and celery worker processes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bench.cluster import RedisServer, Simulator, Worker, sim_env
from storage.keys import Keys, namespace_of

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """A flushed Redis for each test (broker and ledger share it, as in production)."""
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield redis_server.url
    client.close()


class Cluster:
    """One test's world: Redis, a simulator, a data dir, and the workers it starts."""

    def __init__(self, workdir: Path, redis_url: str, sim: Simulator, **env: str):
        self.workdir = workdir
        self.sim = sim
        location = env.get("DATA_DIR") or str(workdir / "data")
        self.data_dir = Path(location)
        self.keys = Keys(env.get("SHARDFETCH_NAMESPACE") or namespace_of(location))
        self.redis = redis.Redis.from_url(redis_url)
        self.env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "DATA_DIR": str(self.data_dir),
            **sim_env(sim.url),
            "SHARDFETCH_LOCK_TTL_S": "2",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.workers: list[Worker] = []

    def start_worker(
        self, name: str, concurrency: int = 1, queue: str = "binance", cwd: Path | None = None
    ) -> Worker:
        worker = Worker(
            self.workdir,
            self.env,
            f"{name}{len(self.workers)}",
            queue=queue,
            concurrency=concurrency,
            cwd=cwd,
        )
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.sim.stop()
        self.redis.close()


@pytest.fixture
def make_cluster(tmp_path: Path, redis_url: str) -> Iterator:
    clusters: list[Cluster] = []

    def make(*sim_args: str, redis: str | None = None, **env: str) -> Cluster:
        """A cluster on the test's Redis, or on the Redis at `redis` (a URL)."""
        sim = Simulator(tmp_path, *sim_args, name=f"sim{len(clusters)}")
        cluster = Cluster(tmp_path, redis or redis_url, sim, **env)
        clusters.append(cluster)
        return cluster

    yield make
    for cluster in clusters:
        cluster.stop()
