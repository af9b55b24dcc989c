"""The per-group counters equal a full recount, shard by shard, after a job that went
through everything: a worker killed with -9 mid-shard (healed), shards that failed, a
`retry-failed`, and a `reconcile` after Redis lost everything (FLUSHALL).

Real redis-server, the simulator over HTTP, real celery worker processes.
"""

from __future__ import annotations

import json

from bench.cluster import run_producer, wait_for
from storage.ledger import Ledger
from tests.integration.test_end_to_end import TRADES
from tests.integration.test_healing import (
    MONTHS,
    SIX_MONTHS,
    SLOW,
    SLOW_ENV,
    finished,
    running_held_by,
    waiting,
)
from tests.unit.recount import assert_counters_match


def ledger_of(cluster) -> Ledger:
    return Ledger(cluster.redis, cluster.keys.namespace)


def totals(cluster) -> dict:
    result = run_producer(cluster.env, "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["totals"]


def test_counters_equal_a_recount_through_kill_failures_retry_and_reconcile(make_cluster, tmp_path):
    cluster = make_cluster(
        *SLOW,
        **SLOW_ENV,
        SHARDFETCH_LOCK_TTL_S="3",
        SHARDFETCH_VISIBILITY_TIMEOUT_S="8",
        SHARDFETCH_PAGE_ATTEMPTS="2",
        SHARDFETCH_SHARD_ATTEMPTS="2",
    )
    doomed = cluster.start_worker("doomed", concurrency=2)
    cluster.start_worker("other", concurrency=2)
    ledger = ledger_of(cluster)

    # A worker dies mid-shard; the waiting producer heals its shards.
    job = waiting(cluster, tmp_path, SIX_MONTHS)
    wait_for(lambda: running_held_by(cluster, "doomed"), 60, "the doomed worker mid-shard")
    doomed.kill9()
    assert finished(job) == 0, job.output()
    counts = assert_counters_match(ledger)
    assert sum(c["done"] for c in counts.values()) == len(MONTHS)

    # Trades fail while their endpoint is down (retries with a countdown, then failed).
    cluster.sim.faults(down={"/api/v3/aggTrades": 503})
    failed = run_producer(
        cluster.env, "enqueue", "--symbol", "BTCUSDT", *TRADES, "--wait", "--timeout", "120"
    )
    assert failed.returncode == 1 and "3 failed" in failed.stdout, failed.stdout + failed.stderr
    counts = assert_counters_match(ledger)
    assert sum(c["failed"] for c in counts.values()) == 3
    assert totals(cluster)["failed"] == 3

    # retry-failed completes them.
    cluster.sim.faults(down={})
    retried = run_producer(cluster.env, "retry-failed", "--wait", "--timeout", "120")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    counts = assert_counters_match(ledger)
    assert sum(c["failed"] for c in counts.values()) == 0
    assert sum(c["done"] for c in counts.values()) == len(MONTHS) + 3

    # The dead worker's messages come back after the visibility timeout and find their shards
    # done; the counters do not move.
    wait_for(lambda: not cluster.redis.hlen(cluster.keys.queued), 60, "nothing left queued")
    before = assert_counters_match(ledger)

    # Redis loses everything; reconcile rebuilds the ledger, and the counters with it.
    cluster.redis.flushall()
    assert totals(cluster)["planned"] == 0
    done = run_producer(cluster.env, "reconcile")
    assert done.returncode == 0, done.stdout + done.stderr
    after = assert_counters_match(ledger)
    assert after == before
    assert totals(cluster)["done"] == len(MONTHS) + 3
