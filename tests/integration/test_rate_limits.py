"""One rate budget for the whole cluster, measured where it matters: at the exchange.

Budgets are scaled down (weight per 5 s instead of per minute) so that a job spans several
windows in seconds. The simulator counts every request it accepts per rolling window and
logs each arrival, so these tests judge the cluster by what the exchange saw.
"""

from __future__ import annotations

from bench.cluster import run_producer
from storage.shards import Shard
from tests.integration.truth import assert_matches_truth

MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04"]
KLINES = ["--source", "rest", "--data", "klines", "--start", "2024-01-01", "--end", "2024-05-01"]
SHARDS = [Shard("binance", "spot", "klines", "BTCUSDT", m, "1m") for m in MONTHS]
PAGES = 45 + 42 + 45 + 44  # 1000 one-minute candles a page


def enqueue(cluster, *args: str, timeout_s: float = 120):
    result = run_producer(
        cluster.env, "enqueue", "--symbol", "BTCUSDT", *args, "--wait", "--timeout", str(timeout_s)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def max_window_weight(log: list[dict], window_ms: int) -> int:
    """The most weight the exchange accepted within any `window_ms`, from its arrival log."""
    accepted = [(e["t_ms"], e["weight"]) for e in log if e["status"] == 200]
    most = total = first = 0
    for t_ms, weight in accepted:
        total += weight
        while accepted[first][0] <= t_ms - window_ms:
            total -= accepted[first][1]
            first += 1
        most = max(most, total)
    return most


def test_four_workers_together_never_exceed_the_budget_in_any_window(make_cluster):
    cluster = make_cluster(
        "--spot-weight", "120/5", BINANCE_SPOT_RATE_LIMIT="120/5", SHARDFETCH_LIMIT_MARGIN_MS="250"
    )
    workers = [cluster.start_worker(f"w{i}") for i in range(4)]
    enqueue(cluster, *KLINES)

    stats = cluster.sim.stats()
    assert stats["weight"]["spot"] >= 2 * PAGES > 2 * 120, "the job needed several windows"
    assert stats["peak_window_weight"]["spot"] <= 120, stats["peak_window_weight"]
    assert max_window_weight(cluster.sim.arrivals(), 5000) <= 120
    assert (stats["status_429"], stats["status_418"]) == (0, 0)
    assert all(w.tasks_received() > 0 for w in workers), "four workers shared the job"
    for shard in SHARDS:
        assert_matches_truth(cluster.data_dir, shard)


def test_no_worker_sends_to_the_exchange_until_its_retry_after_has_passed(make_cluster):
    cluster = make_cluster()
    workers = [cluster.start_worker(f"w{i}") for i in range(3)]
    # The producer asks for the listing date once and remembers it, so the forced 429 lands
    # on the workers' first page requests.
    plan = run_producer(cluster.env, "enqueue", "--symbol", "BTCUSDT", *KLINES, "--dry-run")
    assert plan.returncode == 0, plan.stderr
    cluster.sim.reset()
    cluster.sim.faults(force_429={"venue": "binance", "count": 1, "retry_after_s": 3})
    enqueue(cluster, *KLINES)

    log = [e for e in cluster.sim.arrivals() if e["venue"] == "binance"]
    refused_ms = min(e["t_ms"] for e in log if e["status"] == 429)
    # Requests already on their way when the 429 was answered may still arrive (and are
    # refused too); after that, nothing until Retry-After has passed, from any worker.
    in_flight_ms = 250
    during = [e for e in log if refused_ms + in_flight_ms < e["t_ms"] < refused_ms + 3000]
    assert during == [], f"{len(during)} requests reached Binance during its Retry-After"
    late = [e["t_ms"] - refused_ms for e in log if e["status"] == 429]
    assert max(late) <= in_flight_ms, late
    after = [e for e in log if e["t_ms"] >= refused_ms + 3000 and e["status"] == 200]
    assert len(after) >= PAGES - 30, "the job went on after the cooldown"
    assert sum(w.tasks_received() for w in workers) >= len(SHARDS)
    for shard in SHARDS:
        assert_matches_truth(cluster.data_dir, shard)
