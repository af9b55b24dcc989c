"""Bybit's spot trade archive declarations: the directory page, file choice and reading its
gzip CSVs, without network.

The layout is what public code observes of public.bybit.com (Bybit documents none):
`/spot/{SYMBOL}/` lists `{SYMBOL}_{YYYY-MM-DD}.csv.gz` (some sources: monthly
`{SYMBOL}_{YYYY-MM}.csv.gz`), each with the header `id,timestamp,price,volume,side[,rpi]`.
"""

from __future__ import annotations

import gzip
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
from workers.exchanges.base import ArchiveFile
from workers.exchanges.bybit import Bybit
from workers.exchanges.bybit_archive import listed_names
from workers.sourceplan import plan_sources

BASE = "https://public.bybit.test"
ADAPTER = Bybit({**Bybit.base_urls, "archive": BASE})
ARCHIVE = ADAPTER.archive
NOW = to_ms(datetime(2024, 3, 20, 12, tzinfo=UTC))
DAY = Shard("bybit", "spot", "aggtrades", "BTCUSDT", "2024-03-15")

NGINX_PAGE = """<html>
<head><title>Index of /spot/BTCUSDT/</title></head>
<body>
<h1>Index of /spot/BTCUSDT/</h1><hr><pre><a href="../">../</a>
<a href="BTCUSDT_2024-02.csv.gz">BTCUSDT_2024-02.csv.gz</a>      01-Mar-2024 02:10   81234567
<a href="BTCUSDT_2024-03-14.csv.gz">BTCUSDT_2024-03-14.csv.gz</a>   15-Mar-2024 02:10   2345678
<a href="BTCUSDT_2024-03-15.csv.gz">BTCUSDT_2024-03-15.csv.gz</a>   16-Mar-2024 02:11   2456789
</pre><hr></body>
</html>
"""


def test_the_directory_page_is_read_for_its_links() -> None:
    assert listed_names(NGINX_PAGE) == {
        "BTCUSDT_2024-02.csv.gz",
        "BTCUSDT_2024-03-14.csv.gz",
        "BTCUSDT_2024-03-15.csv.gz",
    }, "the parent directory is not a file"
    other = (
        "<ul><li><A HREF='/spot/BTCUSDT/BTCUSDT_2024-03-16.csv.gz'>x</A></li>"
        '<li><a class="f" href="https://public.bybit.com/spot/BTCUSDT/BTCUSDT_2024-03-17.csv.gz">'
        "y</a></li><li><a href=BTCUSDT_2024-03-18.csv.gz?download=1>z</a></li></ul>"
    )
    assert listed_names(other) == {f"BTCUSDT_2024-03-{d}.csv.gz" for d in (16, 17, 18)}


def test_the_listing_is_the_symbols_directory() -> None:
    assert ARCHIVE.listing_url(DAY) == BASE + "/spot/BTCUSDT/"
    assert ARCHIVE.listing_url(Shard("bybit", "spot", "klines", "BTCUSDT", "2024-03", "1m")) is None


def files(shard: Shard, page: str | None = None) -> list[ArchiveFile]:
    """The files of the spans the plan asks for, as `page` lists them (None: planning)."""
    plan = plan_sources(shard, ADAPTER.capabilities.market(shard.market), NOW, "archive")
    named = (ARCHIVE.file(shard, span, page) for span in plan.files)
    return [f for f in named if f is not None]


def names(shard: Shard, page: str | None) -> list[tuple[str, int, int]]:
    return [(f.url.removeprefix(BASE), f.start_ms, f.end_ms) for f in files(shard, page)]


def test_a_listed_daily_file_is_read() -> None:
    assert names(DAY, NGINX_PAGE) == [
        ("/spot/BTCUSDT/BTCUSDT_2024-03-15.csv.gz", DAY.start_ms, DAY.end_ms)
    ]


def test_a_day_without_a_daily_file_is_read_from_its_months_dump() -> None:
    day = Shard("bybit", "spot", "aggtrades", "BTCUSDT", "2024-02-10")
    ((url, start_ms, end_ms),) = names(day, NGINX_PAGE)
    assert url == "/spot/BTCUSDT/BTCUSDT_2024-02.csv.gz"
    assert (start_ms, end_ms) == (day.start_ms, day.end_ms), "only that day's rows are kept"


def test_a_day_the_page_lists_nothing_for_has_no_file() -> None:
    assert names(Shard("bybit", "spot", "aggtrades", "BTCUSDT", "2024-03-16"), NGINX_PAGE) == []


def test_without_the_page_the_plan_assumes_the_daily_file_of_each_closed_day() -> None:
    assert names(DAY, None) == [
        ("/spot/BTCUSDT/BTCUSDT_2024-03-15.csv.gz", DAY.start_ms, DAY.end_ms)
    ]
    today = Shard("bybit", "spot", "aggtrades", "BTCUSDT", "2024-03-20")
    assert names(today, None) == [] and names(today, NGINX_PAGE) == []


def test_files_are_gzip_without_checksum_charged_to_the_archive_budget() -> None:
    (file,) = files(DAY, NGINX_PAGE)
    assert file.packing == "gzip" and file.checksum_url is None
    assert file.group == "archive" and "archive" in Bybit.rate_limits
    plan = plan_sources(DAY, ADAPTER.capabilities.market("spot"), NOW, "auto")
    assert plan.archive_lacks == () and planned_files(ADAPTER, plan) == files(DAY)


