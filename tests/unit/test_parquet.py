"""ShardWriter: the contract schema on disk, validation of rows, and atomic commit."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from storage.errors import DataError
from storage.layout import shard_path
from storage.local import LocalStore
from storage.parquet import ShardWriter, file_metadata, software_version
from storage.schemas import SCHEMAS
from storage.shards import Shard

KLINES = Shard.parse("binance:spot:klines:1m:BTCUSDT:2024-01")
AGGTRADES = Shard.parse("binance:spot:aggtrades:BTCUSDT:2024-01-15")
FUNDING = Shard.parse("binance:usdm:funding:BTCUSDT:2024-01")
META = {"source": "rest", "fetched_at": "2024-06-15T13:45:00+00:00"}
MINUTE = 60_000


def ts(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def kline_rows(start_ms: int, count: int) -> list[dict]:
    return [
        {
            "open_time": ts(start_ms + i * MINUTE),
            "open": 100.0 + i,
            "high": 101.5 + i,
            "low": 99.25 + i,
            "close": 100.5 + i,
            "volume": 1.25 * i,
            "close_time": ts(start_ms + (i + 1) * MINUTE - 1),
            "quote_volume": 125.0 * i,
            "trades": 10 + i,
            "taker_buy_base": 0.5 * i,
            "taker_buy_quote": 50.0 * i,
        }
        for i in range(count)
    ]


def trade_rows(first_id: int, start_ms: int, count: int) -> list[dict]:
    return [
        {
            "agg_id": first_id + i,
            "price": 42_000.0 + i / 100,
            "qty": 0.001 * (i + 1),
            "first_id": 10 * (first_id + i),
            "last_id": 10 * (first_id + i) + 2,
            "time": ts(start_ms + i),  # several trades may share a millisecond; not here
            "is_buyer_maker": i % 2 == 0,
        }
        for i in range(count)
    ]


def funding_rows(times: list[int], marks: list[float | None]) -> list[dict]:
    return [
        {"funding_time": ts(t), "funding_rate": 0.0001 * (i + 1), "mark_price": mark}
        for i, (t, mark) in enumerate(zip(times, marks, strict=True))
    ]


def batch(dtype: str, rows: list[dict]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(rows, schema=SCHEMAS[dtype])


def temps(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize(
    ("shard", "rows"),
    [
        (KLINES, kline_rows(KLINES.start_ms, 5)),
        (AGGTRADES, trade_rows(1000, AGGTRADES.start_ms + 3, 4)),
        (
            FUNDING,
            funding_rows([FUNDING.start_ms, FUNDING.start_ms + 8 * 3_600_000], [42_000.5, None]),
        ),
    ],
    ids=["klines", "aggtrades", "funding"],
)
def test_rows_written_are_the_rows_read_back_with_the_contract_schema(
    tmp_path: Path, shard: Shard, rows: list[dict]
) -> None:
    with ShardWriter(tmp_path, shard, META) as writer:
        writer.write(batch(shard.dtype, rows))
        stored = writer.commit()

    assert stored.path == shard_path(tmp_path, shard)
    assert stored.rows == len(rows)
    assert stored.bytes == stored.path.stat().st_size > 0
    table = LocalStore(tmp_path).read(shard)
    assert table.schema.equals(SCHEMAS[shard.dtype], check_metadata=False)
    assert table.to_pylist() == rows


def test_contract_time_columns_are_utc_milliseconds(tmp_path: Path) -> None:
    with ShardWriter(tmp_path, KLINES, META) as writer:
        writer.write(batch("klines", kline_rows(KLINES.start_ms, 1)))
        writer.commit()
    schema = pq.read_schema(shard_path(tmp_path, KLINES))
    for name in ("open_time", "close_time"):
        assert schema.field(name).type == pa.timestamp("ms", tz="UTC")
    assert schema.field("open").type == pa.float64()
    assert schema.field("trades").type == pa.int64()
    assert schema.names == [
        "open_time",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "close_time",
        "quote_volume",
        "trades",
        "taker_buy_base",
        "taker_buy_quote",
    ]


def test_file_is_zstd_compressed(tmp_path: Path) -> None:
    with ShardWriter(tmp_path, KLINES, META) as writer:
        writer.write(batch("klines", kline_rows(KLINES.start_ms, 10)))
        writer.commit()
    meta = pq.ParquetFile(shard_path(tmp_path, KLINES)).metadata
    codecs = {
        meta.row_group(g).column(c).compression
        for g in range(meta.num_row_groups)
        for c in range(meta.num_columns)
    }
    assert codecs == {"ZSTD"}


def test_file_carries_shard_key_source_fetch_time_and_version(tmp_path: Path) -> None:
    with ShardWriter(tmp_path, FUNDING, META) as writer:
        writer.write(batch("funding", funding_rows([FUNDING.start_ms], [1.0])))
        stored = writer.commit()
    metadata = file_metadata(stored.path)
    assert metadata["shard"] == "binance:usdm:funding:BTCUSDT:2024-01"
    assert metadata["source"] == "rest"
    assert metadata["fetched_at"] == "2024-06-15T13:45:00+00:00"
    assert metadata["software_version"] == software_version() != ""


def test_columns_are_written_in_contract_order_whatever_order_they_arrive_in(
    tmp_path: Path,
) -> None:
    rows = funding_rows([FUNDING.start_ms], [1.5])
    shuffled = pa.table(
        {
            name: [row[name] for row in rows]
            for name in ("mark_price", "funding_time", "funding_rate")
        }
    )
    shuffled = shuffled.cast(
        pa.schema([SCHEMAS["funding"].field(n) for n in shuffled.column_names])
    )
    with ShardWriter(tmp_path, FUNDING, META) as writer:
        writer.write(shuffled)
        writer.commit()
    assert LocalStore(tmp_path).read(FUNDING).column_names == [
        "funding_time",
        "funding_rate",
        "mark_price",
    ]


@pytest.mark.parametrize("shard", [KLINES, AGGTRADES, FUNDING], ids=lambda s: s.dtype)
def test_empty_shard_commits_a_zero_row_file_with_the_full_schema(
    tmp_path: Path, shard: Shard
) -> None:
    with ShardWriter(tmp_path, shard, META) as writer:
        writer.write(batch(shard.dtype, []))  # an empty page changes nothing
        stored = writer.commit()
    assert stored.rows == 0
    table = pq.read_table(stored.path)
    assert table.num_rows == 0
    assert table.schema.equals(SCHEMAS[shard.dtype], check_metadata=False)
    assert file_metadata(stored.path)["shard"] == shard.key


def test_writing_across_several_batches_keeps_all_rows_in_order(tmp_path: Path) -> None:
    rows = trade_rows(500, AGGTRADES.start_ms, 30)
    with ShardWriter(tmp_path, AGGTRADES, META) as writer:
        for i in range(0, 30, 10):
            writer.write(batch("aggtrades", rows[i : i + 10]))
        stored = writer.commit()
    assert stored.rows == 30
    assert LocalStore(tmp_path).read(AGGTRADES).column("agg_id").to_pylist() == list(
        range(500, 530)
    )


@pytest.mark.parametrize(
    ("shard", "rows"),
    [
        (KLINES, [kline_rows(KLINES.start_ms, 3)[i] for i in (0, 2, 1)]),
        (KLINES, [kline_rows(KLINES.start_ms, 2)[i] for i in (0, 1, 1)]),
        (AGGTRADES, [trade_rows(7, AGGTRADES.start_ms, 3)[i] for i in (1, 0, 2)]),
        (AGGTRADES, [trade_rows(7, AGGTRADES.start_ms, 3)[i] for i in (0, 0)]),
        (FUNDING, funding_rows([FUNDING.start_ms + 5, FUNDING.start_ms], [1.0, 1.0])),
    ],
    ids=[
        "klines-unsorted",
        "klines-duplicate",
        "aggtrades-unsorted",
        "aggtrades-duplicate",
        "funding-unsorted",
    ],
)
def test_unsorted_or_duplicated_rows_are_refused_with_how_to_fix(
    tmp_path: Path, shard: Shard, rows: list[dict]
) -> None:
    with (
        pytest.raises(DataError, match="must sort and de-duplicate") as caught,
        ShardWriter(tmp_path, shard, META) as writer,
    ):
        writer.write(batch(shard.dtype, rows))
        writer.commit()  # rows are checked when their row group is written, at the latest here
    assert shard.key in str(caught.value)
    assert not shard_path(tmp_path, shard).exists()


@pytest.mark.parametrize(
    ("shard", "rows"),
    [
        (KLINES, kline_rows(KLINES.start_ms - MINUTE, 2)),  # starts in December
        (KLINES, kline_rows(KLINES.end_ms - MINUTE, 2)),  # runs into February
        (AGGTRADES, trade_rows(1, AGGTRADES.end_ms, 1)),  # exactly at the exclusive end
        (AGGTRADES, trade_rows(1, AGGTRADES.start_ms - 1, 1)),
        (FUNDING, funding_rows([FUNDING.end_ms], [None])),
    ],
    ids=["before-start", "past-end", "at-exclusive-end", "one-ms-early", "funding-next-month"],
)
def test_rows_outside_the_shards_period_are_refused(
    tmp_path: Path, shard: Shard, rows: list[dict]
) -> None:
    with pytest.raises(DataError, match="outside the shard's period"):  # noqa: SIM117
        with ShardWriter(tmp_path, shard, META) as writer:
            writer.write(batch(shard.dtype, rows))
            writer.commit()


@pytest.mark.parametrize(
    ("shard", "column", "rows"),
    [
        (KLINES, "open_time", kline_rows(KLINES.start_ms, 3)),
        (AGGTRADES, "agg_id", trade_rows(1, AGGTRADES.start_ms, 3)),
        (AGGTRADES, "time", trade_rows(1, AGGTRADES.start_ms, 3)),
        (FUNDING, "funding_time", funding_rows([FUNDING.start_ms, FUNDING.start_ms + 1], [1, 2])),
    ],
    ids=["klines-open-time", "aggtrades-id", "aggtrades-time", "funding-time"],
)
@pytest.mark.parametrize("at", [0, -1], ids=["first-row", "last-row"])
def test_a_row_without_its_sort_key_or_time_is_refused_and_nothing_stored(
    tmp_path: Path, shard: Shard, column: str, rows: list[dict], at: int
) -> None:
    """Arrow's comparisons skip nulls, so neither the order nor the period check would see
    such a row: the writer refuses it by name when it is written, before any row group."""
    rows = [*rows[: at % len(rows)], {**rows[at], column: None}, *rows[at % len(rows) + 1 :]]
    with pytest.raises(DataError, match=f"1 row\\(s\\) without a {column};") as caught:  # noqa: SIM117
        with ShardWriter(tmp_path, shard, META) as writer:
            writer.write(batch(shard.dtype, rows))
    assert shard.key in str(caught.value)
    assert not shard_path(tmp_path, shard).exists() and not temps(tmp_path)


def test_rows_on_the_first_and_last_millisecond_are_inside(tmp_path: Path) -> None:
    rows = trade_rows(1, AGGTRADES.start_ms, 1) + trade_rows(2, AGGTRADES.end_ms - 1, 1)
    with ShardWriter(tmp_path, AGGTRADES, META) as writer:
        writer.write(batch("aggtrades", rows))
        assert writer.commit().rows == 2


@pytest.mark.parametrize("overlap", [0, 1], ids=["batch-goes-back", "batch-repeats-last-row"])
def test_a_batch_out_of_order_across_two_writes_is_refused(tmp_path: Path, overlap: int) -> None:
    rows = trade_rows(100, AGGTRADES.start_ms, 10)
    with pytest.raises(DataError, match="out of order") as caught:  # noqa: SIM117
        with ShardWriter(tmp_path, AGGTRADES, META) as writer:
            writer.write(batch("aggtrades", rows[5:]))
            writer.write(batch("aggtrades", rows[: 5 + overlap]))
            writer.commit()
    assert "agg_id" in str(caught.value)
    assert not shard_path(tmp_path, AGGTRADES).exists()


def test_an_aborted_writer_leaves_no_final_file_and_no_temp_file(tmp_path: Path) -> None:
    class Killed(Exception):
        pass

    directory = shard_path(tmp_path, KLINES).parent
    with pytest.raises(Killed):  # noqa: SIM117
        with ShardWriter(tmp_path, KLINES, META) as writer:
            writer.write(batch("klines", kline_rows(KLINES.start_ms, 3)))
            assert temps(directory)  # the data is only in a temp file so far
            raise Killed
    directory = shard_path(tmp_path, KLINES).parent
    assert list(directory.iterdir()) == []


def test_an_aborted_rewrite_keeps_the_previous_complete_file(tmp_path: Path) -> None:
    with ShardWriter(tmp_path, KLINES, META) as writer:
        writer.write(batch("klines", kline_rows(KLINES.start_ms, 3)))
        writer.commit()
    with pytest.raises(DataError):  # noqa: SIM117
        with ShardWriter(tmp_path, KLINES, META) as writer:
            writer.write(batch("klines", kline_rows(KLINES.start_ms - MINUTE, 3)))
            writer.commit()
    assert LocalStore(tmp_path).read(KLINES).num_rows == 3
    assert temps(shard_path(tmp_path, KLINES).parent) == []


def test_commit_leaves_no_temp_file_behind(tmp_path: Path) -> None:
    with ShardWriter(tmp_path, FUNDING, META) as writer:
        writer.write(batch("funding", funding_rows([FUNDING.start_ms], [1.0])))
        writer.commit()
    directory = shard_path(tmp_path, FUNDING).parent
    assert [p.name for p in directory.iterdir()] == ["2024-01.parquet"]


def test_remove_leftovers_deletes_a_killed_writers_temp_but_not_the_final_file(
    tmp_path: Path,
) -> None:
    with ShardWriter(tmp_path, KLINES, META) as writer:
        writer.write(batch("klines", kline_rows(KLINES.start_ms, 2)))
        writer.commit()
    directory = shard_path(tmp_path, KLINES).parent
    stale = directory / ".2024-01.parquet.abc.tmp"
    stale.write_bytes(b"half a parquet file")
    other_shard = directory / ".2024-02.parquet.abc.tmp"  # another shard's writer may be live
    other_shard.write_bytes(b"")

    assert LocalStore(tmp_path).remove_leftovers(KLINES) == 1
    assert not stale.exists()
    assert other_shard.exists()
    assert LocalStore(tmp_path).read(KLINES).num_rows == 2


def test_remove_leftovers_of_a_shard_never_written_is_a_no_op(tmp_path: Path) -> None:
    assert LocalStore(tmp_path).remove_leftovers(AGGTRADES) == 0


def test_a_real_writer_temp_is_what_remove_leftovers_clears(tmp_path: Path) -> None:
    # A writer killed mid-write (never committed, never aborted) leaves exactly this file.
    writer = ShardWriter(tmp_path, AGGTRADES, META)
    writer.write(batch("aggtrades", trade_rows(1, AGGTRADES.start_ms, 2)))
    final = shard_path(tmp_path, AGGTRADES)
    left = temps(final.parent)
    assert len(left) == 1
    assert LocalStore(tmp_path).leftovers()[0].shard == AGGTRADES
    assert LocalStore(tmp_path).remove_leftovers(AGGTRADES) == 1
    assert temps(final.parent) == []
    assert not final.exists()


def _trade_batch(first: int, count: int) -> pa.RecordBatch:
    """`count` trades from agg id `first`, one per 10 ms of AGGTRADES' day, built column-wise."""
    ids = pa.array(range(first, first + count), pa.int64())
    times = pa.array([AGGTRADES.start_ms + 10 * i for i in range(first, first + count)])
    return pa.RecordBatch.from_arrays(
        [
            ids,
            pa.array([42_000.0] * count),
            pa.array([0.5] * count),
            ids,
            ids,
            times.cast(pa.timestamp("ms", tz="UTC")),
            pa.array([True] * count),
        ],
        schema=SCHEMAS["aggtrades"],
    )


