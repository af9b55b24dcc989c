"""The per-group counters: each transition moves a shard from one counted state to another,
a repeated or raced transition moves nothing, and the counters always equal a recount."""

from __future__ import annotations

from pathlib import Path

import pytest

from producer.wait import Announcements
from storage.custody import Custody, Orphan
from storage.ledger import Ledger
from storage.local import LocalStore
from storage.parquet import StoredFile
from storage.shards import Shard
from storage.states import group_of
from tests.unit.dataset_helpers import write
from tests.unit.recount import assert_counters_match

JAN, FEB, MAR = (
    Shard("binance", "spot", "klines", "BTCUSDT", f"2024-0{m}", "1m") for m in (1, 2, 3)
)
GROUP = group_of(JAN.key)
HOUR_MS = 3_600_000
FILE = StoredFile(Path("x"), 1000, 20)


def states(ledger: Ledger, group: str = GROUP) -> dict[str, int]:
    """The non-zero counters of `group`, checked against a recount first."""
    counts = assert_counters_match(ledger).get(group, {})
    return {name: n for name, n in counts.items() if n}


def test_a_claim_plans_and_queues_once_however_often_it_is_sent(ledger: Ledger) -> None:
    ledger.claim([JAN, FEB], HOUR_MS)
    ledger.claim([JAN, FEB], HOUR_MS)  # a second producer, a re-run
    ledger.claim([JAN, FEB], 0)  # stale: sent again, still counted once
    assert states(ledger) == {"planned": 2, "queued": 2}
    count = ledger.counts()[GROUP]
    assert (count.first, count.last) == ("2024-01", "2024-02")


def test_a_worker_moves_a_shard_from_queued_to_running_to_done_with_rows_and_bytes(
    ledger: Ledger,
) -> None:
    ledger.claim([JAN, FEB], HOUR_MS)
    assert ledger.lock(JAN, "w", 60_000)
    assert states(ledger) == {"planned": 2, "queued": 1, "running": 1}
    ledger.mark_stored(JAN, FILE, complete=True, source="rest")
    ledger.mark_stored(JAN, FILE, complete=True, source="rest")  # a late duplicate
    ledger.unlock(JAN, "w")
    ledger.settle(JAN)  # another delivery finds it done
    assert states(ledger) == {"planned": 2, "queued": 1, "done": 1, "rows": 1000, "bytes": 20}


def test_partial_incomplete_failed_retried_and_reopened(ledger: Ledger) -> None:
    ledger.claim([JAN, FEB, MAR], HOUR_MS)
    ledger.mark_stored(JAN, FILE, complete=False, source="rest")
    ledger.mark_stored(FEB, FILE, complete=True, source="rest", incomplete="archive gap")
    ledger.mark_failed(MAR, "HTTP 400")
    expected = {"planned": 3, "partial": 1, "done": 1, "incomplete": 1, "failed": 1}
    assert states(ledger) == {**expected, "rows": 2000, "bytes": 40}
    ledger.claim([MAR], HOUR_MS)  # retry-failed: queued again, its reason kept meanwhile
    assert states(ledger)["queued"] == 1 and "failed" not in states(ledger)
    ledger.mark_failed(MAR, "HTTP 400")
    ledger.mark_failed(MAR, "HTTP 400")
    ledger.reopen([FEB])  # an incomplete shard a source can now serve whole
    got = states(ledger)
    assert (got["failed"], got["partial"], got.get("done", 0), got.get("incomplete", 0)) == (
        1,
        1,
        0,
        0,
    )
    assert got["missing"] == 1


def test_a_retry_countdown_and_a_handback_queue_again_and_a_done_shard_stays_done(
    ledger: Ledger,
) -> None:
    ledger.claim([JAN, FEB], HOUR_MS)
    assert ledger.lock(JAN, "w", 60_000) and ledger.lock(FEB, "w", 60_000)
    ledger.mark_retrying(JAN)
    ledger.mark_stored(FEB, FILE, complete=True, source="rest")
    assert not ledger.requeue(FEB)
    assert states(ledger) == {"planned": 2, "queued": 1, "done": 1, "rows": 1000, "bytes": 20}


def test_an_unsent_claim_is_undone(ledger: Ledger) -> None:
    ledger.claim([JAN], HOUR_MS)
    ledger.unclaim([JAN])
    ledger.unclaim([JAN])
    assert states(ledger) == {"planned": 1, "missing": 1}


def test_a_lapsed_lock_taken_back_and_an_orphan_reclaimed_twice_count_once(
    ledger: Ledger, custody: Custody
) -> None:
    ledger.claim([JAN], HOUR_MS)
    assert ledger.lock(JAN, "w", 60_000)
    ledger.client.delete(ledger.keys.lock + JAN.key)  # the lock lapsed (Redis was away)
    assert ledger.keep_lock(JAN, "w", 60_000) == 2  # RETAKEN
    assert states(ledger)["running"] == 1
    ledger.client.delete(ledger.keys.lock + JAN.key)  # its machine died
    orphan = Orphan(JAN, "", "gone")
    assert custody.reclaim([orphan]) == [JAN]
    custody.reclaim([orphan])  # a second healer racing the first
    assert states(ledger) == {"planned": 1, "queued": 1}


def test_a_rebuild_after_a_flush_counts_what_the_files_say(tmp_path: Path, ledger: Ledger) -> None:
    day = Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-03-01")
    ledger.claim([JAN, day], HOUR_MS)
    ledger.mark_stored(JAN, write(tmp_path, JAN), complete=True, source="rest")
    ledger.client.flushall()
    ledger.mark_failed(day, "a worker finishing after the flush")  # not planned: not counted
    ledger.rebuild_from_files(LocalStore(tmp_path))
    assert states(ledger)["done"] == 1
    assert states(ledger, group_of(day.key)) == {}
    for path in tmp_path.rglob("*.parquet"):
        path.unlink()  # the file is gone
    ledger.rebuild_from_files(LocalStore(tmp_path))
    assert states(ledger) == {"planned": 1, "missing": 1}


def test_a_ledger_from_before_the_counters_is_counted_once_when_read(ledger: Ledger) -> None:
    ledger.claim([JAN, FEB], HOUR_MS)
    ledger.mark_failed(FEB, "HTTP 400")
    ledger.client.delete(ledger.keys.tally, *ledger.client.keys(ledger.keys.sent + "*"))
    assert states(ledger) == {"planned": 2, "queued": 1, "failed": 1}
    assert ledger.client.zcard(ledger.keys.sent + "binance") == 1, "queued shards indexed again"


@pytest.mark.parametrize("finish", ["stored", "failed"])
def test_a_finishing_shard_wakes_a_waiter_and_nothing_else_does(ledger: Ledger, finish) -> None:
    ledger.claim([JAN], HOUR_MS)
    announcements = Announcements(ledger)
    announcements.listen()
    assert ledger.lock(JAN, "w", 60_000)
    assert not announcements.wait(0.05), "running is not finished"
    if finish == "stored":
        ledger.mark_stored(JAN, FILE, complete=True, source="rest")
    else:
        ledger.mark_failed(JAN, "HTTP 400")
    assert announcements.wait(5.0)
    announcements.close()
