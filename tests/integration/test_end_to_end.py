"""A real cluster (redis-server, exchange-sim, celery workers) driven through the producer CLI.

These tests pin the REST path (`--source rest`); tests/integration/test_archive.py covers the
archive path and the choice between them.
"""

from __future__ import annotations

import json
import subprocess

import pyarrow.parquet as pq

from bench.cluster import BIN, run_producer, wait_for
from simulator import market
from storage.shards import Shard
from tests.integration.truth import assert_matches_truth, stored_frame

REST = ["--source", "rest"]
KLINES = [
    *REST,
    "--data",
    "klines",
    "--interval",
    "1m",
    "--start",
    "2024-01-01",
    "--end",
    "2024-03-01",
]
TRADES = [*REST, "--data", "aggtrades", "--start", "2024-02-28", "--end", "2024-03-02"]
FUNDING = [*REST, "--data", "funding", "--start", "2024-01-01", "--end", "2024-03-01"]

SHARDS = [
    Shard("binance", "spot", "klines", "BTCUSDT", "2024-01", "1m"),
    Shard("binance", "spot", "klines", "BTCUSDT", "2024-02", "1m"),
    Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-02-28"),
    Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-02-29"),
    Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-03-01"),
    Shard("binance", "usdm", "funding", "BTCUSDT", "2024-01"),
    Shard("binance", "usdm", "funding", "BTCUSDT", "2024-02"),
]


