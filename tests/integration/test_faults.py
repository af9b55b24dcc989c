"""Faults real exchanges produce, survived: 5xx, truncated bodies, resets, latency, an endpoint
that is down until someone fixes it."""

from __future__ import annotations

import json

from bench.cluster import run_producer
from tests.integration.test_end_to_end import FUNDING, KLINES, SHARDS, TRADES
from tests.integration.truth import assert_matches_truth

TRADES_PER_DAY = 100_000  # about 400 requests in all: every kind of fault strikes some


def enqueue(cluster, *args: str, timeout_s: float = 240):
    return run_producer(
        cluster.env, "enqueue", "--symbol", "BTCUSDT", *args, "--wait", "--timeout", str(timeout_s)
    )


def status(cluster) -> dict:
    result = run_producer(cluster.env, "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_job_through_5xx_truncated_bodies_resets_and_latency_stores_ground_truth(make_cluster):
    cluster = make_cluster(
        "--fault-5xx", "0.10", "--fault-truncate", "0.03", "--fault-reset", "0.02",
        "--latency-ms", "50", "--trades-per-day", str(TRADES_PER_DAY),
    )  # fmt: skip
    cluster.start_worker("a", concurrency=2)
    cluster.start_worker("b", concurrency=2)
    for args in (KLINES, TRADES, FUNDING):
        result = enqueue(cluster, *args)
        assert result.returncode == 0, result.stdout + result.stderr

    for shard in SHARDS:
        assert_matches_truth(cluster.data_dir, shard, trades_per_day=TRADES_PER_DAY)
    assert status(cluster)["totals"]["failed"] == 0
    faults = cluster.sim.stats()["faults"]
    assert min(faults["5xx"], faults["truncate"], faults["reset"]) > 0, faults


def test_shards_of_a_dead_endpoint_fail_with_the_reason_and_retry_failed_completes_them(
    make_cluster,
):
    cluster = make_cluster(SHARDFETCH_PAGE_ATTEMPTS="2", SHARDFETCH_SHARD_ATTEMPTS="2")
    cluster.start_worker("a", concurrency=2)
    # The listing date is asked once and kept, so the dead endpoint only hurts the workers.
    assert run_producer(cluster.env, "enqueue", "--symbol", "BTCUSDT", *KLINES, "--dry-run")
    cluster.sim.faults(down={"/api/v3/klines": 503})

    failed = enqueue(cluster, *KLINES)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "2 failed" in failed.stdout and "retry-failed" in failed.stdout
    doc = status(cluster)
    assert doc["totals"]["failed"] == 2
    reasons = {f["shard"]: f["reason"] for f in doc["failures"]}
    assert set(reasons) == {s.key for s in SHARDS[:2]}
    assert all("gave up after 2 attempts" in r and "503" in r for r in reasons.values()), reasons
    text = run_producer(cluster.env, "status").stdout
    assert all(f"failed {key}" in text for key in reasons), text

    cluster.sim.faults(down={})
    retried = run_producer(cluster.env, "retry-failed", "--wait", "--timeout", "120")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert "2 failed shards sent again" in retried.stdout
    for shard in SHARDS[:2]:
        assert_matches_truth(cluster.data_dir, shard)
    doc = status(cluster)
    assert (doc["totals"]["failed"], doc["totals"]["done"], doc["failures"]) == (0, 2, [])
    again = run_producer(cluster.env, "retry-failed")
    assert again.returncode == 0 and "nothing to retry" in again.stdout
