"""storage.read: exactly the rows of the range, from only the files of its periods."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import storage
from storage.errors import InputError
from storage.layout import shard_path
from storage.schemas import SCHEMAS
from storage.shards import Shard
from tests.unit.dataset_helpers import truth, write

MONTHS = [
    Shard("binance", "spot", "klines", "BTCUSDT", m, "1h")
    for m in ("2024-01", "2024-02", "2024-03")
]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    for shard in MONTHS:
        write(tmp_path, shard)
    return tmp_path


def expected(lo: str, hi: str) -> pd.DataFrame:
    frame = pd.concat([truth(s) for s in MONTHS], ignore_index=True)
    lo_ms, hi_ms = (pd.Timestamp(x, tz="UTC").value // 10**6 for x in (lo, hi))
    return frame[(frame["open_time"] >= lo_ms) & (frame["open_time"] < hi_ms)]


def test_a_range_across_two_files_returns_exactly_its_rows(data_dir: Path) -> None:
    got = storage.read(
        "binance",
        "BTCUSDT",
        "klines",
        "2024-01-20",
        "2024-02-10 06:00",
        interval="1h",
        data_dir=data_dir,
    )
    want = expected("2024-01-20", "2024-02-10 06:00")
    assert list(got.columns) == SCHEMAS["klines"].names
    assert str(got["open_time"].dtype) == "datetime64[ms, UTC]"
    assert (got["open_time"].astype("int64") == want["open_time"].to_numpy()).all()
    assert got["close"].tolist() == want["close"].tolist()


def test_files_outside_the_range_are_never_opened(data_dir: Path) -> None:
    march = shard_path(data_dir, MONTHS[2])
    march.write_bytes(b"not parquet")  # reading it would fail
    got = storage.read(
        "binance",
        "BTCUSDT",
        "klines",
        "2024-02-01",
        "2024-03-01",
        interval="1h",
        market="spot",
        data_dir=data_dir,
    )
    assert len(got) == 29 * 24


def test_the_market_is_found_and_missing_data_is_an_empty_frame(data_dir: Path) -> None:
    got = storage.read(
        "binance", "BTCUSDT", "klines", "2025-01-01", "2025-02-01", interval="1h", data_dir=data_dir
    )
    assert got.empty and list(got.columns) == SCHEMAS["klines"].names
    none = storage.read(
        "binance", "ETHUSDT", "funding", "2024-01-01", "2024-02-01", data_dir=data_dir
    )
    assert none.empty


def test_klines_without_an_interval_are_refused(data_dir: Path) -> None:
    with pytest.raises(InputError, match="interval"):
        storage.read("binance", "BTCUSDT", "klines", "2024-01-01", "2024-02-01", data_dir=data_dir)


def test_the_same_symbol_in_two_markets_asks_for_one(data_dir: Path) -> None:
    write(data_dir, Shard("binance", "usdm", "klines", "BTCUSDT", "2024-01", "1h"))
    with pytest.raises(InputError, match="market"):
        storage.read(
            "binance",
            "BTCUSDT",
            "klines",
            "2024-01-01",
            "2024-02-01",
            interval="1h",
            data_dir=data_dir,
        )
    spot = storage.read(
        "binance",
        "BTCUSDT",
        "klines",
        "2024-01-01",
        "2024-02-01",
        interval="1h",
        market="spot",
        data_dir=data_dir,
    )
    assert len(spot) == 31 * 24
