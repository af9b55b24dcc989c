"""MEXC, Gate.io and Bybit end to end: real workers on each exchange's queue, the simulator
serving each exchange's own formats (Bybit's trades from its archive), every stored row
compared with the ground truth."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from bench.cluster import run_producer
from simulator import market
from storage.layout import shard_path
from storage.parquet import file_metadata
from storage.shards import Shard
from tests.integration.truth import stored_frame

PRICE_COLUMNS = ["open_time", "open", "high", "low", "close", "volume", "quote_volume"]
MARKETS = {  # exchange -> (klines/trades market, funding market) as the adapters name them
    "mexc": ("spot", "contract"),
    "gateio": ("spot", "futures"),
    "bybit": ("spot", "linear"),
}


def _month_bounds() -> tuple[date, date]:
    this = datetime.now(UTC).date().replace(day=1)
    return (this - timedelta(days=1)).replace(day=1), this


def _ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def _enqueue(cluster, exchange: str, *args: str) -> str:
    result = run_producer(
        cluster.env,
        "enqueue",
        "--exchange",
        exchange,
        "--symbol",
        "BTCUSDT",
        *args,
        "--wait",
        "--timeout",
        "120",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _check_klines(cluster, shard: Shard) -> None:
    stored = stored_frame(cluster.data_dir, shard)
    truth = market.klines("BTCUSDT", "spot", "1h", shard.start_ms, shard.end_ms)
    assert len(stored) == len(truth) > 0, shard.key
    pd.testing.assert_frame_equal(
        stored[PRICE_COLUMNS], truth[PRICE_COLUMNS], check_dtype=False, check_exact=True
    )
    assert (stored["close_time"] == truth["close_time"]).all(), "next open − 1 ms everywhere"
    assert stored[["trades", "taker_buy_base", "taker_buy_quote"]].isna().all().all()


def _check_trades(cluster, shard: Shard) -> None:
    stored = stored_frame(cluster.data_dir, shard)
    truth = market.aggtrades("BTCUSDT", "spot", shard.start_ms, shard.end_ms)
    assert len(stored) == len(truth) > 0, shard.key
    for column in ("price", "qty", "time", "is_buyer_maker"):
        assert (stored[column].to_numpy() == truth[column].to_numpy()).all(), column
    # One trade per row, its id three times: Gate's REST id, or Bybit's archive id, which
    # counts from 1 each day.
    ids = (
        truth["agg_id"] - truth["agg_id"].iloc[0] + 1
        if shard.exchange == "bybit"
        else truth["agg_id"]
    )
    assert (stored["agg_id"].to_numpy() == ids.to_numpy()).all()
    assert (stored["first_id"] == stored["agg_id"]).all()
    assert (stored["last_id"] == stored["agg_id"]).all()
    source = file_metadata(shard_path(cluster.data_dir, shard))["source"]
    assert source == ("archive" if shard.exchange == "bybit" else "rest")


def _check_funding(cluster, shard: Shard) -> None:
    stored = stored_frame(cluster.data_dir, shard)
    truth = market.funding("BTCUSDT", shard.start_ms, shard.end_ms)
    assert len(stored) == len(truth) > 0, shard.key
    assert (stored["funding_time"].to_numpy() == truth["funding_time"].to_numpy()).all()
    assert np.array_equal(stored["funding_rate"].to_numpy(), truth["funding_rate"].to_numpy())
    assert stored["mark_price"].isna().all(), "none of the three sends a mark price"


@pytest.mark.parametrize("exchange", ["mexc", "gateio", "bybit"])
def test_exchange_stores_ground_truth_from_its_own_queue(make_cluster, exchange):
    cluster = make_cluster()
    cluster.start_worker(exchange, queue=exchange)
    spot, perp = MARKETS[exchange]
    first, this = _month_bounds()
    month = ["--start", first.isoformat(), "--end", this.isoformat()]
    day = datetime.now(UTC).date() - timedelta(days=3)
    _enqueue(cluster, exchange, "--data", "klines", "--interval", "1h", *month)
    _enqueue(cluster, exchange, "--data", "funding", *month)
    out = _enqueue(
        cluster,
        exchange,
        "--data",
        "aggtrades",
        "--start",
        day.isoformat(),
        "--end",
        (day + timedelta(days=1)).isoformat(),
    )

    period = first.isoformat()[:7]
    _check_klines(cluster, Shard(exchange, spot, "klines", "BTCUSDT", period, "1h"))
    _check_funding(cluster, Shard(exchange, perp, "funding", "BTCUSDT", period))
    trades = Shard(exchange, spot, "aggtrades", "BTCUSDT", day.isoformat())
    if exchange == "mexc":  # REST keeps only recent hours and no archive: said, not queued
        assert "skipping 1 mexc spot aggtrades BTCUSDT" in " ".join(out.split()), out
        assert "download page" in " ".join(out.split())
        assert trades.key.encode() not in cluster.redis.smembers(cluster.keys.planned)
    else:
        _check_trades(cluster, trades)
    verify = run_producer(cluster.env, "verify", "--exchange", exchange, "--json")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert json.loads(verify.stdout)["problems"] == 0
    stats = cluster.sim.stats()
    assert stats["rejected_429"] == 0
    assert not any(p.startswith("/api/v3") or p.startswith("/fapi") for p in stats["requests"])


REFUSALS = [
    ("mexc", "klines", "Invalid symbol."),
    ("mexc", "aggtrades", "Invalid symbol."),
    ("mexc", "funding", "Contract does not exist"),
    ("gateio", "klines", "INVALID_CURRENCY_PAIR"),
    ("gateio", "aggtrades", "INVALID_CURRENCY_PAIR"),
    ("gateio", "funding", "CONTRACT_NOT_FOUND"),
    ("bybit", "klines", "Not supported symbols"),
    ("bybit", "aggtrades", "Not supported symbols"),  # beyond REST, yet still checked
    ("bybit", "funding", "Not supported symbols"),
]


def test_unknown_symbol_refused_with_the_exchanges_reason(make_cluster):
    cluster = make_cluster()
    for exchange, dtype, reason in REFUSALS:
        result = run_producer(
            cluster.env,
            "enqueue",
            "--exchange",
            exchange,
            "--symbol",
            "NOPEUSDT",
            "--data",
            dtype,
            "--days",
            "3",
        )
        assert result.returncode == 2, (exchange, result.stdout, result.stderr)
        line = " ".join(result.stderr.split())
        assert reason in line and f"{exchange} " in line, (exchange, line)
    assert not cluster.redis.smembers(cluster.keys.planned), "nothing was planned or queued"
    assert all(cluster.redis.llen(cluster.keys.queue(queue)) == 0 for queue in MARKETS), (
        "nor queued"
    )


def _dry_run(cluster, exchange: str, *args: str) -> str:
    dry = run_producer(
        cluster.env,
        *("enqueue", "--exchange", exchange, "--symbol", "BTCUSDT", *args, "--dry-run"),
    )
    assert dry.returncode == 0, dry.stderr
    return " ".join(dry.stdout.split())


def test_plan_shows_the_source_per_shard_and_what_neither_source_can_serve(make_cluster):
    cluster = make_cluster()
    now = datetime.now(UTC)
    months = pd.date_range(end=now, periods=25, freq="MS", tz="UTC")
    # 1h: months older than REST's 9,900 hours come from Gate's archive, the rest from REST
    text = _dry_run(cluster, "gateio", "--data", "klines", "--interval", "1h", "--years", "2")
    assert "skipping" not in text, text
    archived = re.search(r"│ archive │ (\d+) │ (\S+) │ (\S+) │", text)
    rest = re.search(r"│ rest │ (\d+) │ (\S+) │ (\S+) │", text)
    assert archived and rest, text
    assert archived[2] == f"{months[0]:%Y-%m}" and rest[3] == f"{months[-1]:%Y-%m}"
    assert archived[3] < rest[2] and int(archived[1]) + int(rest[1]) == len(months)
    # the last archived month is the one REST's reach falls in (the producer's clock is a
    # little later than ours)
    reach_ms = int(now.timestamp() * 1000) - 9_900 * 3_600_000
    boundary = next(m for m in reversed(months) if m.value // 10**6 <= reach_ms)
    assert archived[3] in (f"{boundary:%Y-%m}", f"{boundary + pd.DateOffset(months=1):%Y-%m}")
    assert "which has no volume (REST cannot serve them whole): stored null" in text
    # 15m is not archived: what REST cannot reach at all is said up front and not queued,
    # and the month REST reaches into is stored incomplete
    text = _dry_run(cluster, "gateio", "--data", "klines", "--interval", "15m", "--years", "2")
    assert "skipping" in text and "latest 10,000 15m candles" in text, text
    assert "the archive has no file for them" in text
    assert "1 gateio spot klines 15m BTCUSDT shard(s)" in text and "stored incomplete" in text
    # Bybit trades: closed days from its archive, today from nowhere
    text = _dry_run(cluster, "bybit", "--data", "aggtrades", "--days", "3")
    assert "skipping 1 bybit spot aggtrades BTCUSDT shard(s)" in text, text
    assert f"│ archive │ 2 │ {now.date() - timedelta(days=2)} │" in text
    assert not cluster.redis.smembers(cluster.keys.planned)


SLOW_VENUE, BASE_LATENCY_MS, DAYS = "gateio", 50, 2


def test_mixed_job_on_four_queues_where_a_10x_slower_venue_holds_no_one_back(tmp_path, redis_url):
    """Gate answers 10x slower than the others. Its own work waits on ~8 rounds of 500 ms;
    the other three, each on its own queue, worker and budget, finish well before it."""
    from bench.cluster import Simulator
    from bench.mixed import EXCHANGES, run_job

    slow_ms = 10 * BASE_LATENCY_MS
    sim = Simulator(
        tmp_path,
        *("--latency-ms", str(BASE_LATENCY_MS)),
        *("--venue-latency", f"{SLOW_VENUE}={slow_ms}"),
        name="mixed-sim",
    )
    try:
        finishes, outputs = run_job(tmp_path, redis_url, sim, days=DAYS, timeout_s=240)
    finally:
        sim.stop()
    assert [f.exchange for f in finishes] == list(EXCHANGES)
    figures = "; ".join(
        f"{f.exchange} done at {f.seconds:.2f}s ({f.requests} requests)" for f in finishes
    )
    print(f"latency {BASE_LATENCY_MS} ms, {SLOW_VENUE} {slow_ms} ms: {figures}")
    for f in finishes:
        assert f.shards > 0 and f.failed == 0 and f.requests > 0, f
    # every exchange's worker took its own queue's shards
    logs = {x: (tmp_path / f"worker-{x}-w.log").read_text() for x in EXCHANGES}
    assert all("] received" in log and "succeeded" in log for log in logs.values())
    bybit_out = " ".join(outputs[EXCHANGES.index("bybit")].split())
    assert "skipping 1 bybit spot aggtrades" in bybit_out, (
        "today's trades: closed days come from the archive"
    )
    slow = next(f for f in finishes if f.exchange == SLOW_VENUE)
    fast = [f for f in finishes if f.exchange != SLOW_VENUE]
    # Had the slow venue held the others back (a shared worker, queue or budget), they
    # would finish with it or after it; each finishes at least a second before it instead.
    assert all(f.seconds < slow.seconds - 1.0 for f in fast), figures