def enqueue(cluster, *args: str, timeout_s: float = 120):
    result = run_producer(
        cluster.env, "enqueue", "--symbol", "BTCUSDT", *args, "--wait", "--timeout", str(timeout_s)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_job_stores_ground_truth_and_rerun_fetches_nothing(make_cluster):
    cluster = make_cluster()
    workers = [cluster.start_worker("a"), cluster.start_worker("b")]
    for args in (KLINES, TRADES, FUNDING):
        enqueue(cluster, *args)

    rows = {s.key: assert_matches_truth(cluster.data_dir, s) for s in SHARDS}
    assert rows[SHARDS[0].key] == 31 * 1440 and rows[SHARDS[1].key] == 29 * 1440
    assert rows[SHARDS[5].key] == 31 * 3 and rows[SHARDS[6].key] == 29 * 3
    assert {k.decode() for k in cluster.redis.smembers(cluster.keys.done)} == {
        s.key for s in SHARDS
    }
    assert not list(cluster.data_dir.rglob("*.tmp"))
    assert all(w.tasks_received() > 0 for w in workers), "both workers took part"
    for path in cluster.data_dir.rglob("*.parquet"):  # readers get whole row groups
        meta = pq.read_metadata(path)
        groups = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
        assert len(groups) == 1 or min(groups) >= 64 * 1024, (path.name, groups)
    (january,) = cluster.data_dir.glob("exchange=binance/*/dtype=klines/*/*/2024-01.parquet")
    assert pq.read_metadata(january).num_row_groups == 1  # 45 pages of 1,000 candles

    cluster.sim.reset()
    received = sum(w.tasks_received() for w in workers)
    for args in (KLINES, TRADES, FUNDING):
        result = enqueue(cluster, *args)
        assert " 0 sent" in result.stdout, result.stdout
    assert cluster.sim.stats()["requests_total"] == 0, "no request reaches the exchange"
    assert sum(w.tasks_received() for w in workers) == received, "no task ran on the re-run"


def test_the_issue_interface_with_only_its_variables_reads_the_simulator(make_cluster):
    """Outside tests set only REDIS_URL, DATA_DIR, the two REST URLs and their budgets, and
    run this exact command (default --source): every row must come from the simulator."""
    cluster = make_cluster()
    for name in [
        k for k in cluster.env if k.startswith(("BINANCE_", "MEXC_", "GATEIO_", "BYBIT_"))
    ]:
        del cluster.env[name]
    cluster.env.update(
        BINANCE_SPOT_URL=cluster.sim.url,
        BINANCE_USDM_URL=cluster.sim.url,
        BINANCE_SPOT_RATE_LIMIT="6000/60",
        BINANCE_USDM_RATE_LIMIT="2400/60",
    )
    cluster.start_worker("a")
    command = "enqueue --exchange binance --symbol BTCUSDT --data klines --interval 1m"
    window = "--start 2024-01-01 --end 2024-03-01 --wait"
    result = run_producer(cluster.env, *command.split(), *window.split(), timeout_s=120)
    assert result.returncode == 0, result.stdout + result.stderr
    for shard in SHARDS[:2]:
        assert_matches_truth(cluster.data_dir, shard)
    requests = cluster.sim.stats()["requests"]
    assert requests["/api/v3/klines"] == 45 + 42 + 1, (
        f"every page and one listing probe: {requests}"
    )
    doc = json.loads(run_producer(cluster.env, "status", "--json").stdout)
    assert doc["totals"]["done"] == 2


def test_status_json_is_one_document_with_counts_rows_and_bytes(make_cluster):
    cluster = make_cluster()
    cluster.start_worker("a", concurrency=2)
    enqueue(cluster, *FUNDING)
    status = run_producer(cluster.env, "status", "--json")
    assert status.returncode == 0, status.stderr
    doc = json.loads(status.stdout)
    (group,) = doc["groups"]
    assert (group["dtype"], group["planned"], group["done"], group["failed"]) == (
        "funding",
        2,
        2,
        0,
    )
    assert group["rows"] == 31 * 3 + 29 * 3 and group["bytes"] > 0
    assert doc["totals"]["done"] == 2


def test_two_producers_at_once_fetch_each_shard_once(make_cluster):
    cluster = make_cluster()
    cluster.start_worker("a", concurrency=2)
    args = [
        str(BIN / "producer"),
        "enqueue",
        "--symbol",
        "BTCUSDT",
        *KLINES,
        "--wait",
        "--timeout",
        "120",
    ]
    both = [
        subprocess.Popen(
            args, env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=180) for p in both]
    assert all(p.returncode == 0 for p in both), outs
    sent = [int(out.split(" sent")[0].rsplit(" ", 1)[-1]) for out, _ in outs]
    assert sorted(sent) == [0, 2] or sum(sent) == 2, outs
    pages = 45 + 42  # 44,640 and 41,760 one-minute candles at 1000 per page
    stats = cluster.sim.stats()
    probes = stats["requests"]["/api/v3/klines"] - pages
    assert probes in (1, 2), f"each page once, plus one listing probe per producer: {stats}"
    for shard in SHARDS[:2]:
        assert_matches_truth(cluster.data_dir, shard)
    assert cluster.redis.scard(cluster.keys.planned) == 2


def test_kill9_mid_shard_then_rerun_completes_without_duplicates(make_cluster):
    cluster = make_cluster("--latency-ms", "40", "--trades-per-day", "200000")
    worker = cluster.start_worker("doomed")
    days = [*REST, "--data", "aggtrades", "--start", "2024-03-01", "--end", "2024-03-04"]
    sent = run_producer(cluster.env, "enqueue", "--symbol", "BTCUSDT", *days)
    assert sent.returncode == 0 and " 3 sent" in sent.stdout, sent.stdout + sent.stderr

    wait_for(lambda: list(cluster.data_dir.rglob("*.tmp")), 60, "a shard half written")
    worker.kill9()
    # The dead worker's lock expires after SHARDFETCH_LOCK_TTL_S; then the shard is orphaned.
    wait_for(lambda: not cluster.redis.keys(cluster.keys.lock + "*"), 30, "the dead lock to expire")

    cluster.start_worker("rescuer", concurrency=2)
    enqueue(cluster, *days, timeout_s=180)

    shards = [
        Shard("binance", "spot", "aggtrades", "BTCUSDT", d)
        for d in ("2024-03-01", "2024-03-02", "2024-03-03")
    ]
    for shard in shards:
        assert_matches_truth(cluster.data_dir, shard, trades_per_day=200000)
    assert not list(cluster.data_dir.rglob("*.tmp")), "no temp file left behind"
    files = sorted(p.name for p in cluster.data_dir.rglob("*.parquet"))
    assert files == [f"{d}.parquet" for d in ("2024-03-01", "2024-03-02", "2024-03-03")]


def test_unfinished_day_is_stored_partial_and_refreshed_by_the_next_run(make_cluster):
    cluster = make_cluster()
    cluster.start_worker("a")
    today = [*REST, "--data", "aggtrades", "--days", "1"]
    enqueue(cluster, *today)
    doc = json.loads(run_producer(cluster.env, "status", "--json").stdout)
    (group,) = doc["groups"]
    assert (group["planned"], group["partial"], group["done"]) == (1, 1, 0)
    (path,) = cluster.data_dir.rglob("*.parquet")
    shard = Shard("binance", "spot", "aggtrades", "BTCUSDT", path.stem)
    stored = stored_frame(cluster.data_dir, shard)
    truth = market.aggtrades("BTCUSDT", "spot", shard.start_ms, int(stored["time"].max()) + 1)
    assert stored["agg_id"].tolist() == truth["agg_id"].tolist(), "today so far, no gap"

    cluster.sim.reset()
    result = enqueue(cluster, *today)
    assert " 1 sent" in result.stdout, "a partial period is fetched again"
    assert cluster.sim.stats()["requests"]["/api/v3/aggTrades"] > 0


def test_dry_run_prints_the_plan_and_queues_nothing(make_cluster):
    cluster = make_cluster()
    result = run_producer(cluster.env, "enqueue", "--symbol", "BTCUSDT", *KLINES, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "dry run" in result.stdout and "2024-01" in result.stdout and "2024-02" in result.stdout
    assert "174" in result.stdout, "estimated weight: 87 pages of weight 2"
    assert cluster.redis.llen(cluster.keys.queue("binance")) == 0
    assert not cluster.redis.hlen(cluster.keys.queued)
