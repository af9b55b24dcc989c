"""Backfilling one shard, as a plain function: lock, fetch, write, rename, record."""

from __future__ import annotations

import errno
import json
import logging
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import aclosing, contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from storage.errors import PermanentError, ShardBusy, ShardfetchError
from storage.ledger import LOST, RETAKEN, Ledger
from storage.parquet import ShardWriter, StoredFile
from storage.shards import Shard
from storage.store import Store
from workers.archive import Gathered, gather_files
from workers.archive_csv import read_batches
from workers.edge import REDIS_DOWN, until_redis
from workers.exchanges import columns as col
from workers.fetch import fetch_shard
from workers.runtime import Runtime
from workers.sourceplan import SourcePlan, plan_sources

log = logging.getLogger(__name__)
T = TypeVar("T")


class StorageUnwritable(PermanentError):
    """The shard's file cannot be written (disk full, read-only or not permitted): the shard
    fails with the reason and leaves no temp file; `producer retry-failed` once it is fixed."""


class LockLost(ShardfetchError):
    """Another worker took the shard's lock while we fetched it (ours expired while Redis
    was out of reach): we stop, and it finishes the shard."""


class Lease:
    """Our hold on a shard's lock while we fetch it."""

    def __init__(self, shard: Shard) -> None:
        self.shard = shard
        self.lost = threading.Event()

    def check(self) -> None:
        """Raise LockLost if another worker took the shard over."""
        if self.lost.is_set():
            raise LockLost(f"{self.shard.key}: another worker took the shard over")


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
def held(ledger: Ledger, shard: Shard, ttl_s: float, redis_wait_s: float) -> Iterator[Lease | None]:
    """Hold the shard's expiring lock, kept alive in the background; yields None if taken.

    The lock expires `ttl_s` after a worker dies, which is how the healer knows the shard was
    orphaned. If it expired while Redis was out of reach it is taken again, unless another
    worker took it meanwhile: then the lease is lost and the fetch stops.
    """
    token = uuid.uuid4().hex
    ttl_ms = int(ttl_s * 1000)
    what = f"{shard.key}: lock"
    if not until_redis(lambda: ledger.lock(shard, token, ttl_ms), what, redis_wait_s):
        yield None
        return
    lease = Lease(shard)
    stop = threading.Event()

    def keep() -> None:
        period_s = wait_s = ttl_s / 3
        while not stop.wait(wait_s):
            try:
                kept = ledger.keep_lock(shard, token, ttl_ms)
            except REDIS_DOWN as exc:
                if wait_s == period_s:
                    log.warning("%s: cannot reach Redis to keep the lock (%s)", shard.key, exc)
                wait_s = min(period_s, 0.5)  # keep trying: the lock must not lapse unseen
                continue
            wait_s = period_s
            if kept == RETAKEN:
                log.warning("%s: lock expired while Redis was out of reach; taken again", shard.key)
            elif kept == LOST:
                log.warning("%s: another worker took the shard over; stopping", shard.key)
                lease.lost.set()
                return

    keeper = threading.Thread(target=keep, name=f"lock {shard.key}", daemon=True)
    keeper.start()
    try:
        yield lease
    finally:
        stop.set()
        keeper.join()
        until_redis(lambda: ledger.unlock(shard, token), f"{shard.key}: unlock", redis_wait_s)


def backfill(shard: Shard, rt: Runtime, source: str = "auto") -> Outcome:
    """Fetch and store `shard` unless it is done or another worker holds it.

    `source` is the mode: auto (archive files for closed periods, REST for the rest and for
    anything the archive lacks), archive (archive only, else fail) or rest. A complete file already
    in place (its `done` mark lost with a Redis that lost its last second) is recorded, not
    fetched again. Errors propagate: TransientError for the task to retry, PermanentError
    (StorageUnwritable among them) to fail it; Redis being out of reach is waited out.
    """
    wait_s = rt.settings.redis_wait_s

    def on_redis(call: Callable[[], T], what: str) -> T:
        return until_redis(call, f"{shard.key}: {what}", wait_s)

    if on_redis(lambda: rt.ledger.is_done([shard])[0], "done?"):
        on_redis(lambda: rt.ledger.settle(shard), "settle")
        return Outcome(shard.key, "skipped", note="already done")
    with held(rt.ledger, shard, rt.settings.lock_ttl_s, wait_s) as lease:
        if lease is None:
            # Maybe a live worker, maybe one that died: retry until done or the lock expires.
            raise ShardBusy(f"{shard.key}: another worker holds it")
        if on_redis(lambda: rt.ledger.is_done([shard])[0], "done?"):  # done meanwhile
            on_redis(lambda: rt.ledger.settle(shard), "settle")
            return Outcome(shard.key, "skipped", note="already done")
        recorded = _recorded_from_file(shard, rt, on_redis)
        if recorded is not None:
            return recorded
        try:
            return _store(shard, rt, source, lease, on_redis)
        except LockLost as exc:
            log.warning("%s", exc)
            return Outcome(shard.key, "skipped", note=str(exc))


