"""The S3 store against a real S3 HTTP API (moto's server on loopback): atomic commit,
abort, leftovers of a killed writer, reads, and the ledger's record of ETag and size."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
import redis

import storage
from storage.errors import InputError
from storage.keys import namespace_of
from storage.ledger import Ledger
from storage.parquet import ShardWriter
from storage.s3 import S3Options, S3Store
from storage.shards import Shard
from tests.unit.dataset_helpers import truth

DAY = Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-03-01")
MONTH = Shard("binance", "spot", "klines", "BTCUSDT", "2024-02", "1m")
META = {"source": "rest", "complete": "true"}
PART = 5 * 1024 * 1024  # S3's smallest part: a few thousand trades make several parts


def open_s3(env: dict[str, str], part_bytes: int = PART) -> S3Store:
    options = S3Options(
        env["AWS_ENDPOINT_URL"], env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], "us-east-1"
    )
    store = S3Store(env["DATA_DIR"], options)
    store.part_bytes = part_bytes
    return store


def big_day(rows: int = 600_000) -> pa.Table:
    """Trades that do not compress to nothing: random-looking prices and sizes."""
    start = DAY.start_ms
    ids = pa.array(range(1, rows + 1), pa.int64())
    noise = pd.Series(range(rows)).mul(2654435761).mod(1_000_003)
    frame = pd.DataFrame(
        {
            "agg_id": ids,
            "price": 42_000 + noise / 1000,
            "qty": noise / 997 + 0.001,  # full mantissas: plain-encoded columns stay big
            "first_id": ids,
            "last_id": ids,
            "time": pd.to_datetime(start + pd.Series(range(rows)) * 100, unit="ms", utc=True),
            "is_buyer_maker": noise % 2 == 0,
        }
    )
    return pa.Table.from_pandas(frame, preserve_index=False)


def uploads(s3_server, env) -> list[dict]:
    bucket = env["DATA_DIR"].split("/")[2]
    return s3_server.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])


def test_a_committed_shard_is_one_object_with_its_etag_and_reads_back(s3_server, s3_env):
    store = open_s3(s3_env)
    table = big_day()
    with ShardWriter(store, DAY, META) as writer:
        for batch in table.to_batches(max_chunksize=50_000):
            writer.write(batch)
        stored = writer.commit()
    head = s3_server.client().head_object(Bucket=store.bucket, Key=store.key(DAY))
    assert stored.etag == head["ETag"].strip('"') and stored.etag.endswith(("-2", "-3", "-4"))
    assert stored.bytes == head["ContentLength"] > PART, "a multipart upload of several parts"
    assert stored.path == f"{s3_env['DATA_DIR']}/{store.key(DAY).split('/', 1)[1]}"
    assert store.read(DAY).equals(table.cast(store.read(DAY).schema))
    described = store.describe(store.path(DAY))
    assert (described.shard, described.rows, described.etag) == (DAY, 600_000, stored.etag)
    assert uploads(s3_server, s3_env) == []


def test_a_failed_writer_leaves_no_object_and_no_incomplete_upload(s3_server, s3_env):
    store = open_s3(s3_env)
    table = big_day()
    with pytest.raises(RuntimeError), ShardWriter(store, DAY, META) as writer:
        writer.write(table)
        assert store.leftovers(), "parts were sent: an upload is in progress"
        raise RuntimeError("the exchange went away")
    assert not store.exists(DAY)
    assert uploads(s3_server, s3_env) == []


def test_a_killed_writers_upload_is_a_leftover_that_remove_leftovers_aborts(s3_server, s3_env):
    store = open_s3(s3_env)
    writer = ShardWriter(store, DAY, META)
    writer.write(big_day())  # parts sent, never committed nor aborted: the process died
    assert not store.exists(DAY), "nothing under the final key before commit"
    assert store.files() == []
    (left,) = store.leftovers()
    assert left.shard == DAY and "incomplete upload" in left.what
    assert store.remove_leftovers(MONTH) == 0, "another shard's upload is not touched"
    assert store.remove_leftovers(DAY) == 1
    assert uploads(s3_server, s3_env) == [] and store.leftovers() == []


def test_a_small_shard_is_one_put_and_the_ledger_records_etag_and_size(
    s3_server, s3_env, redis_url
):
    store = open_s3(s3_env)
    ledger = Ledger(redis.Redis.from_url(redis_url), namespace_of(s3_env["DATA_DIR"]))
    before = s3_server.requests()
    with ShardWriter(store, MONTH, META) as writer:
        writer.write(pa.Table.from_pandas(truth(MONTH), preserve_index=False))
        stored = writer.commit()
    sent = s3_server.requests() - before
    assert sent == {"PUT": 1}, "no multipart upload for a file under one part"
    ledger.mark_stored(MONTH, stored, complete=True, source="rest")
    info = ledger.files()[MONTH.key]
    assert (info["etag"], info["bytes"], info["rows"]) == (stored.etag, stored.bytes, 29 * 1440)

    ledger.client.flushall()
    rebuilt = ledger.rebuild_from_files(store)
    assert (rebuilt.done, rebuilt.restored) == (1, 1)
    assert ledger.files()[MONTH.key] == info, "the object's footer and ETag say the same"


def test_storage_read_and_polars_read_the_s3_dataset(s3_server, s3_env):
    store = open_s3(s3_env)
    for shard in (MONTH, DAY):
        with ShardWriter(store, shard, META) as writer:
            writer.write(pa.Table.from_pandas(truth(shard), preserve_index=False))
            writer.commit()
    frame = storage.read(
        "binance", "BTCUSDT", "klines", "2024-02-10", "2024-02-11", interval="1m", data_dir=store
    )
    assert len(frame) == 1440 and frame["open_time"].min() == pd.Timestamp("2024-02-10", tz="UTC")

    options = {
        "aws_endpoint_url": s3_env["AWS_ENDPOINT_URL"],
        "aws_access_key_id": s3_env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": s3_env["AWS_SECRET_ACCESS_KEY"],
        "aws_region": "us-east-1",
        "aws_allow_http": "true",
    }
    glob = f"{s3_env['DATA_DIR']}/exchange=binance/market=spot/dtype=klines/**/*.parquet"
    polars = pl.scan_parquet(glob, storage_options=options, hive_partitioning=True).collect()
    assert polars.height == 29 * 1440
    assert set(polars["symbol"].unique()) == {"BTCUSDT"} and set(polars["interval"]) == {"1m"}


def test_a_missing_bucket_is_refused_with_what_to_do(s3_env):
    env = {**s3_env, "DATA_DIR": "s3://no-such-bucket-here/data"}
    with pytest.raises(InputError, match=r"no such bucket; create the bucket"):
        open_s3(env).check()
