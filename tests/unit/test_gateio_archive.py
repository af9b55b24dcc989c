"""Gate.io's candle archive declarations and reading its gzip CSVs, without network.

The layout is what public code observes of download.gatedata.org (Gate documents none):
`/spot/candlesticks_{iv}/{YYYYMM}/{PAIR}-{YYYYMMDD|YYYYMM}.csv.gz`, rows
`timestamp(s),volume(quote),close,high,low,open`.
"""

from __future__ import annotations

import gzip
import itertools
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from storage.errors import DataError
from storage.schemas import SCHEMAS
from storage.shards import Shard, to_ms
from workers.archive import planned_files
from workers.archive_csv import read_batches
from workers.exchanges.gateio import GateIo
from workers.sourceplan import SourcePlan, plan_sources

BASE = "https://gatedata.test"
ADAPTER = GateIo({**GateIo.base_urls, "archive": BASE})
ARCHIVE = ADAPTER.archive
NOW = to_ms(datetime(2024, 3, 4, 12, tzinfo=UTC))


def klines(period: str, interval: str = "1m") -> Shard:
    return Shard("gateio", "spot", "klines", "BTCUSDT", period, interval)


def plan_of(shard: Shard, now_ms: int = NOW, mode: str = "archive") -> SourcePlan:
    return plan_sources(shard, ADAPTER.capabilities.market(shard.market), now_ms, mode)


def paths(shard: Shard) -> list[str]:
    return [f.url.removeprefix(BASE) for f in planned_files(ADAPTER, plan_of(shard))]


def test_1m_has_one_file_per_closed_day() -> None:
    january = paths(klines("2024-01"))
    assert len(january) == 31
    assert january[0] == "/spot/candlesticks_1m/202401/BTC_USDT-20240101.csv.gz"
    assert january[14] == "/spot/candlesticks_1m/202401/BTC_USDT-20240115.csv.gz"
    assert paths(klines("2024-03")) == [
        f"/spot/candlesticks_1m/202403/BTC_USDT-2024030{d}.csv.gz" for d in (1, 2, 3)
    ], "the open month: its closed days only"


@pytest.mark.parametrize("interval", ["5m", "1h", "4h", "1d"])
def test_other_archived_intervals_have_one_file_per_closed_month(interval: str) -> None:
    assert paths(klines("2024-02", interval)) == [
        f"/spot/candlesticks_{interval}/202402/BTC_USDT-202402.csv.gz"
    ]
    assert paths(klines("2024-03", interval)) == [], "a month that has not ended"


@pytest.mark.parametrize("interval", ["15m", "30m", "8h", "1w", "1M"])
def test_intervals_the_archive_lacks_have_no_files(interval: str) -> None:
    assert paths(klines("2023-01", interval)) == []


def test_trades_and_funding_are_not_in_the_candle_archive() -> None:
    assert paths(Shard("gateio", "spot", "aggtrades", "BTCUSDT", "2024-01-15")) == []
    assert paths(Shard("gateio", "futures", "funding", "BTCUSDT", "2024-01")) == []


def test_files_are_gzip_without_checksum_charged_to_the_archive_budget() -> None:
    files = planned_files(ADAPTER, plan_of(klines("2024-01")))
    assert all(f.packing == "gzip" and f.checksum_url is None for f in files)
    assert {f.group for f in files} == {"archive"} and "archive" in GateIo.rate_limits
    assert files[0].start_ms == klines("2024-01").start_ms
    assert all(a.end_ms == b.start_ms for a, b in itertools.pairwise(files))
    assert files[-1].end_ms == klines("2024-01").end_ms
    assert ARCHIVE.listing_url(klines("2024-01")) is None


def test_the_archive_lacks_base_volume() -> None:
    no_taker = ("trades", "taker_buy_base", "taker_buy_quote")
    assert plan_of(klines("2024-01")).archive_lacks == ("volume",), "read from the archive"
    assert plan_of(klines("2024-01"), mode="rest").archive_lacks == ()
    assert plan_of(klines("2024-01"), mode="rest").nulls == no_taker


