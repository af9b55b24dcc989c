"""Bulk-published messages (workers/publish.py) against the real thing: the message
`send_task` sends to the same broker, stock `celery worker` processes, and Flower."""

from __future__ import annotations

import json

import pytest
import redis
from celery import Celery

from bench.cluster import wait_for
from producer.enqueue import enqueue
from storage.keys import Keys, namespace_of
from storage.ledger import Ledger
from storage.shards import Shard
from tests.integration.test_flower import flower_of  # noqa: F401  (fixture)
from tests.integration.truth import assert_matches_truth
from workers.celery import configure
from workers.dispatch import send
from workers.routing import FETCH_TASK
from workers.settings import Settings

#: the message ids, which differ between any two messages
IDS = {"id", "root_id", "correlation_id", "delivery_tag"}


def app_for(env: dict[str, str]) -> Celery:
    """A producer's app on the test's Redis and dataset, as `workers.celery` builds it."""
    app = Celery("shardfetch", set_as_current=False)
    configure(app, Settings.from_env(env))
    return app


def decoded(app: Celery, raw: bytes) -> dict:
    """What a consumer gets from one raw Redis message: kombu's own decoding."""
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        message = channel.Message(json.loads(raw), channel=channel)
        args, kwargs, embed = message.decode()
        props = {k: v for k, v in message.properties.items() if k not in IDS}
        headers = {k: v for k, v in message.headers.items() if k not in IDS}
        return {
            "args": args,
            "kwargs": kwargs,
            "embed": embed,
            "headers": headers,
            "properties": props,
            "delivery_info": message.delivery_info,
            "content_type": message.content_type,
            "content_encoding": message.content_encoding,
            "ids": [message.headers["id"], message.headers["root_id"]],
        }


@pytest.mark.parametrize(
    "key",
    [
        "binance:spot:aggtrades:BTCUSDT:2024-01-15",
        "binance:usdm:funding:BTCUSDT:2024-01",
        "gateio:spot:klines:1m:BTCUSDT:2024-02",
    ],
)
def test_a_bulk_message_decodes_like_the_one_send_task_sends(redis_url, tmp_path, key) -> None:
    env = {"REDIS_URL": redis_url, "DATA_DIR": str(tmp_path / "data")}
    app = app_for(env)
    keys = Keys(namespace_of(env["DATA_DIR"]))
    shard = Shard.parse(key)
    # The first message of a queue is built the whole way, the next stamped from it.
    first = Shard(
        shard.exchange, shard.market, shard.dtype, "ETHUSDT", shard.period, shard.interval
    )
    send(app, [first, shard], "rest", keys.namespace)
    app.send_task(FETCH_TASK, args=[key], kwargs={"source": "rest", "dataset": keys.namespace})

    client = redis.Redis.from_url(redis_url)
    queue = keys.queue(shard.exchange)
    assert client.llen(queue) == 3, "all in the exchange's queue of this dataset"
    # LPUSH: newest first
    theirs, stamped, built = (decoded(app, raw) for raw in client.lrange(queue, 0, -1))
    assert stamped["args"] == [key] and built["args"] == [first.key]
    assert stamped["kwargs"] == {"source": "rest", "dataset": keys.namespace}
    assert stamped["headers"]["task"] == FETCH_TASK
    assert stamped["delivery_info"] == {"exchange": "", "routing_key": shard.exchange}
    assert stamped["ids"][0] == stamped["ids"][1] != theirs["ids"][0]
    assert built["ids"][0] not in (stamped["ids"][0], theirs["ids"][0])
    assert same_but_ids(stamped) == same_but_ids(theirs)
    built["headers"]["argsrepr"] = stamped["headers"]["argsrepr"]
    assert same_but_ids(built) == {**same_but_ids(theirs), "args": [first.key]}


def same_but_ids(message: dict) -> dict:
    return {k: v for k, v in message.items() if k != "ids"}


def test_bulk_published_shards_run_on_stock_workers_and_flower_lists_them(
    make_cluster,
    flower_of,  # noqa: F811
) -> None:
    cluster = make_cluster()
    flower = flower_of(cluster.env)
    cluster.start_worker("bulk", concurrency=2, queue="binance")
    days = [f"2024-02-{d:02d}" for d in range(26, 30)]
    shards = [
        *(
            Shard("binance", "spot", "aggtrades", s, d)
            for s in ("BTCUSDT", "ETHUSDT")
            for d in days
        ),
        Shard("binance", "spot", "klines", "BTCUSDT", "2024-01", "1h"),
        Shard("binance", "usdm", "funding", "BTCUSDT", "2024-01"),
    ]
    app = app_for(cluster.env)
    ledger = Ledger(cluster.redis, cluster.keys.namespace)
    stale_ms = 3_600_000
    # Batches of 3: several claims and pipelines, the last one short.
    report = enqueue(app, ledger, shards, stale_ms, "rest", batch=3)
    assert report.sent == shards

    def all_done() -> bool:
        return cluster.redis.scard(cluster.keys.done) == len(shards)

    wait_for(all_done, 120, "every bulk-published shard done")
    for shard in shards:
        assert_matches_truth(cluster.data_dir, shard)

    def flower_saw_all() -> dict | None:
        tasks = flower.get("/api/tasks")
        done = {
            t["args"]: t
            for t in tasks.values()
            if t["name"] == FETCH_TASK and t["state"] == "SUCCESS" and t.get("worker")
        }
        return done if len(done) == len(shards) else None

    seen = wait_for(flower_saw_all, 60, "flower to list every task succeeded", poll_s=0.3)
    assert set(seen) == {repr([s.key]) for s in shards}
    assert all(t["received"] and t["started"] for t in seen.values())

    # A re-run of the completed job: nothing is sent, nothing reaches the exchange.
    cluster.sim.reset()
    again = enqueue(app, ledger, shards, stale_ms, "rest", batch=3)
    assert (again.sent, again.already_done) == ([], shards)
    assert cluster.redis.llen(cluster.keys.queue("binance")) == 0
    assert cluster.sim.stats()["requests_total"] == 0
