"""Which store DATA_DIR names, the layout's inverse for leftovers, and reconcile's cleanup."""

from __future__ import annotations

from pathlib import Path

import pytest

from producer.reconcile import reconcile
from storage.errors import ConfigError
from storage.layout import relative_path, shard_at
from storage.ledger import Ledger
from storage.local import LocalStore
from storage.parquet import ShardWriter
from storage.s3 import S3Store
from storage.shards import Shard
from storage.stores import open_store
from tests.unit.dataset_helpers import write
from workers.settings import Settings

DAY = Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-03-01")
MONTH = Shard("binance", "spot", "klines", "BTCUSDT", "2024-02", "1m")


@pytest.mark.parametrize(
    ("data_dir", "kind", "root"),
    [
        ("data", LocalStore, "data"),
        ("/srv/data/", LocalStore, "/srv/data"),
        ("file:///srv/data", LocalStore, "/srv/data"),
        ("s3://bucket/crypto/data/", S3Store, "bucket/crypto/data"),
        ("s3://bucket", S3Store, "bucket"),
    ],
)
def test_data_dir_names_a_local_folder_or_a_bucket_prefix(data_dir, kind, root) -> None:
    store = open_store(data_dir)
    assert isinstance(store, kind) and store.root == root
    assert store.url == data_dir.removeprefix("file://")


@pytest.mark.parametrize("data_dir", ["gs://bucket/data", "S4://x", "https://host/data", ""])
def test_an_unsupported_data_dir_is_refused_never_a_folder(data_dir: str) -> None:
    with pytest.raises(ConfigError, match="DATA_DIR"):
        Settings.from_env({"DATA_DIR": data_dir or " "})


def test_s3_settings_come_from_the_standard_variables() -> None:
    env = {
        "DATA_DIR": "s3://b/p",
        "AWS_ENDPOINT_URL": "http://minio:9000",
        "AWS_ACCESS_KEY_ID": "id",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_REGION": "eu-west-1",
    }
    settings = Settings.from_env(env)
    store = settings.store()
    assert isinstance(store, S3Store) and (store.bucket, store.prefix) == ("b", "p")
    assert (settings.s3.endpoint_url, settings.s3.region) == ("http://minio:9000", "eu-west-1")
    assert "secret" not in repr(settings), "the secret never reaches a log line"
    assert store.key(DAY) == "p/" + relative_path(DAY)


@pytest.mark.parametrize("shard", [DAY, MONTH])
def test_shard_at_is_the_exact_inverse_of_relative_path(shard: Shard) -> None:
    assert shard_at(relative_path(shard)) == shard


@pytest.mark.parametrize(
    "relative",
    [
        "exchange=binance/market=spot/dtype=aggtrades/symbol=BTCUSDT/2024-03-01.csv",
        "exchange=binance/market=spot/dtype=aggtrades/symbol=btcusdt/2024-03-01.parquet",
        "exchange=binance/market=spot/dtype=klines/symbol=BTCUSDT/2024-02.parquet",
        "market=spot/exchange=binance/dtype=aggtrades/symbol=BTCUSDT/2024-03-01.parquet",
        "x/exchange=binance/market=spot/dtype=aggtrades/symbol=BTCUSDT/2024-03-01.parquet",
    ],
)
def test_shard_at_refuses_anything_but_an_exact_layout_path(relative: str) -> None:
    assert shard_at(relative) is None


def test_reconcile_removes_a_dead_writers_temp_but_not_one_a_live_worker_holds(
    tmp_path: Path, ledger: Ledger
) -> None:
    store = LocalStore(tmp_path)
    write(tmp_path, MONTH)
    dead = ShardWriter(store, DAY, {"source": "rest"})  # never committed: its process died
    live = ShardWriter(store, MONTH, {"source": "rest"})  # a worker rewriting the month now
    assert ledger.lock(MONTH, "live-worker", 60_000)
    assert sorted(left.shard.key for left in store.leftovers()) == sorted([DAY.key, MONTH.key])

    done = reconcile(ledger, store)

    assert (done.removed, done.busy) == (1, [MONTH.key])
    assert [left.shard for left in store.leftovers()] == [MONTH]
    assert (done.rebuilt.done, ledger.is_done([MONTH, DAY])) == (1, [True, False])
    live.abort()
    dead.abort()
