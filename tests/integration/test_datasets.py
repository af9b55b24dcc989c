"""Two datasets (two DATA_DIRs) on one Redis: each has its own ledger, queue and files."""

from __future__ import annotations

import json
import subprocess

from celery import Celery

from bench.cluster import BIN, run_producer, wait_for
from storage.shards import Shard
from tests.integration.test_healing import TWO_MONTHS, assert_stored_once
from tests.integration.truth import assert_matches_truth
from workers.celery import configure
from workers.dispatch import send
from workers.settings import Settings

MONTHS = [Shard("binance", "spot", "klines", "BTCUSDT", f"2024-0{m}", "1m") for m in (1, 2)]
MARCH = Shard("binance", "spot", "klines", "BTCUSDT", "2024-03", "1m")


def test_two_data_dirs_on_one_redis_each_complete_the_same_job_with_their_own_ledger(
    make_cluster, tmp_path
):
    one = make_cluster(DATA_DIR=str(tmp_path / "one" / "data"))
    two = make_cluster(DATA_DIR=str(tmp_path / "two" / "data"))
    assert one.keys.namespace != two.keys.namespace
    # Workers of both datasets read the queue they call "binance".
    worker_one = one.start_worker("one")
    two.start_worker("two")
    command = [str(BIN / "producer"), "enqueue", "--symbol", "BTCUSDT", *TWO_MONTHS, "--wait"]
    jobs = [
        subprocess.Popen(command, env=c.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for c in (one, two)
    ]
    outputs = [job.communicate(timeout=120)[0].decode() for job in jobs]
    assert [job.returncode for job in jobs] == [0, 0], outputs
    assert all(" 2 sent" in out for out in outputs), "neither saw the other's shards as done"

    for cluster in (one, two):
        assert_stored_once(cluster.data_dir, MONTHS)
        doc = json.loads(run_producer(cluster.env, "status", "--json").stdout)
        assert doc["dataset"]["namespace"] == cluster.keys.namespace
        assert doc["dataset"]["data_dir"] == str(cluster.data_dir)
        assert doc["totals"]["done"] == 2
        text = run_producer(cluster.env, "status").stdout
        assert f"dataset {cluster.data_dir} (ledger namespace {cluster.keys.namespace})" in text

    # A message of dataset two that lands on dataset one's queue is not written there.
    app = Celery("elsewhere")
    configure(app, Settings.from_env(one.env))
    send(app, [MARCH], "rest", two.keys.namespace)
    wait_for(lambda: two.redis.sismember(two.keys.done, MARCH.key), 60, "dataset two to store it")
    assert_matches_truth(two.data_dir, MARCH)
    assert not list(one.data_dir.rglob("2024-03.parquet"))
    assert not one.redis.sismember(one.keys.done, MARCH.key)
    assert f"{MARCH.key}: belongs to dataset {two.keys.namespace}" in worker_one.output()
