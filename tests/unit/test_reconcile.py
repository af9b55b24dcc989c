"""Ledger.rebuild_from_files: the files alone restore done, partial and the file index."""

from __future__ import annotations

from pathlib import Path

import fakeredis

from storage.ledger import Ledger
from storage.local import LocalStore
from storage.parquet import StoredFile
from storage.shards import Shard
from tests.unit.dataset_helpers import truth, write

JAN = Shard("binance", "spot", "klines", "BTCUSDT", "2024-01", "1h")
FEB = Shard("binance", "spot", "klines", "BTCUSDT", "2024-02", "1h")
DAY = Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-03-01")


def test_a_flushed_ledger_is_rebuilt_from_the_files(
    tmp_path: Path, ledger: Ledger, redis_client: fakeredis.FakeRedis
) -> None:
    jan = write(tmp_path, JAN)
    write(tmp_path, FEB, truth(FEB).iloc[:10], complete=False)
    day = write(tmp_path, DAY)
    for shard, stored in ((JAN, jan), (DAY, day)):
        ledger.mark_stored(shard, stored, complete=True, source="rest")
    before = ledger.files()
    redis_client.flushall()

    rebuilt = ledger.rebuild_from_files(LocalStore(tmp_path))

    assert (rebuilt.done, rebuilt.partial, rebuilt.restored, rebuilt.dropped) == (2, 1, 3, 0)
    assert ledger.is_done([JAN, FEB, DAY]) == [True, False, True]
    assert [s.state for s in ledger.states([JAN, FEB, DAY])] == ["done", "partial", "done"]
    assert ledger.files()[JAN.key] == before[JAN.key], "rows, bytes, complete, source"
    assert ledger.files()[FEB.key]["rows"] == 10
    assert set(ledger.planned()) == {JAN, FEB, DAY}


def test_rebuild_drops_entries_whose_file_is_gone_and_clears_failures(
    tmp_path: Path, ledger: Ledger
) -> None:
    ledger.mark_stored(FEB, StoredFile(Path("x"), 5, 5), complete=True, source="rest")
    ledger.mark_failed(JAN, "HTTP 500")
    write(tmp_path, JAN)
    rebuilt = ledger.rebuild_from_files(LocalStore(tmp_path))
    assert (rebuilt.restored, rebuilt.dropped) == (1, 1)
    assert ledger.is_done([JAN, FEB]) == [True, False]
    assert ledger.failures() == {} and FEB.key not in ledger.files()