# -- reading --------------------------------------------------------------------------------
def write_gzip(path: Path, text: str) -> Path:
    path.write_bytes(gzip.compress(text.encode()))
    return path


def read(tmp_path: Path, text: str, shard: Shard = DAY) -> pa.Table:
    file = files(shard)[0]
    path = write_gzip(tmp_path / file.name, text)
    return pa.Table.from_batches(
        list(read_batches(path, ARCHIVE, shard, file)), SCHEMAS["aggtrades"]
    )


T0 = DAY.start_ms  # 2024-03-15 00:00 UTC in ms


@pytest.mark.parametrize(
    "text",
    [
        f"id,timestamp,price,volume,side\n1,{T0 + 5},71502.34,0.00215,buy\n"
        f"2,{T0 + 7},71502.10,0.5,sell\n",
        f"id,timestamp,price,volume,side,rpi\n1,{T0 + 5},71502.34,0.00215,buy,0\n"
        f"2,{T0 + 7},71502.10,0.5,sell,1\n",
        f"\ufefftimestamp,side,id,volume,price,new_col\n{T0 + 5},Buy,1,0.00215,71502.34,x\n"
        f"{T0 + 7},SELL,2,0.5,71502.10,y\n",
        f"id,timestamp,price,volume,side\n1,{T0 // 1000}.005,71502.34,0.00215,buy\n"
        f"2,{T0 // 1000}.0071,71502.10,0.5,sell\n",
        f"id,timestamp,price,volume,side\n1,{(T0 + 5) * 1000 + 123},71502.34,0.00215,buy\n"
        f"2,{(T0 + 7) * 1000 + 999},71502.10,0.5,sell\n",
    ],
    ids=["header", "extra rpi column", "reordered, unknown column, BOM", "float seconds", "µs"],
)
def test_rows_read_by_header_name(tmp_path: Path, text: str) -> None:
    table = read(tmp_path, text)
    assert table.column("agg_id").to_pylist() == [1, 2]
    assert table.column("first_id").to_pylist() == table.column("last_id").to_pylist() == [1, 2]
    assert table.column("price").to_pylist() == [71502.34, 71502.10]
    assert table.column("qty").to_pylist() == [0.00215, 0.5]
    assert pc.cast(table.column("time"), pa.int64()).to_pylist() == [T0 + 5, T0 + 7]
    assert table.column("is_buyer_maker").to_pylist() == [False, True], "the taker sold"


def test_a_months_dump_keeps_only_the_days_rows(tmp_path: Path) -> None:
    day = Shard("bybit", "spot", "aggtrades", "BTCUSDT", "2024-02-10")
    (file,) = files(day, NGINX_PAGE)
    d0 = day.start_ms
    rows = [(1, d0 - 1), (1, d0), (2, d0 + 10), (1, d0 + 86_400_000)]  # ids restart daily
    text = "id,timestamp,price,volume,side\n" + "".join(f"{i},{t},100.0,1.0,buy\n" for i, t in rows)
    path = write_gzip(tmp_path / file.name, text)
    table = pa.Table.from_batches(list(read_batches(path, ARCHIVE, day, file)))
    assert pc.cast(table.column("time"), pa.int64()).to_pylist() == [d0, d0 + 10]
    assert table.column("agg_id").to_pylist() == [1, 2]


@pytest.mark.parametrize(
    "line",
    [b"1,1710460800005,71502.34,0.00215,buy\n", b"id,timestamp,price,side\n"],
    ids=["no header", "no volume column"],
)
def test_a_file_without_the_columns_by_name_is_refused(line: bytes) -> None:
    with pytest.raises(DataError, match="header naming id,timestamp,price,volume,side"):
        ARCHIVE.layout(DAY, line)


def test_an_empty_file_has_no_rows(tmp_path: Path) -> None:
    assert read(tmp_path, "").num_rows == 0


def test_a_gzip_whose_csv_does_not_parse_is_a_transient_fault(tmp_path: Path) -> None:
    from storage.errors import ExchangeUnavailable

    text = "id,timestamp,price,volume,side\nnot-an-id,soon,cheap,lots,buy\n"
    with pytest.raises(ExchangeUnavailable, match="does not read as the archive's CSV"):
        read(tmp_path, text)


@pytest.mark.parametrize(
    ("value", "ms"),
    [
        (1710460800, 1710460800000),  # 10 digits: seconds
        (1710460800.6864, 1710460800686),  # float seconds, as Bybit's futures archive has
        (1710460800123, 1710460800123),  # 13 digits: ms
        (1710460800123456, 1710460800123),  # 16 digits: µs
        (1735689600000000, 1735689600000),
    ],
)
def test_epoch_units_are_told_apart_by_magnitude(value: float, ms: int) -> None:
    from workers.exchanges.columns import epoch_ms_by_magnitude

    out = epoch_ms_by_magnitude(pa.array([value]))
    assert out.type == pa.timestamp("ms", tz="UTC")
    assert pc.cast(out, pa.int64()).to_pylist() == [ms]