def _recorded_from_file(shard: Shard, rt: Runtime, on_redis: Callable) -> Outcome | None:
    """The files are the truth: a complete file of the shard already in place is recorded."""
    store = rt.store
    try:
        if not store.exists(shard):
            return None
        found = store.describe(store.path(shard))
    except (OSError, ValueError, pa.ArrowException):
        return None  # not a readable shard file: fetching writes a good one over it
    if found.shard != shard or not found.complete or found.metadata.get("incomplete"):
        # An incomplete file is fetched again: it is here because the shard was reopened
        # (a source may now serve it whole), or its record was lost (a fetch costs little).
        return None
    stored = StoredFile(found.path, found.rows, found.bytes, found.etag)
    sha256 = found.metadata.get("archive_sha256") or None

    def record() -> None:
        rt.ledger.mark_stored(
            shard, stored, complete=True, source=found.source, archive_sha256=sha256
        )

    on_redis(record, "mark stored")
    log.info("%s: done: its complete file was already in place; recorded from it", shard.key)
    return Outcome(shard.key, "done", found.source, found.rows, found.bytes, note="from its file")


@contextmanager
def _writing(store: Store, shard: Shard) -> Iterator[None]:
    """Turn a failing local file system (full, read-only, not permitted) into
    StorageUnwritable, removing whatever temp file the write left. (Object storage maps its
    own errors, storage/multipart.py.)"""
    try:
        yield
    except OSError as exc:
        with suppress(OSError):
            store.remove_leftovers(shard)
        name = errno.errorcode.get(exc.errno or 0, "")
        raise StorageUnwritable(
            f"cannot write {shard.key} under {store.url}: {exc.strerror or exc}"
            f"{f' ({name})' if name else ''}; free space or make DATA_DIR writable, then "
            "run `producer retry-failed`"
        ) from exc


def _store(shard: Shard, rt: Runtime, source: str, lease: Lease, on_redis: Callable) -> Outcome:
    started = time.monotonic()
    store = rt.store
    with _writing(store, shard):
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
        metadata = _metadata(plan, gathered, complete, adapter.trade_ids)
        nulls = plan.nulls

        async def pump(writer: ShardWriter) -> None:
            for downloaded in gathered.files:
                for batch in read_batches(downloaded.path, adapter.archive, shard, downloaded.file):
                    writer.write(col.null_out(batch, nulls))
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
            # Closed on the way out, whatever stops us: its page chains must not go on
            # fetching in the background of the next shard.
            async with aclosing(batches):
                async for batch in batches:
                    lease.check()
                    if shard.kind.interval and not complete:
                        batch = _closed_candles(batch, now_ms)
                    writer.write(col.null_out(batch, nulls))

        with _writing(store, shard), ShardWriter(store, shard, metadata) as writer:
            rt.run(pump(writer))
            lease.check()  # a worker that took the shard over writes it; we write nothing
            stored = writer.commit()

    sha256 = metadata.get("archive_sha256")

    def record() -> None:
        rt.ledger.mark_stored(
            shard,
            stored,
            complete=complete,
            source=plan.origin,
            archive_sha256=sha256,
            incomplete=plan.why if plan.incomplete else None,
        )

    on_redis(record, "mark stored")
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
        f"; incomplete: {plan.why}" if plan.incomplete else "",
    )
    note = "; ".join(n for n in (gathered.note, plan.why) if n)
    return Outcome(
        shard.key, state, plan.origin, stored.rows, stored.bytes, round(seconds, 3), note
    )


def _metadata(plan: SourcePlan, gathered: Gathered, complete: bool, trade_ids: str) -> dict:
    """The file's key-value metadata: its origin, when, whether its period was over, and
    what the plan says of it (the snapshot step, the span it could not read and why, the
    archive files read and their SHA-256)."""
    metadata = {
        "source": plan.origin,
        "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "complete": str(complete).lower(),
        "trade_ids": trade_ids,
    }
    if plan.snapshot_ms:
        metadata["snapshot_ms"] = str(plan.snapshot_ms)
    if plan.unreachable is not None:
        metadata["incomplete"] = plan.why
        metadata["unreachable"] = json.dumps(list(plan.unreachable))
    if gathered.files:
        metadata["archive_files"] = ",".join(d.file.name for d in gathered.files)
        metadata["archive_sha256"] = ",".join(d.sha256 for d in gathered.files)
    return metadata


def _closed_candles(batch: pa.RecordBatch, now_ms: int) -> pa.RecordBatch:
    """Drop the candle that is still open: its values would change after we store them."""
    close_ms = pc.cast(batch.column("close_time"), pa.int64())
    return batch.filter(pc.less(close_ms, now_ms))
