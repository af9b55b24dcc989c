"""Backfilling one shard, as a plain function: lock, fetch, write, rename, record."""

from __future__ import annotations

import json
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
from workers.archive import gather_files
from workers.archive_csv import read_batches
from workers.fetch import fetch_shard
from workers.runtime import Runtime
from workers.sourceplan import capability_of, plan_sources

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    shard: str
    state: str  # done | partial | skipped
    source: str = ""  # the origin: archive | archive+rest | rest | none
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

    `source` is the mode: auto (archive files for closed periods, REST for the rest and for
    anything the archive lacks), archive (archive only, else fail) or rest. Errors
    propagate: TransientError for the task to retry, PermanentError to fail it.
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
    market = adapter.capabilities.market(shard.market)
    plan = plan_sources(shard, market, now_ms, source)
    with tempfile.TemporaryDirectory(prefix="shardfetch-archive-") as tmp:
        gathered = rt.run(gather_files(rt.downloader, adapter, plan, Path(tmp)))
        plan = gathered.plan
        metadata = {
            "source": plan.origin,
            "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "complete": str(complete).lower(),
            "trade_ids": adapter.trade_ids,
        }
        snapshot_ms = capability_of(shard, market).snapshot_ms
        if snapshot_ms:
            metadata["snapshot_ms"] = str(snapshot_ms)
        if plan.unreachable is not None:
            metadata["incomplete"] = plan.why
            metadata["unreachable"] = json.dumps(list(plan.unreachable))
        sha256 = ",".join(d.sha256 for d in gathered.files)
        if gathered.files:
            metadata["archive_files"] = ",".join(d.file.name for d in gathered.files)
            metadata["archive_sha256"] = sha256

        async def pump(writer: ShardWriter) -> None:
            for downloaded in gathered.files:
                for batch in read_batches(downloaded.path, adapter.archive, shard, downloaded.file):
                    writer.write(batch)
            if plan.rest_from_ms is None:
                return
            batches = fetch_shard(
                rt.http,
                adapter,
                shard,
                until_ms,
                start_ms=plan.rest_from_ms,
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
        shard, stored, complete=complete, source=plan.origin, archive_sha256=sha256 or None
    )
    seconds = time.monotonic() - started
    state = "done" if complete else "partial"
    log.info(
        "%s: %s from %s, %d rows, %d bytes, %.2fs%s",
        shard.key,
        state,
        plan.origin,
        stored.rows,
        stored.bytes,
        seconds,
        f"; incomplete: {plan.why}" if plan.unreachable else "",
    )
    note = "; ".join(n for n in (gathered.note, plan.why) if n)
    return Outcome(
        shard.key, state, plan.origin, stored.rows, stored.bytes, round(seconds, 3), note
    )


def _closed_candles(batch: pa.RecordBatch, now_ms: int) -> pa.RecordBatch:
    """Drop the candle that is still open: its values would change after we store them."""
    close_ms = pc.cast(batch.column("close_time"), pa.int64())
    return batch.filter(pc.less(close_ms, now_ms))