# -- which source the plan chooses ---------------------------------------------------------
JUNE = to_ms(datetime(2024, 6, 20, 12, tzinfo=UTC))  # 1m reach: 2024-06-13 19:00


@pytest.mark.parametrize(
    ("shard", "label"),
    [
        (klines("2024-05"), "archive"),  # older than REST reaches: the archive, volume null
        (klines("2024-06"), "archive+rest"),  # closed days from the archive, today from REST
        (klines("2023-04", "1h"), "archive"),  # 1h reaches back 412 days: to 2023-05-04
        (klines("2024-05", "1h"), "rest"),  # REST can serve it whole: it keeps base volume
        (klines("2024-05", "15m"), "rest"),  # not archived (the plan warns: REST cannot)
    ],
)
def test_auto_prefers_rest_only_where_rest_can_serve_the_whole_shard(shard, label) -> None:
    assert plan_of(shard, JUNE, "auto").origin == label


def test_archive_and_rest_modes_keep_their_meaning() -> None:
    may_1h = klines("2024-05", "1h")
    assert len(planned_files(ADAPTER, plan_of(may_1h, JUNE, "archive"))) == 1
    assert planned_files(ADAPTER, plan_of(klines("2024-05"), JUNE, "rest")) == []


# -- reading --------------------------------------------------------------------------------
def write_gzip(path: Path, text: str) -> Path:
    path.write_bytes(gzip.compress(text.encode()))
    return path


ROWS = (
    "1704067200,1067412.50,42283.58,42298.62,42261.02,42270.11\n"
    "1704067260,98765.4321,42290.00,42300.00,42280.00,42283.58\n"
)


@pytest.mark.parametrize(
    "text",
    [
        ROWS,
        "timestamp,volume,close,high,low,open\n" + ROWS,
        ROWS.replace("\n", ",17.5\n"),  # a seventh column: ignored
        ROWS.replace("1704067200,", "1704067200000,").replace("1704067260,", "1704067260000,"),
    ],
    ids=["no header", "a header line", "extra column", "ms times"],
)
def test_rows_read_into_the_kline_schema(tmp_path: Path, text: str) -> None:
    shard = klines("2024-01")
    file = planned_files(ADAPTER, plan_of(shard))[0]
    path = write_gzip(tmp_path / file.name, text)
    table = pa.Table.from_batches(list(read_batches(path, ARCHIVE, shard, file)))
    assert table.schema == SCHEMAS["klines"]
    opens = pc.cast(table.column("open_time"), pa.int64()).to_pylist()
    assert opens == [1704067200000, 1704067260000]
    closes = pc.cast(table.column("close_time"), pa.int64()).to_pylist()
    assert closes == [1704067259999, 1704067319999], "next open − 1 ms"
    assert table.column("open").to_pylist() == [42270.11, 42283.58]
    assert table.column("close").to_pylist() == [42283.58, 42290.0]
    assert table.column("high").to_pylist() == [42298.62, 42300.0]
    assert table.column("low").to_pylist() == [42261.02, 42280.0]
    assert table.column("quote_volume").to_pylist() == [1067412.5, 98765.4321]
    for name in ("volume", "trades", "taker_buy_base", "taker_buy_quote"):
        assert table.column(name).null_count == 2, name


def test_rows_outside_the_files_day_are_dropped(tmp_path: Path) -> None:
    shard = klines("2024-01")
    file = planned_files(ADAPTER, plan_of(shard))[0]
    text = ROWS + "1704153600,1.0,1.0,1.0,1.0,1.0\n"  # the next day's first candle
    table = pa.Table.from_batches(
        list(read_batches(write_gzip(tmp_path / file.name, text), ARCHIVE, shard, file))
    )
    assert table.num_rows == 2


def test_a_row_of_too_few_columns_is_refused(tmp_path: Path) -> None:
    shard = klines("2024-01")
    with pytest.raises(DataError, match="6 columns"):
        ARCHIVE.layout(shard, b"1704067200,1067412.50,42283.58\n")
