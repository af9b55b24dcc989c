"""Binance's archive declarations and the shared CSV reader, without network."""

from __future__ import annotations

import itertools
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from storage.local import LocalStore
from storage.schemas import SCHEMAS
from storage.shards import Shard, to_ms
from workers.archive import planned_files
from workers.archive_csv import read_batches
from workers.exchanges.binance import Binance
from workers.exchanges.binance_archive import BinanceArchive
from workers.sourceplan import SourcePlan, plan_sources

BASE = "https://archive.test"
ARCHIVE = BinanceArchive(BASE)
NOW = to_ms(datetime(2024, 3, 4, 12, tzinfo=UTC))


ADAPTER = Binance({**Binance.base_urls, "archive": BASE})


def spot_klines(period: str, interval: str = "1m") -> Shard:
    return Shard("binance", "spot", "klines", "BTCUSDT", period, interval)


def plan_of(shard: Shard, mode: str = "auto", now_ms: int = NOW) -> SourcePlan:
    return plan_sources(shard, ADAPTER.capabilities.market(shard.market), now_ms, mode)


FILES = {
    "closed month": (
        spot_klines("2024-01"),
        ["/data/spot/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2024-01.zip"],
    ),
    "1M is 1mo": (
        spot_klines("2024-01", "1M"),
        ["/data/spot/monthly/klines/BTCUSDT/1mo/BTCUSDT-1mo-2024-01.zip"],
    ),
    "futures": (
        Shard("binance", "usdm", "klines", "BTCUSDT", "2024-02", "1m"),
        ["/data/futures/um/monthly/klines/BTCUSDT/1m/BTCUSDT-1m-2024-02.zip"],
    ),
    "open month, closed days": (
        spot_klines("2024-03"),
        [f"/data/spot/daily/klines/BTCUSDT/1m/BTCUSDT-1m-2024-03-0{d}.zip" for d in (1, 2, 3)],
    ),
    "open month, 1h: REST is cheaper": (spot_klines("2024-03", "1h"), []),
    "closed day of trades": (
        Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-03-03"),
        ["/data/spot/daily/aggTrades/BTCUSDT/BTCUSDT-aggTrades-2024-03-03.zip"],
    ),
    "today's trades": (Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-03-04"), []),
    "closed funding month": (
        Shard("binance", "usdm", "funding", "BTCUSDT", "2024-02"),
        ["/data/futures/um/monthly/fundingRate/BTCUSDT/BTCUSDT-fundingRate-2024-02.zip"],
    ),
    "open funding month": (Shard("binance", "usdm", "funding", "BTCUSDT", "2024-03"), []),
}


@pytest.mark.parametrize(("shard", "paths"), FILES.values(), ids=FILES)
def test_archive_files_cover_only_closed_periods(shard: Shard, paths: list[str]) -> None:
    files = planned_files(ADAPTER, plan_of(shard, "archive"))
    assert [f.url for f in files] == [BASE + p for p in paths]
    if files:
        assert files[0].start_ms == shard.start_ms
        assert all(a.end_ms == b.start_ms for a, b in itertools.pairwise(files))
        assert files[-1].end_ms <= NOW


def test_auto_leaves_funding_to_rest_because_the_archive_has_no_mark_price() -> None:
    funding = Shard("binance", "usdm", "funding", "BTCUSDT", "2024-02")
    assert plan_of(funding).files == () and plan_of(funding).origin == "rest"
    assert len(planned_files(ADAPTER, plan_of(funding, "archive"))) == 1
    assert plan_of(funding, "archive").archive_lacks == ("mark_price",)
    assert planned_files(ADAPTER, plan_of(spot_klines("2024-01"), "rest")) == []


def test_the_origin_says_what_a_shard_is_read_from() -> None:
    assert plan_of(spot_klines("2024-03")).origin == "archive+rest"
    assert plan_of(spot_klines("2024-01")).origin == "archive"
    assert plan_of(spot_klines("2024-01"), "rest").origin == "rest"


@pytest.mark.parametrize(
    ("line", "header"),
    [
        (b"open_time,open,high,low,close,volume,close_time,quote_volume,count\n", True),
        (b"agg_trade_id,price,quantity,first_trade_id\n", True),
        (b"1704067200000,42283.58000000,42298.62000000\n", False),
        (b"3338893,42283.58000000,0.00590000,3774016,3774016,1704067200009,False,True\n", False),
    ],
)
def test_header_is_detected_per_file(line: bytes, header: bool) -> None:
    assert ARCHIVE.has_header(line) is header


def test_microsecond_times_become_milliseconds_by_digit_count() -> None:
    shard = spot_klines("2025-01")
    raw = {name: [1.0, 2.0] for name in SCHEMAS["klines"].names}
    raw["open_time"] = [1735689600000000, 1735689660000]
    raw["close_time"] = [1735689659999999, 1735689719999]
    raw["trades"] = [1, 2]
    types = {
        n: pa.int64() if n in ("open_time", "close_time", "trades") else pa.float64() for n in raw
    }
    batch = ARCHIVE.to_batch(pa.RecordBatch.from_pydict(raw, schema=pa.schema(types)), shard)
    assert batch.schema == SCHEMAS["klines"]
    assert pc.cast(batch.column("open_time"), pa.int64()).to_pylist() == [
        1735689600000,
        1735689660000,
    ]
    assert pc.cast(batch.column("close_time"), pa.int64()).to_pylist() == [
        1735689659999,
        1735689719999,
    ]


def write_zip(path: Path, text: str) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(path.stem + ".csv", text)
    return path


SPOT_TRADES = (
    "3338893,42283.58000000,0.00590000,3774016,3774016,1735689600009123,False,True\n"
    "3338894,42283.59000000,0.01000000,3774017,3774018,1735689600010456,True,True\n"
)
USDM_TRADES = (
    "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n"
    "100,42283.5,0.005,200,200,1704153600015,false\n"
    "101,42284.1,0.250,201,203,1704153600020,true\n"
)


@pytest.mark.parametrize(
    ("market", "text", "times"),
    [
        ("spot", SPOT_TRADES, [1735689600009, 1735689600010]),
        ("usdm", USDM_TRADES, [1704153600015, 1704153600020]),
    ],
    ids=["spot: no header, True/False, µs", "usdm: header, true/false, ms"],
)
def test_zip_member_streams_into_the_schema(tmp_path: Path, market, text, times) -> None:
    shard = Shard("binance", market, "aggtrades", "BTCUSDT", "2025-01-01")
    path = write_zip(tmp_path / "BTCUSDT-aggTrades-2025-01-01.zip", text)
    table = pa.Table.from_batches(list(read_batches(path, ARCHIVE, shard)))
    assert table.schema == SCHEMAS["aggtrades"]
    assert pc.cast(table.column("time"), pa.int64()).to_pylist() == times
    assert table.column("is_buyer_maker").to_pylist() == [False, True]
    assert table.column("qty").to_pylist()[0] == pytest.approx(
        0.0059 if market == "spot" else 0.005
    )


def test_an_empty_csv_yields_no_rows(tmp_path: Path) -> None:
    shard = Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-01-01")
    path = write_zip(tmp_path / "BTCUSDT-aggTrades-2024-01-01.zip", "")
    assert list(read_batches(path, ARCHIVE, shard)) == []


def test_archive_downloads_are_charged_to_a_declared_budget() -> None:
    adapter = Binance(Binance.base_urls)
    assert adapter.archive is not None
    plan = plan_sources(spot_klines("2024-03"), adapter.capabilities.market("spot"), NOW, "auto")
    files = planned_files(adapter, plan)
    assert len(files) == 3
    for file in files:
        assert file.group in Binance.rate_limits and file.weight == 1
        assert file.url.startswith(Binance.base_urls["archive"] + "/data/spot/daily/klines/")


def test_archive_checksums_survive_a_ledger_rebuilt_from_the_files(tmp_path: Path, ledger) -> None:
    from storage.parquet import ShardWriter

    shard = Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-01-01")
    sha = "ab" * 32
    meta = {"source": "archive", "complete": "true", "archive_sha256": sha}
    with ShardWriter(tmp_path, shard, meta) as writer:
        stored = writer.commit()
    ledger.mark_stored(shard, stored, complete=True, source="archive", archive_sha256=sha)
    before = ledger.files()
    ledger.client.flushall()
    ledger.rebuild_from_files(LocalStore(tmp_path))
    assert ledger.files() == before
    assert before[shard.key]["archive_sha256"] == sha
