"""Backfilling one shard, as a plain function: lock, fetch, write, rename, record."""

from __future__ import annotations

import logging
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from storage.errors import ShardBusy
from storage.ledger import Ledger
from storage.parquet import ShardWriter
from storage.shards import Shard
from workers.archive import source as sourcing_of
from workers.archive_csv import read_batches
from workers.fetch import fetch_shard
from workers.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    shard: str
    state: str  # done | partial | skipped
    source: str = ""  # archive | archive+rest | rest
    rows: int = 0
    bytes: int = 0
    seconds: float = 0.0
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@contextmanager
def held(ledger: Ledger, shard: Shard, ttl_s: float) -> Iterator[bool]:
    """Hold the shard's expiring lock, refreshed in the background; yields False if taken.

    The lock expires `ttl_s` after a worker dies, which is how a re-run knows the shard
    was orphaned.
    """
    token = uuid.uuid4().hex
    ttl_ms = int(ttl_s * 1000)
    if not ledger.lock(shard, token, ttl_ms):
        yield False
        return
    stop = threading.Event()

    def refresh() -> None:
        while not stop.wait(ttl_s / 3):
            if not ledger.refresh_lock(shard, token, ttl_ms):
                log.warning("%s: lost the shard lock", shard.key)
                return

    refresher = threading.Thread(target=refresh, name=f"lock {shard.key}", daemon=True)
    refresher.start()
    try:
        yield True
    finally:
        stop.set()
        refresher.join()
        ledger.unlock(shard, token)


def backfill(shard: Shard, rt: Runtime, source: str = "auto") -> Outcome:
    """Fetch and store `shard` unless it is done or another worker holds it.

    `source` is auto (archive files for closed periods, REST for the rest and for anything
    the archive lacks), archive (archive only, else fail) or rest. Errors propagate:
    TransientError for the task to retry, PermanentError to fail it.
    """
    if rt.ledger.is_done([shard])[0]:
        return Outcome(shard.key, "skipped", note="already done")
    with held(rt.ledger, shard, rt.settings.lock_ttl_s) as mine:
        if not mine:
            # Maybe a live worker, maybe one that died: retry until done or the lock expires.
            raise ShardBusy(f"{shard.key}: another worker holds it")
        if rt.ledger.is_done([shard])[0]:  # finished between our check and our lock
            return Outcome(shard.key, "skipped", note="already done")
        return _store(shard, rt, source)


def _store(shard: Shard, rt: Runtime, source: str) -> Outcome:
    started = time.monotonic()
    store = rt.store
    removed = store.remove_leftovers(shard)
    if removed:
        log.info("%s: removed %d leftover(s) of a killed writer", shard.key, removed)
    now_ms = int(time.time() * 1000)
    until_ms = min(shard.end_ms, now_ms)
    complete = shard.end_ms <= now_ms
    adapter = rt.adapter(shard.exchange)
    with tempfile.TemporaryDirectory(prefix="shardfetch-archive-") as tmp:
        sourcing = rt.run(
            sourcing_of(rt.downloader, adapter, shard, now_ms, until_ms, source, Path(tmp))
        )
        metadata = {
            "source": sourcing.label,
            "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "complete": str(complete).lower(),
            "trade_ids": adapter.trade_ids,
        }
        sha256 = ",".join(d.sha256 for d in sourcing.files)
        if sourcing.files:
            metadata["archive_files"] = ",".join(d.file.name for d in sourcing.files)
            metadata["archive_sha256"] = sha256

        async def pump(writer: ShardWriter) -> None:
            for downloaded in sourcing.files:
                for batch in read_batches(downloaded.path, adapter.archive, shard, downloaded.file):
                    writer.write(batch)
            if sourcing.rest_from_ms is None:
                return
            batches = fetch_shard(
                rt.http,
                adapter,
                shard,
                until_ms,
                start_ms=sourcing.rest_from_ms,
                concurrency=rt.settings.page_concurrency,
                attempts=rt.settings.page_attempts,
            )
            async for batch in batches:
                if shard.kind.interval and not complete:
                    batch = _closed_candles(batch, now_ms)
                writer.write(batch)

        with ShardWriter(store, shard, metadata) as writer:
            rt.run(pump(writer))
            stored = writer.commit()
    rt.ledger.mark_stored(
        shard, stored, complete=complete, source=sourcing.label, archive_sha256=sha256 or None
    )
    seconds = time.monotonic() - started
    state = "done" if complete else "partial"
    log.info(
        "%s: %s from %s, %d rows, %d bytes, %.2fs",
        shard.key,
        state,
        sourcing.label,
        stored.rows,
        stored.bytes,
        seconds,
    )
    note = sourcing.note
    return Outcome(
        shard.key, state, sourcing.label, stored.rows, stored.bytes, round(seconds, 3), note
    )


def _closed_candles(batch: pa.RecordBatch, now_ms: int) -> pa.RecordBatch:
    """Drop the candle that is still open: its values would change after we store them."""
    close_ms = pc.cast(batch.column("close_time"), pa.int64())
    return batch.filter(pc.less(close_ms, now_ms))