def test_a_month_stored_page_by_page_is_one_row_group(tmp_path: Path) -> None:
    rows = kline_rows(KLINES.start_ms, 31 * 1440)
    with ShardWriter(tmp_path, KLINES, META) as writer:
        for start in range(0, len(rows), 1000):  # one REST page at a time
            writer.write(batch("klines", rows[start : start + 1000]))
        stored = writer.commit()
    meta = pq.read_metadata(stored.path)
    assert (meta.num_rows, meta.num_row_groups) == (31 * 1440, 1)


def test_a_large_day_is_stored_in_row_groups_of_at_least_64k_rows(tmp_path: Path) -> None:
    with ShardWriter(tmp_path, AGGTRADES, META) as writer:
        for first in range(0, 400_000, 1000):
            writer.write(_trade_batch(first, 1000))
        stored = writer.commit()
    meta = pq.read_metadata(stored.path)
    sizes = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
    assert sum(sizes) == 400_000 and len(sizes) > 1
    assert min(sizes) >= 64 * 1024
    ids = LocalStore(tmp_path).read(AGGTRADES).column("agg_id")
    assert ids.to_pylist() == list(range(400_000))


def test_rows_out_of_order_across_row_groups_are_refused(tmp_path: Path) -> None:
    group = 128 * 1024
    with pytest.raises(DataError, match=f"out of order at {group - 1} after {group - 1}"):  # noqa: SIM117
        with ShardWriter(tmp_path, AGGTRADES, META) as writer:
            writer.write(_trade_batch(0, group))  # the first row group, written on the next
            writer.write(_trade_batch(group - 1, 70_000))  # write; this repeats its last row
            writer.commit()
    assert not shard_path(tmp_path, AGGTRADES).exists()
