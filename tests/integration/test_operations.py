"""Operating a dataset: reconcile after Redis is lost, verify, coverage, and the live status."""

from __future__ import annotations

import json
import signal

import pandas as pd
from PIL import Image

from bench.cluster import BIN, Process, run_producer
from producer.coverage import COLOURS
from storage.layout import shard_path
from storage.shards import Shard
from tests.integration.test_end_to_end import FUNDING, KLINES, enqueue
from tests.unit.dataset_helpers import tamper, write


def test_reconcile_after_redis_is_flushed_restores_the_ledger_and_a_rerun_fetches_nothing(
    make_cluster,
):
    cluster = make_cluster()
    worker = cluster.start_worker("a", concurrency=2)
    for args in (KLINES, FUNDING):
        enqueue(cluster, *args)
    files_before = cluster.redis.hgetall(cluster.keys.files)
    done_before = cluster.redis.smembers(cluster.keys.done)
    assert len(done_before) == 4

    cluster.redis.flushall()  # Redis lost everything: ledger, queue, caches
    result = run_producer(cluster.env, "reconcile")
    assert result.returncode == 0, result.stderr
    assert "4 done, 0 partial (4 restored)" in result.stdout
    assert cluster.redis.smembers(cluster.keys.done) == done_before
    assert cluster.redis.hgetall(cluster.keys.files) == files_before

    cluster.sim.reset()
    received = worker.tasks_received()
    for args in (KLINES, FUNDING):
        out = enqueue(cluster, *args)
        assert " 0 sent" in out.stdout and "2 already done" in out.stdout, out.stdout
    stats = cluster.sim.stats()
    # Redis also lost the cache of each symbol's first data, so the producer asks the
    # exchange once per data type whether the symbol exists; no page of data is fetched.
    assert stats["requests"] == {"/api/v3/klines": 1, "/fapi/v1/fundingRate": 1}, stats
    assert worker.tasks_received() == received, "no task ran on the re-run"

    verify = run_producer(cluster.env, "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "no problems" in verify.stdout


HOURS = [Shard("binance", "spot", "klines", "BTCUSDT", f"2024-0{m}", "1h") for m in (1, 2, 3, 4)]
DAYS = [Shard("binance", "spot", "aggtrades", "BTCUSDT", f"2024-03-0{d}") for d in (1, 2)]


def test_verify_finds_a_planted_gap_duplicate_and_impossible_candle_and_passes_clean_data(
    tmp_path, redis_url
):
    data_dir = tmp_path / "data"
    for shard in (*HOURS, *DAYS):
        write(data_dir, shard)
    env = {"REDIS_URL": redis_url, "DATA_DIR": str(data_dir), "PATH": str(BIN)}
    assert run_producer(env, "reconcile").returncode == 0
    clean = run_producer(env, "verify", "--json")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    doc = json.loads(clean.stdout)
    assert (doc["ok"], doc["files"], doc["problems"]) == (True, 6, 0)

    tamper(shard_path(data_dir, HOURS[0]), lambda f: f.drop(index=range(24, 30)))
    tamper(shard_path(data_dir, HOURS[1]), lambda f: pd.concat([f, f.iloc[[100]]]).sort_index())

    def impossible(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[200, "low"] = frame.loc[200, "high"] + 50.0
        return frame

    tamper(shard_path(data_dir, HOURS[2]), impossible)
    broken = run_producer(env, "verify", "--json")
    assert broken.returncode == 1, broken.stdout + broken.stderr
    doc = json.loads(broken.stdout)
    problems = {(f["kind"], f["shard"]) for f in doc["findings"] if f["problem"]}
    assert ("gap", HOURS[0].key) in problems
    assert ("duplicate", HOURS[1].key) in problems
    assert ("bad_candle", HOURS[2].key) in problems
    assert all(shard != HOURS[3].key for _, shard in problems), "the clean month stays clean"
    # The ledger counted the rows the writer wrote, so the tampered files disagree with it.
    assert {k for k, s in problems if s == HOURS[0].key} == {"gap", "rows_mismatch"}

    only_april = run_producer(env, "verify", "--symbol", "BTCUSDT", "--data", "aggtrades")
    assert only_april.returncode == 0, only_april.stdout
    text = run_producer(env, "verify").stdout
    assert "gap" in text and "2024-01-02 00:00:00 .. 2024-01-02 06:00:00" in text


def test_coverage_and_verify_show_a_failed_shard_of_a_real_job(make_cluster, tmp_path):
    cluster = make_cluster(SHARDFETCH_SHARD_ATTEMPTS="1", SHARDFETCH_PAGE_ATTEMPTS="1")
    cluster.start_worker("a", concurrency=2)
    enqueue(cluster, *KLINES, timeout_s=120)
    cluster.sim.stop()  # the exchange goes away; the next month cannot be fetched
    march = ["--data", "klines", "--interval", "1m", "--start", "2024-03-01", "--end", "2024-04-01"]
    failed = run_producer(cluster.env, "enqueue", "--symbol", "BTCUSDT", *march, "--wait")
    assert failed.returncode == 1 and "failed" in failed.stdout, failed.stdout + failed.stderr

    out = tmp_path / "coverage.png"
    result = run_producer(cluster.env, "coverage", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "cells 2 done, 1 failed" in result.stdout
    colours = {c for _, c in Image.open(out).convert("RGB").getcolors(1 << 20)}
    assert COLOURS["failed"] in colours and COLOURS["done"] in colours

    verify = run_producer(cluster.env, "verify", "--json")
    assert verify.returncode == 1
    kinds = {(f["kind"], f["shard"]) for f in json.loads(verify.stdout)["findings"]}
    assert ("failed", "binance:spot:klines:1m:BTCUSDT:2024-03") in kinds
    assert not [k for k in kinds if k[0] in ("gap", "duplicate", "bad_candle")]


def test_status_watch_draws_live_progress_and_exits_cleanly_on_ctrl_c(make_cluster, tmp_path):
    cluster = make_cluster()
    sent = run_producer(cluster.env, "enqueue", "--symbol", "BTCUSDT", *KLINES)
    assert " 2 sent" in sent.stdout, sent.stdout + sent.stderr
    env = {**cluster.env, "TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "160"}
    watcher = Process([str(BIN / "producer"), "status", "--watch"], tmp_path / "watch.log", env)
    watcher.wait_output("queue depth  binance: 2", 30)
    output = watcher.output()
    assert "klines 1m" in output and "0/2" in output and "limiter binance spot" in output
    watcher.proc.send_signal(signal.SIGINT)
    assert watcher.proc.wait(timeout=20) == 0
    watcher.stop()
    assert "stopped watching" in watcher.output() and "Traceback" not in watcher.output()


def test_enqueue_wait_can_be_interrupted_and_leaves_the_shards_queued(make_cluster, tmp_path):
    cluster = make_cluster()
    args = [str(BIN / "producer"), "enqueue", "--symbol", "BTCUSDT", *KLINES, "--wait"]
    waiter = Process(args, tmp_path / "wait.log", cluster.env)
    waiter.wait_output("2 sent", 30)
    waiter.proc.send_signal(signal.SIGINT)
    assert waiter.proc.wait(timeout=20) == 130
    waiter.stop()
    assert "stopped waiting" in waiter.output() and "Traceback" not in waiter.output()
    assert cluster.redis.llen(cluster.keys.queue("binance")) == 2, "nothing was taken off the queue"
