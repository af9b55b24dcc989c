"""Integrity checks: planted damage is found, the exchange's own gaps are told apart from it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from storage.gaps import from_metadata
from storage.integrity import check_id_continuity, check_ledger, check_rows
from storage.local import LocalStore
from storage.shards import Shard
from tests.unit.dataset_helpers import tamper, truth, write

HOURS = Shard("binance", "spot", "klines", "BTCUSDT", "2024-02", "1h")
DAY = Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-03-01")
FUND = Shard("binance", "usdm", "funding", "BTCUSDT", "2024-01")
HOUR_MS = 3_600_000


def findings(path: Path):
    stored = LocalStore(path.parent).describe(str(path))
    gaps = from_metadata(stored.metadata.get("source_gaps"))
    return check_rows(stored.shard, pq.read_table(path), complete=stored.complete, source_gaps=gaps)


def kinds(found) -> list[str]:
    return sorted(f.kind for f in found)


def test_clean_shards_of_every_type_have_no_findings(tmp_path: Path) -> None:
    for shard in (HOURS, DAY, FUND):
        assert findings(write(tmp_path, shard).path) == [], shard.key


def test_rows_lost_after_writing_are_a_gap_problem_with_its_range(tmp_path: Path) -> None:
    path = write(tmp_path, HOURS).path
    tamper(path, lambda f: f.drop(index=[10, 11, 12]))
    (gap,) = findings(path)
    assert (gap.kind, gap.problem) == ("gap", True)
    assert (gap.start, gap.end) == (HOURS.start_ms + 10 * HOUR_MS, HOURS.start_ms + 13 * HOUR_MS)


def test_a_gap_the_exchange_had_when_fetched_is_a_note_not_a_problem(tmp_path: Path) -> None:
    frame = truth(HOURS)
    path = write(tmp_path, HOURS, frame.drop(index=range(100, 110))).path
    (note,) = findings(path)
    assert (note.kind, note.problem) == ("source_gap", False)
    assert note.start == HOURS.start_ms + 100 * HOUR_MS


def test_missing_first_and_last_candles_of_a_complete_month_are_gaps(tmp_path: Path) -> None:
    path = write(tmp_path, HOURS).path
    n = len(truth(HOURS))
    tamper(path, lambda f: f.drop(index=[0, n - 1]))
    found = findings(path)
    assert kinds(found) == ["gap", "gap"]
    assert {(f.start, f.end) for f in found} == {
        (HOURS.start_ms, HOURS.start_ms + HOUR_MS),
        (HOURS.end_ms - HOUR_MS, HOURS.end_ms),
    }


def test_an_unfinished_month_is_not_missing_its_future_candles(tmp_path: Path) -> None:
    frame = truth(HOURS).iloc[:100]
    assert findings(write(tmp_path, HOURS, frame, complete=False).path) == []


def test_a_duplicated_row_is_found(tmp_path: Path) -> None:
    path = write(tmp_path, HOURS).path
    tamper(path, lambda f: pd.concat([f.iloc[:50], f.iloc[49:]]))
    found = findings(path)
    assert "duplicate" in kinds(found) and all(f.problem for f in found)


def test_an_impossible_candle_and_a_negative_volume_are_found(tmp_path: Path) -> None:
    path = write(tmp_path, HOURS).path

    def spoil(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[5, "high"] = frame.loc[5, "low"] - 1  # high below low
        frame.loc[7, "volume"] = -1.0
        return frame

    tamper(path, spoil)
    found = findings(path)
    assert kinds(found) == ["bad_candle", "bad_value"]
    (candle,) = [f for f in found if f.kind == "bad_candle"]
    assert "2024-02-01 05:00:00" in candle.detail


def test_rows_outside_the_shard_are_found(tmp_path: Path) -> None:
    path = write(tmp_path, HOURS).path
    shift = pd.Timedelta(days=40)
    tamper(path, lambda f: f.assign(open_time=f["open_time"] + shift))
    assert "outside_shard" in kinds(findings(path))


def test_lost_trades_break_agg_id_continuity(tmp_path: Path) -> None:
    path = write(tmp_path, DAY).path
    tamper(path, lambda f: f.drop(index=range(500, 520)))
    (gap,) = findings(path)
    first = int(truth(DAY)["agg_id"].iloc[500])
    assert (gap.kind, gap.start, gap.end) == ("gap", first, first + 20)


def test_agg_ids_carry_on_from_one_day_file_to_the_next() -> None:
    day1, day2 = DAY, Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-03-02")
    day4 = Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-03-04")
    assert check_id_continuity([(day1, 0, 99), (day2, 100, 199)]) == []
    (gap,) = check_id_continuity([(day1, 0, 99), (day2, 105, 199)])
    assert (gap.start, gap.end, gap.shard) == (100, 105, day2.key)
    assert check_id_continuity([(day2, 100, 199), (day4, 500, 600)]) == [], "day 3 missing"


def test_an_empty_complete_shard_is_empty_at_the_source(tmp_path: Path) -> None:
    path = write(tmp_path, HOURS, truth(HOURS).iloc[:0]).path
    (note,) = findings(path)
    assert (note.kind, note.problem) == ("empty_at_source", False)


def test_files_and_ledger_disagreements_and_failed_shards_are_problems() -> None:
    found = check_ledger(
        files={"a": 10, "b": 5, "c": 7},
        indexed={"a": {"rows": 10}, "b": {"rows": 6}, "d": {"rows": 1}},
        failed={"e": "HTTP 400"},
        planned=["a", "b", "c", "d", "e", "f"],
    )
    by_key = {f.shard: (f.kind, f.problem) for f in found}
    assert by_key == {
        "b": ("rows_mismatch", True),
        "c": ("file_without_ledger", True),
        "d": ("ledger_without_file", True),
        "e": ("failed", True),
        "f": ("missing", False),
    }
