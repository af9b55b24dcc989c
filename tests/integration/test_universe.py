"""Choosing the universe (`--symbol all`, `--top`, `--include-delisted`, `--symbols-file`)
and listing at scale: real redis-server, the simulator over HTTP, the producer as a process;
no worker runs, so the queue holds what the producer sent."""

from __future__ import annotations

import base64
import json
import urllib.request
from datetime import UTC, datetime

from bench.cluster import run_producer
from storage.shards import Shard

SPOT_DATA = ("--data", "klines,aggtrades,funding")


def queued_keys(cluster, queue: str = "binance") -> list[str]:
    """The shard key of every message in the queue's Redis list."""
    messages = cluster.redis.lrange(cluster.keys.queue(queue), 0, -1)
    return [json.loads(base64.b64decode(json.loads(m)["body"]))[0][0] for m in messages]


def get(cluster, path: str):
    with urllib.request.urlopen(cluster.sim.url + path, timeout=30) as response:
        return json.loads(response.read())


def clean(result) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


def test_all_300_symbols_are_planned_with_one_message_per_shard_and_a_rerun_asks_nothing(
    make_cluster,
):
    cluster = make_cluster("--symbols", "300")
    args = ("enqueue", "--symbol", "all", "--days", "3", *SPOT_DATA)
    result = run_producer(cluster.env, *args, timeout_s=120)
    clean(result)
    assert result.returncode == 0, result.stderr

    keys = queued_keys(cluster)
    planned = {k.decode() for k in cluster.redis.smembers(cluster.keys.planned)}
    assert len(keys) == len(set(keys)), "one message per shard"
    assert set(keys) == planned, "every planned shard was sent"
    assert cluster.redis.hlen(cluster.keys.queued) == len(keys), "each claimed once"
    assert f"{len(keys)} shards planned: {len(keys)} sent" in result.stdout
    shards = [Shard.parse(k) for k in keys]
    assert len({s.symbol for s in shards if s.dtype == "klines"}) == 300
    assert {s.dtype for s in shards} == {"klines", "aggtrades", "funding"}

    requests = cluster.sim.stats()["requests"]
    # one list per market (spot lists no dates: one probe per symbol for klines and
    # aggTrades together; the perpetual's list dates its funding: no funding probe)
    assert requests["/api/v3/exchangeInfo"] == 1 and requests["/fapi/v1/exchangeInfo"] == 1
    assert requests["/api/v3/klines"] <= 300
    assert "/fapi/v1/fundingRate" not in requests, requests

    cluster.sim.reset()
    again = run_producer(cluster.env, *args, timeout_s=120)
    clean(again)
    assert again.returncode == 0, again.stderr
    assert " 0 sent" in again.stdout, again.stdout
    assert cluster.sim.stats()["requests"] == {}, "a re-run asks the exchange nothing"
    assert len(queued_keys(cluster)) == len(keys)


def test_top_n_takes_the_largest_24h_quote_volume_and_the_dry_run_summarises(make_cluster):
    cluster = make_cluster("--symbols", "40")
    tickers = get(cluster, "/api/v3/ticker/24hr?type=MINI")
    ranked = sorted(tickers, key=lambda t: (-float(t["quoteVolume"]), t["symbol"]))
    top = [t["symbol"] for t in ranked[:5]]

    result = run_producer(
        cluster.env, "enqueue", "--top", "5", "--days", "2", "--data", "aggtrades", "--dry-run"
    )
    clean(result)
    assert result.returncode == 0, result.stderr
    assert "5 symbols" in result.stdout
    assert result.stdout.count("aggtrades") <= 4, "one row per group, not per symbol"

    verbose = run_producer(
        cluster.env, "enqueue", "--top", "5", "--days", "2", "--data", "aggtrades",
        "--dry-run", "--verbose",
    )  # fmt: skip
    clean(verbose)
    assert all(symbol in verbose.stdout for symbol in top), (top, verbose.stdout)
    others = {t["symbol"] for t in ranked[5:]}
    assert not any(symbol in verbose.stdout for symbol in others)
    assert cluster.redis.llen(cluster.keys.queue("binance")) == 0, "dry run: nothing queued"


def test_delisted_symbols_join_with_include_delisted_and_end_on_their_last_day(make_cluster):
    cluster = make_cluster("--symbols", "30", "--delisted", "3")
    perps = get(cluster, "/fapi/v1/exchangeInfo")["symbols"]
    gone = {s["symbol"]: s["deliveryDate"] for s in perps if s["status"] == "SETTLING"}
    assert len(gone) == 3

    base = ("enqueue", "--symbol", "all", "--days", "70", "--data", "aggtrades")
    without = run_producer(cluster.env, *base, "--dry-run", "--verbose")
    clean(without)
    assert without.returncode == 0 and not any(s in without.stdout for s in gone)

    result = run_producer(cluster.env, *base, "--include-delisted")
    clean(result)
    assert result.returncode == 0, result.stderr
    days: dict[str, list[str]] = {}
    for key in queued_keys(cluster):
        shard = Shard.parse(key)
        days.setdefault(shard.symbol, []).append(shard.period)
    for symbol, delisted_ms in gone.items():
        last_day = datetime.fromtimestamp((delisted_ms - 1) / 1000, UTC).date().isoformat()
        assert max(days[symbol]) == last_day, (symbol, max(days[symbol]), last_day)


def test_a_bad_symbols_file_exits_2_in_one_line_before_anything_is_queued(make_cluster, tmp_path):
    cluster = make_cluster("--symbols", "10")
    listed = tmp_path / "symbols.txt"
    listed.write_text("# majors\nBTCUSDT\nETH/USDT  # typo\n")
    for path, says in ((listed, "line 3"), (tmp_path / "missing.txt", "cannot read it")):
        result = run_producer(cluster.env, "enqueue", "--symbols-file", str(path), "--days", "1")
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stderr.startswith("error: --symbols-file") and says in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert cluster.redis.llen(cluster.keys.queue("binance")) == 0
    assert cluster.sim.stats()["requests"] == {}, "refused before asking the exchange"

    listed.write_text("# majors\nBTCUSDT\n\nethusdt\n")
    ok = run_producer(
        cluster.env, "enqueue", "--symbols-file", str(listed), "--days", "1", "--dry-run",
        "--verbose", "--data", "klines",
    )  # fmt: skip
    clean(ok)
    assert ok.returncode == 0 and "BTCUSDT" in ok.stdout and "ETHUSDT" in ok.stdout
