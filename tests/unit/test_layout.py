"""The dataset layout is a contract (DESIGN.md "The dataset"): paths must match exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.layout import shard_dir, shard_path, temp_glob
from storage.shards import Shard


@pytest.mark.parametrize(
    ("key", "relative"),
    [
        (
            "binance:spot:klines:1m:BTCUSDT:2024-01",
            "exchange=binance/market=spot/dtype=klines/symbol=BTCUSDT/interval=1m/2024-01.parquet",
        ),
        (
            "binance:spot:aggtrades:BTCUSDT:2024-01-15",
            "exchange=binance/market=spot/dtype=aggtrades/symbol=BTCUSDT/2024-01-15.parquet",
        ),
        (
            "binance:usdm:funding:BTCUSDT:2024-01",
            "exchange=binance/market=usdm/dtype=funding/symbol=BTCUSDT/2024-01.parquet",
        ),
    ],
    ids=["klines", "aggtrades", "funding"],
)
def test_shard_path_is_the_design_layout(tmp_path: Path, key: str, relative: str) -> None:
    shard = Shard.parse(key)
    data_dir = tmp_path / "data"
    assert shard_path(data_dir, shard) == data_dir / relative
    assert shard_dir(data_dir, shard) == (data_dir / relative).parent


def test_relative_data_dir_stays_relative() -> None:
    shard = Shard.parse("binance:usdm:funding:BTCUSDT:2024-01")
    assert shard_path(Path("./data"), shard).as_posix() == (
        "data/exchange=binance/market=usdm/dtype=funding/symbol=BTCUSDT/2024-01.parquet"
    )


def test_temp_files_are_hidden_and_never_match_the_dataset_glob() -> None:
    # Readers glob `**/*.parquet`; a writer's temp file must not be picked up by them.
    pattern = temp_glob(Shard.parse("binance:spot:klines:1m:BTCUSDT:2024-01"))
    assert pattern.startswith(".2024-01.parquet.")
    assert not pattern.endswith(".parquet")
