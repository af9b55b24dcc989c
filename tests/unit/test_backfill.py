"""Backfilling one shard as a plain function (workers/backfill.py), over a fake HTTP side.

The runtime is the real one's shape: fakeredis ledger, tmp_path data dir, a fake `Http.get`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from storage.errors import ShardBusy
from storage.layout import shard_dir, shard_path
from storage.ledger import Ledger
from storage.parquet import file_metadata, software_version
from storage.schemas import SCHEMAS
from storage.shards import Shard
from workers.archive import Downloader
from workers.backfill import backfill
from workers.exchanges.binance import Binance
from workers.settings import Settings

DAY = Shard("binance", "spot", "aggtrades", "BTCUSDT", "2024-01-15")


class FakeHttp:
    """Answers every page with `body` (Binance's `[]`: no trades in that hour)."""

    def __init__(self, body: bytes = b"[]") -> None:
        self.body = body
        self.calls = 0

    async def get(self, adapter, request) -> bytes:
        self.calls += 1
        return self.body


class FakeRuntime:
    def __init__(self, ledger: Ledger, data_dir: Path) -> None:
        self.settings = Settings(data_dir=str(data_dir), lock_ttl_s=30, redis_wait_s=1)
        self.store = self.settings.store()
        self.ledger = ledger
        self.http = FakeHttp()
        self.downloader = Downloader(self.http)  # --source rest never downloads
        self.loop = asyncio.new_event_loop()
        self._adapter = Binance(Binance.base_urls)

    def adapter(self, exchange: str) -> Binance:
        return self._adapter

    def run(self, coro):
        return self.loop.run_until_complete(coro)


@pytest.fixture
def rt(ledger: Ledger, tmp_path: Path):
    runtime = FakeRuntime(ledger, tmp_path / "data")
    yield runtime
    runtime.loop.close()


def test_a_day_the_exchange_has_no_rows_for_is_an_empty_file_with_the_schema_counted_done(rt):
    outcome = backfill(DAY, rt, "rest")
    assert (outcome.state, outcome.rows) == ("done", 0)
    assert rt.http.calls == 24, "one page per hour, each answered []"
    table = pq.read_table(shard_path(rt.settings.data_dir, DAY))
    assert table.num_rows == 0
    assert table.schema.remove_metadata() == SCHEMAS["aggtrades"]
    meta = file_metadata(shard_path(rt.settings.data_dir, DAY))
    assert meta["shard"] == DAY.key and meta["source"] == "rest"
    assert meta["software_version"] == software_version() and meta["fetched_at"]
    (state,) = rt.ledger.states([DAY])
    assert (state.state, state.rows) == ("done", 0)


def test_the_file_is_renamed_into_place_before_the_ledger_says_done(rt, monkeypatch):
    seen = []
    mark_stored = rt.ledger.mark_stored

    def spy(shard, stored, **kw):
        directory = shard_dir(rt.settings.data_dir, shard)
        seen.append((stored.path.exists(), sorted(p.name for p in directory.iterdir())))
        mark_stored(shard, stored, **kw)

    monkeypatch.setattr(rt.ledger, "mark_stored", spy)
    backfill(DAY, rt, "rest")
    assert seen == [(True, ["2024-01-15.parquet"])], "final file in place, no temp file left"


def test_a_shard_another_worker_holds_is_not_fetched(rt):
    assert rt.ledger.lock(DAY, "someone-else", 30_000)
    with pytest.raises(ShardBusy):
        backfill(DAY, rt, "rest")
    assert rt.http.calls == 0
    assert not shard_path(rt.settings.data_dir, DAY).exists()


def test_a_done_shard_is_skipped_without_a_request(rt):
    backfill(DAY, rt, "rest")
    calls = rt.http.calls
    assert backfill(DAY, rt, "rest").state == "skipped"
    assert rt.http.calls == calls


def test_a_killed_writers_temp_file_is_cleared_when_the_shard_is_fetched_again(rt):
    directory = shard_dir(rt.settings.data_dir, DAY)
    directory.mkdir(parents=True)
    (directory / ".2024-01-15.parquet.0123456789ab.tmp").write_bytes(b"half a file")
    backfill(DAY, rt, "rest")
    assert sorted(p.name for p in directory.iterdir()) == ["2024-01-15.parquet"]


def test_a_complete_file_already_in_place_is_recorded_not_fetched(rt):
    backfill(DAY, rt, "rest")
    calls = rt.http.calls
    rt.ledger.client.flushall()  # Redis lost its last second: the done mark with it
    outcome = backfill(DAY, rt, "rest")
    assert (outcome.state, outcome.note) == ("done", "from its file")
    assert rt.http.calls == calls, "nothing fetched again"
    (state,) = rt.ledger.states([DAY])
    assert (state.state, state.rows) == ("done", 0)


def test_a_disk_that_cannot_be_written_fails_the_shard_and_leaves_no_temp_file(rt, monkeypatch):
    import errno

    from workers import backfill as module
    from workers.backfill import StorageUnwritable

    class FullDisk(module.ShardWriter):
        def commit(self):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(module, "ShardWriter", FullDisk)
    with pytest.raises(StorageUnwritable, match=r"No space left on device \(ENOSPC\)"):
        backfill(DAY, rt, "rest")
    assert not list(Path(rt.settings.data_dir).rglob("*.tmp"))
    assert not shard_path(rt.settings.data_dir, DAY).exists()
