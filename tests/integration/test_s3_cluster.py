"""A real cluster whose DATA_DIR is s3://…, on moto's S3 server over HTTP: workers that share
no folder store the ground truth, every command works on the bucket, Redis can be lost, and
a worker killed mid-upload leaves nothing under the final key."""

from __future__ import annotations

import json

import polars as pl

import storage
from bench.cluster import run_producer, wait_for
from storage.shards import Shard
from tests.integration.test_end_to_end import FUNDING, KLINES, SHARDS, TRADES, enqueue
from tests.integration.truth import assert_matches_truth
from workers.settings import Settings


def test_workers_sharing_no_folder_store_ground_truth_in_s3_and_every_command_works(
    make_cluster, s3_env, tmp_path
):
    cluster = make_cluster(**s3_env)
    homes = [tmp_path / "host-a", tmp_path / "host-b"]
    for home in homes:
        home.mkdir()
    workers = [cluster.start_worker(h.name, cwd=h) for h in homes]
    for args in (KLINES, TRADES, FUNDING):
        enqueue(cluster, *args)

    store = Settings.from_env(cluster.env).store()
    for shard in SHARDS:
        assert_matches_truth(store, shard)
    assert all(w.tasks_received() > 0 for w in workers), "both hosts took part"
    assert [list(h.iterdir()) for h in homes] == [[], []], "nothing written where they run"
    assert not cluster.data_dir.exists()
    files = cluster.redis.hgetall(cluster.keys.files)
    info = json.loads(files[SHARDS[0].key.encode()])
    head = store.client.head_object(Bucket=store.bucket, Key=store.key(SHARDS[0]))
    assert (info["etag"], info["bytes"]) == (head["ETag"].strip('"'), head["ContentLength"])

    verify = run_producer(cluster.env, "verify", "--json")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert json.loads(verify.stdout)["files"] == len(SHARDS)
    status = json.loads(run_producer(cluster.env, "status", "--json").stdout)
    assert status["totals"]["done"] == len(SHARDS)
    coverage = run_producer(cluster.env, "coverage", "--out", str(tmp_path / "c.png"))
    assert coverage.returncode == 0 and f"cells {len(SHARDS)} done" in coverage.stdout
    retry = run_producer(cluster.env, "retry-failed")
    assert retry.returncode == 0 and "nothing to retry" in retry.stdout

    frame = storage.read(
        "binance", "BTCUSDT", "aggtrades", "2024-02-29 12:00", "2024-03-01 12:00", data_dir=store
    )
    assert frame["time"].is_monotonic_increasing and len(frame) > 0
    glob = f"{s3_env['DATA_DIR']}/exchange=binance/market=usdm/dtype=funding/*/*.parquet"
    options = {
        "aws_endpoint_url": s3_env["AWS_ENDPOINT_URL"],
        "aws_access_key_id": s3_env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": s3_env["AWS_SECRET_ACCESS_KEY"],
        "aws_region": s3_env["AWS_REGION"],
        "aws_allow_http": "true",
    }
    funding = pl.read_parquet(glob, storage_options=options, hive_partitioning=True)
    assert funding.height == 31 * 3 + 29 * 3


def test_reconcile_rebuilds_the_ledger_from_the_objects_after_redis_is_flushed(
    make_cluster, s3_env
):
    cluster = make_cluster(**s3_env)
    worker = cluster.start_worker("a", concurrency=2)
    for args in (KLINES, FUNDING):
        enqueue(cluster, *args)
    files_before = cluster.redis.hgetall(cluster.keys.files)
    done_before = cluster.redis.smembers(cluster.keys.done)

    cluster.redis.flushall()
    result = run_producer(cluster.env, "reconcile")
    assert result.returncode == 0, result.stderr
    assert f"from {s3_env['DATA_DIR']}: 4 done, 0 partial (4 restored)" in result.stdout
    assert cluster.redis.smembers(cluster.keys.done) == done_before
    assert cluster.redis.hgetall(cluster.keys.files) == files_before, (
        "rows, bytes and ETag from the objects"
    )

    cluster.sim.reset()
    received = worker.tasks_received()
    for args in (KLINES, FUNDING):
        out = enqueue(cluster, *args)
        assert " 0 sent" in out.stdout and "2 already done" in out.stdout, out.stdout
    # Only the listing probe per data type (its cache was in Redis too); no page of data.
    requests = cluster.sim.stats()["requests"]
    assert requests == {"/api/v3/klines": 1, "/fapi/v1/fundingRate": 1}, requests
    assert worker.tasks_received() == received, "no task ran on the re-run"


TRADES_PER_DAY = 800_000  # about 14 MB of Parquet: two parts of a multipart upload


def test_a_worker_killed_mid_upload_leaves_no_object_and_reconcile_clears_its_upload(
    make_cluster, s3_env, s3_server
):
    # Pages answer slowly enough that the upload is caught between its first part and commit.
    cluster = make_cluster("--latency-ms", "20", "--trades-per-day", str(TRADES_PER_DAY), **s3_env)
    store = Settings.from_env(cluster.env).store()
    day = Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-03-01")
    key = store.key(day)
    client = s3_server.client()
    doomed = cluster.start_worker("doomed")
    args = [
        "--source",
        "rest",
        "--data",
        "aggtrades",
        "--start",
        "2024-03-01",
        "--end",
        "2024-03-02",
    ]
    sent = run_producer(cluster.env, "enqueue", "--symbol", "BTCUSDT", *args)
    assert " 1 sent" in sent.stdout, sent.stdout + sent.stderr

    def a_part_uploaded() -> bool:
        uploads = client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])
        return any(
            client.list_parts(Bucket=store.bucket, Key=key, UploadId=u["UploadId"]).get("Parts")
            for u in uploads
        )

    wait_for(a_part_uploaded, 120, "the first part of the day's upload", poll_s=0.02)
    doomed.kill9()
    assert not store.exists(day), "nothing under the final key"
    assert len(client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", [])) == 1

    # Once the dead worker's lock has expired, reconcile aborts the upload it left.
    def reconciled() -> bool:
        out = run_producer(cluster.env, "reconcile").stdout
        return "1 leftovers of interrupted writes removed" in out

    wait_for(reconciled, 30, "reconcile to find the dead worker's upload", poll_s=0.5)
    assert client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []

    cluster.start_worker("rescuer")
    enqueue(cluster, *args, timeout_s=180)
    assert_matches_truth(store, day, trades_per_day=TRADES_PER_DAY)
    assert client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []
    again = run_producer(cluster.env, "reconcile")
    assert "0 leftovers" in again.stdout and "1 done" in again.stdout, again.stdout
