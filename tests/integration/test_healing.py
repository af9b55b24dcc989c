"""A cluster that heals itself: a dead machine, a SIGTERM, a parser that raises, a full or
read-only disk, and a Redis that crashes and stays away, each met by real worker processes
on a real redis-server while the operator's `enqueue --wait` just keeps waiting.

Each test ends with every stored row equal to the simulator's ground truth (so no row is
missing or duplicated) and no temp file left.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bench.cluster import BIN, Process, RedisServer, run_producer, wait_for
from storage.shards import Shard
from tests.integration.truth import assert_matches_truth

MONTHS = [Shard("binance", "spot", "klines", "BTCUSDT", f"2024-0{m}", "1m") for m in range(1, 7)]
JOB = ["--source", "rest", "--data", "klines", "--interval", "1m"]
SIX_MONTHS = [*JOB, "--start", "2024-01-01", "--end", "2024-07-01"]
TWO_MONTHS = [*JOB, "--start", "2024-01-01", "--end", "2024-03-01"]
# Slow enough pages (100 ms, 4 at a time: about a second a month) to strike mid-shard.
SLOW = ("--latency-ms", "100")
SLOW_ENV = {"SHARDFETCH_PAGE_CONCURRENCY": "4"}


def waiting(cluster, tmp_path: Path, args: list[str], name: str = "enqueue") -> Process:
    """`producer enqueue ... --wait`, left running as an operator leaves it."""
    command = [str(BIN / "producer"), "enqueue", "--symbol", "BTCUSDT", *args]
    return Process([*command, "--wait", "--timeout", "150"], tmp_path / f"{name}.log", cluster.env)


def finished(job: Process, timeout_s: float = 120) -> int:
    try:
        return job.proc.wait(timeout=timeout_s)
    finally:
        job.stop()


def status(cluster) -> dict:
    result = run_producer(cluster.env, "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def running_held_by(cluster, prefix: str) -> list[str]:
    """Shards a worker whose name starts with `prefix` is fetching now."""
    k = cluster.keys
    held = {key.decode(): h.decode() for key, h in cluster.redis.hgetall(k.held).items()}
    running = [key.decode() for key in cluster.redis.smembers(k.running)]
    return [key for key in running if held.get(key, "").startswith(prefix)]


def assert_stored_once(data_dir: Path, shards: list[Shard]) -> None:
    for shard in shards:
        assert_matches_truth(data_dir, shard)
    assert not list(data_dir.rglob("*.tmp")), "no temp file left"
    files = sorted(p.name for p in data_dir.rglob("*.parquet"))
    assert files == sorted(f"{s.period}.parquet" for s in shards), "one file per shard"


def pages(shard: Shard) -> int:
    return math.ceil((shard.end_ms - shard.start_ms) / 60_000 / 1000)


def test_a_dead_machines_shards_are_finished_by_the_others_while_enqueue_waits(
    make_cluster, tmp_path
):
    ttl_s = 3.0
    cluster = make_cluster(
        *SLOW,
        **SLOW_ENV,
        SHARDFETCH_LOCK_TTL_S=str(ttl_s),
        # The dead worker's messages come back soon after the job, as they would hours later.
        SHARDFETCH_VISIBILITY_TIMEOUT_S="8",
    )
    doomed = cluster.start_worker("doomed", concurrency=2)
    other = cluster.start_worker("other", concurrency=2)
    job = waiting(cluster, tmp_path, SIX_MONTHS)
    wait_for(lambda: running_held_by(cluster, "doomed"), 60, "the doomed worker mid-shard")

    killed_at = time.monotonic()
    doomed.kill9()  # the machine is gone: no process of it gets to clean up
    assert finished(job) == 0, job.output()
    seconds = time.monotonic() - killed_at

    assert seconds < 3 * ttl_s, f"the job completed {seconds:.1f}s after the kill"
    assert_stored_once(cluster.data_dir, MONTHS)
    doc = status(cluster)
    assert doc["totals"]["done"] == 6 and doc["dataset"]["resent"] >= 1, doc
    healers = job.output() + other.output()
    assert re.search(r"re-sent: its worker doomed\S* is gone", healers), "the healer said why"

    # The dead worker's own messages reappear after the visibility timeout: each finds its
    # shard done and is acknowledged without a request to the exchange.
    requests = cluster.sim.stats()["requests_total"]
    wait_for(lambda: "'note': 'already done'" in other.output(), 60, "a late duplicate")
    assert cluster.sim.stats()["requests_total"] == requests, "nothing fetched twice"
    k = cluster.keys
    wait_for(lambda: not cluster.redis.hlen(k.queued), 30, "nothing left queued")
    assert not cluster.redis.hlen(k.held) and not cluster.redis.scard(k.running)


@pytest.mark.parametrize("whom", ["main process", "process group"])
def test_sigterm_mid_shard_finishes_or_hands_back_at_once(make_cluster, tmp_path, whom):
    ttl_s = 60.0  # waiting for a lock or a heartbeat to expire would blow the bound below
    # Pages slow enough (250 ms, 2 at a time: about 6 s a month) that the signal lands
    # mid-fetch even on a loaded machine, where noticing the shard takes a while.
    cluster = make_cluster(
        "--latency-ms", "250", SHARDFETCH_PAGE_CONCURRENCY="2", SHARDFETCH_LOCK_TTL_S=str(ttl_s)
    )
    stopping = cluster.start_worker("stopping", concurrency=1)
    cluster.start_worker("other", concurrency=1)
    job = waiting(cluster, tmp_path, TWO_MONTHS)
    (mid,) = wait_for(lambda: running_held_by(cluster, "stopping"), 60, "a shard mid-fetch")

    signalled_at = time.monotonic()
    if whom == "main process":
        os.kill(stopping.proc.pid, signal.SIGTERM)  # a deploy: Celery's warm shutdown
    else:
        os.killpg(stopping.proc.pid, signal.SIGTERM)  # every process of the worker
    assert finished(job) == 0, job.output()
    seconds = time.monotonic() - signalled_at
    assert stopping.proc.wait(timeout=30) == 0, stopping.output()[-3000:]

    assert seconds < ttl_s / 2, f"completed {seconds:.1f}s after SIGTERM: a timeout was awaited"
    log = stopping.output()
    finished_it = f"{mid}: done from rest" in log
    handed_back = f"{mid}: the worker is stopping: the shard goes back to the queue" in log
    if whom == "main process":
        assert finished_it, "the shard in hand was finished"
    else:
        # Mid-fetch it goes back; past its last page (a loaded machine) it is finished.
        assert handed_back or finished_it, log[-3000:]
    assert_stored_once(cluster.data_dir, MONTHS[:2])


def test_an_answer_of_a_new_shape_fails_the_shard_at_once_and_retry_failed_completes_it(
    make_cluster,
):
    cluster = make_cluster()
    worker = cluster.start_worker("a", concurrency=2)
    # The symbol's listing is asked before the exchange starts answering in a new shape.
    assert run_producer(cluster.env, "enqueue", "--symbol", "BTCUSDT", *TWO_MONTHS, "--dry-run")
    cluster.sim.faults(poison=1.0)  # a price comes as an integer too large for 64 bits

    failed = run_producer(
        cluster.env, "enqueue", "--symbol", "BTCUSDT", *TWO_MONTHS, "--wait", "--timeout", "60"
    )
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "2 failed" in failed.stdout and "producer retry-failed" in failed.stdout
    reasons = [f["reason"] for f in status(cluster)["failures"]]
    assert len(reasons) == 2, reasons
    for reason in reasons:
        # Nobody foresaw it (the parser raised): "<ExceptionType>: <message>", its traceback in
        # the worker's log; or the adapter names the shape it did not expect.
        unforeseen = re.match(r"[A-Z]\w*(Error|Exception)\w*: ", reason)
        assert unforeseen or "unexpected shape" in reason, reason
        assert not unforeseen or "Traceback" in worker.output()
        assert "gave up" not in reason, "not retried: the same answer would fail again"
    assert "Traceback" not in failed.stdout + failed.stderr
    assert not list(cluster.data_dir.rglob("*.tmp"))

    cluster.sim.faults(poison=0.0)
    retried = run_producer(cluster.env, "retry-failed", "--wait", "--timeout", "60")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert_stored_once(cluster.data_dir, MONTHS[:2])


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 16 MB tmpfs: a file system that really fills up (needs root, as CI has)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip()}); needs root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_a_full_or_read_only_disk_fails_shards_with_the_reason_and_retry_failed_completes_them(
    make_cluster, small_disk, fault
):
    data_dir = small_disk / "data"
    data_dir.mkdir()
    cluster = make_cluster(DATA_DIR=str(data_dir), SHARDFETCH_SHARD_ATTEMPTS="2")
    cluster.start_worker("a", concurrency=2)
    filler = small_disk / "filler"
    if fault == "full":
        free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
        filler.write_bytes(b"\0" * (free - 64 * 1024))  # 64 KB left: less than a month
        expected = "No space left on device"
    else:
        subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
        expected = "Read-only file system"

    failed = run_producer(
        cluster.env, "enqueue", "--symbol", "BTCUSDT", *TWO_MONTHS, "--wait", "--timeout", "60"
    )
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "producer retry-failed" in failed.stdout
    reasons = [f["reason"] for f in status(cluster)["failures"]]
    assert len(reasons) == 2 and all(expected in r for r in reasons), reasons
    assert all("gave up" not in r for r in reasons), "failed at once, not retried"
    assert not list(data_dir.rglob("*.tmp")) and not list(data_dir.rglob("*.parquet"))

    if fault == "full":
        filler.unlink()  # space is back
    else:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    retried = run_producer(cluster.env, "retry-failed", "--wait", "--timeout", "60")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert_stored_once(data_dir, MONTHS[:2])


SECRET = "s3cret-redis-pa55"


def test_redis_crashing_and_gone_for_30s_mid_job_comes_back_from_its_aof_and_the_job_completes(
    make_cluster, tmp_path
):
    (tmp_path / "redis").mkdir()
    server = RedisServer(tmp_path / "redis", aof=True, password=SECRET)
    try:
        cluster = make_cluster(*SLOW, **SLOW_ENV, redis=server.url, SHARDFETCH_LOCK_TTL_S="10")
        cluster.start_worker("a", concurrency=2)
        cluster.start_worker("b", concurrency=2)
        job = waiting(cluster, tmp_path, SIX_MONTHS)
        k = cluster.keys

        def mid_job() -> bool:
            return cluster.redis.scard(k.done) >= 1 and cluster.redis.scard(k.running) >= 1

        wait_for(mid_job, 60, "some shards done and some mid-fetch")
        server.kill9()  # a crash: the last second of writes may be lost (appendfsync everysec)
        outage_ends = time.monotonic() + 30
        while time.monotonic() < outage_ends:  # the fault itself: Redis stays away 30 s
            assert job.proc.poll() is None, f"enqueue --wait gave up:\n{job.output()}"
            assert all(w.proc.poll() is None for w in cluster.workers), "a worker gave up"
            time.sleep(1)
        server.start()  # same port, same AOF

        assert finished(job, 150) == 0, job.output()
        assert "waiting for it" in job.output(), "the producer said Redis was away"
        assert_stored_once(cluster.data_dir, MONTHS)
        doc = status(cluster)
        assert (doc["totals"]["done"], doc["totals"]["planned"], doc["failures"]) == (6, 6, [])
        requests = cluster.sim.stats()["requests"]["/api/v3/klines"]
        assert requests == sum(pages(m) for m in MONTHS) + 1, "each page once, one listing probe"
        logs = [job.output(), *(w.output() for w in cluster.workers)]
        assert not [log for log in logs if SECRET in log], "the Redis password is never shown"
    finally:
        server.stop()
