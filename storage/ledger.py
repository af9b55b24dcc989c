"""The Redis ledger: which shards are planned, queued, running, done, partial or failed.

The Parquet files are the truth; the ledger is an index of them (DESIGN.md). A shard
enters `done` only after its file has been renamed into place.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import redis

from storage.parquet import StoredFile
from storage.shards import Shard
from storage.store import Store

PREFIX = "shardfetch:"
PLANNED = PREFIX + "planned"  # set of every shard key ever planned
DONE = PREFIX + "done"  # set: complete file stored
PARTIAL = PREFIX + "partial"  # set: file stored for a period that had not ended
QUEUED = PREFIX + "queued"  # hash key -> ms when its message was sent
RUNNING = PREFIX + "running"  # set: a worker started it and has not finished
FAILED = PREFIX + "failed"  # hash key -> reason
FILES = PREFIX + "files"  # hash key -> JSON {rows, bytes, complete, source, etag?, archive_sha256?}
LOCK = PREFIX + "lock:"  # LOCK + key -> token of the worker holding the shard

CLAIMED, SKIP_DONE, SKIP_BUSY = 1, 0, 2

# For each shard key: skip it if done; skip it if a worker holds its lock, or if its message
# was sent less than `stale_ms` ago and no worker died on it; otherwise mark it queued now.
_CLAIM = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local stale_ms, lock_prefix, out = tonumber(ARGV[1]), ARGV[2], {}
for i = 3, #ARGV do
  local k = ARGV[i]
  redis.call('SADD', KEYS[4], k)
  if redis.call('SISMEMBER', KEYS[1], k) == 1 then
    out[#out + 1] = 0
  elseif redis.call('EXISTS', lock_prefix .. k) == 1 then
    out[#out + 1] = 2
  else
    local sent = redis.call('HGET', KEYS[2], k)
    local orphan = redis.call('SISMEMBER', KEYS[3], k) == 1
    if sent and not orphan and now_ms - tonumber(sent) < stale_ms then
      out[#out + 1] = 2
    else
      redis.call('HSET', KEYS[2], k, now_ms)
      redis.call('SREM', KEYS[3], k)
      out[#out + 1] = 1
    end
  end
end
return out
"""

# Release the lock if it is still ours; the shard is then no longer running here.
_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SREM', KEYS[2], ARGV[2])
return redis.call('DEL', KEYS[1])
"""

# A shard whose task will be retried later counts as freshly queued, not as running.
_REQUEUE = """
local now = redis.call('TIME')
redis.call('HSET', KEYS[1], ARGV[1], tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000))
redis.call('SREM', KEYS[2], ARGV[1])
return 1
"""

_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


@dataclass(frozen=True)
class Rebuilt:
    """What `rebuild_from_files` changed: shards restored from files, entries whose file is gone."""

    done: int
    partial: int
    restored: int
    dropped: int


@dataclass(frozen=True)
class ShardState:
    shard: Shard
    state: str  # done | partial | running | queued | failed | missing
    reason: str | None = None
    rows: int = 0
    bytes: int = 0


class Ledger:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._claim = client.register_script(_CLAIM)
        self._release = client.register_script(_RELEASE)
        self._refresh = client.register_script(_REFRESH)
        self._requeue = client.register_script(_REQUEUE)

    # -- the producer's side ------------------------------------------------------------
    def is_done(self, shards: Sequence[Shard]) -> list[bool]:
        if not shards:
            return []
        return [bool(x) for x in self.client.smismember(DONE, [s.key for s in shards])]

    def claim(self, shards: Sequence[Shard], stale_ms: int) -> list[int]:
        """Atomically decide, per shard, CLAIMED (send it), SKIP_DONE or SKIP_BUSY.

        Two producers claiming the same shards at once get each shard claimed once.
        A claim older than `stale_ms`, or one whose worker died (running, lock expired),
        is claimed again, so a re-run recovers messages lost with a killed worker.
        """
        if not shards:
            return []
        keys = [DONE, QUEUED, RUNNING, PLANNED]
        args = [stale_ms, LOCK, *[s.key for s in shards]]
        return [int(x) for x in self._claim(keys=keys, args=args)]

    def unclaim(self, shards: Iterable[Shard]) -> None:
        """Undo claims whose messages could not be sent."""
        keys = [s.key for s in shards]
        if keys:
            self.client.hdel(QUEUED, *keys)

    # -- the worker's side --------------------------------------------------------------
    def lock(self, shard: Shard, token: str, ttl_ms: int) -> bool:
        """Take the shard's expiring lock (SET NX PX) so two deliveries never run at once."""
        if not self.client.set(LOCK + shard.key, token, nx=True, px=ttl_ms):
            return False
        self.client.sadd(RUNNING, shard.key)
        return True

    def locked(self, shards: Sequence[Shard]) -> list[bool]:
        """Whether a worker holds each shard's lock now (it is writing the shard)."""
        pipe = self.client.pipeline(transaction=False)
        for shard in shards:
            pipe.exists(LOCK + shard.key)
        return [bool(x) for x in pipe.execute()]

    def refresh_lock(self, shard: Shard, token: str, ttl_ms: int) -> bool:
        return bool(self._refresh(keys=[LOCK + shard.key], args=[token, ttl_ms]))

    def unlock(self, shard: Shard, token: str) -> None:
        self._release(keys=[LOCK + shard.key, RUNNING], args=[token, shard.key])

    def mark_retrying(self, shard: Shard) -> None:
        """The shard's task was re-sent with a countdown: queued again, not running."""
        self._requeue(keys=[QUEUED, RUNNING], args=[shard.key])

    def mark_stored(
        self,
        shard: Shard,
        stored: StoredFile,
        *,
        complete: bool,
        source: str,
        archive_sha256: str | None = None,
    ) -> None:
        """Record a committed file: done if its period had ended, else partial.

        Its size and, on object storage, its ETag are recorded; `archive_sha256` lists the
        verified checksums of the archive files it was read from.
        """
        info = {"rows": stored.rows, "bytes": stored.bytes, "complete": complete, "source": source}
        if stored.etag:
            info["etag"] = stored.etag
        if archive_sha256:
            info["archive_sha256"] = archive_sha256
        pipe = self.client.pipeline(transaction=True)
        pipe.sadd(DONE if complete else PARTIAL, shard.key)
        pipe.srem(PARTIAL if complete else DONE, shard.key)
        pipe.hset(FILES, shard.key, json.dumps(info))
        pipe.hdel(FAILED, shard.key)
        self._clear_progress(pipe, shard)
        pipe.execute()

    def mark_failed(self, shard: Shard, reason: str) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(FAILED, shard.key, reason)
        self._clear_progress(pipe, shard)
        pipe.execute()

    def _clear_progress(self, pipe: redis.client.Pipeline, shard: Shard) -> None:
        pipe.hdel(QUEUED, shard.key)
        pipe.srem(RUNNING, shard.key)

    # -- reading ------------------------------------------------------------------------
    def states(self, shards: Sequence[Shard]) -> list[ShardState]:
        if not shards:
            return []
        keys = [s.key for s in shards]
        pipe = self.client.pipeline(transaction=False)
        pipe.smismember(DONE, keys)
        pipe.smismember(PARTIAL, keys)
        pipe.smismember(RUNNING, keys)
        pipe.hmget(QUEUED, keys)
        pipe.hmget(FAILED, keys)
        pipe.hmget(FILES, keys)
        done, partial, running, queued, failed, files = pipe.execute()
        out = []
        for i, shard in enumerate(shards):
            info = json.loads(files[i]) if files[i] else {}
            if done[i]:
                state = "done"
            elif running[i]:
                state = "running"
            elif queued[i] is not None:
                state = "queued"
            elif failed[i] is not None:
                state = "failed"
            elif partial[i]:
                state = "partial"
            else:
                state = "missing"
            reason = failed[i].decode() if failed[i] is not None else None
            out.append(
                ShardState(
                    shard, state, reason, int(info.get("rows", 0)), int(info.get("bytes", 0))
                )
            )
        return out

    def files(self) -> dict[str, dict]:
        """Shard key -> {rows, bytes, complete, source, etag?, archive_sha256?} of every file."""
        return {k.decode(): json.loads(v) for k, v in self.client.hgetall(FILES).items()}

    def failures(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.client.hgetall(FAILED).items()}

    # -- recovery -----------------------------------------------------------------------
    def rebuild_from_files(self, store: Store) -> Rebuilt:
        """Make done, partial and the file index say what the files in `store` say.

        Used after Redis lost the ledger. Only adds what the files show, then drops entries
        whose file no longer exists, so a worker finishing a shard meanwhile loses nothing
        (its file is committed before it is marked done).
        """
        stored = list(store.stored())
        known = {k.decode() for k in self.client.sunion(DONE, PARTIAL)}
        pipe = self.client.pipeline(transaction=True)
        for f in stored:
            info = {"rows": f.rows, "bytes": f.bytes, "complete": f.complete, "source": f.source}
            if f.etag:
                info["etag"] = f.etag
            if f.metadata.get("archive_sha256"):
                info["archive_sha256"] = f.metadata["archive_sha256"]
            pipe.sadd(DONE if f.complete else PARTIAL, f.shard.key)
            pipe.srem(PARTIAL if f.complete else DONE, f.shard.key)
            pipe.hset(FILES, f.shard.key, json.dumps(info))
            pipe.sadd(PLANNED, f.shard.key)
            pipe.hdel(FAILED, f.shard.key)
        keys = {f.shard.key for f in stored}
        gone = [k for k in known - keys if not store.exists(Shard.parse(k))]
        for key in gone:
            pipe.srem(DONE, key)
            pipe.srem(PARTIAL, key)
            pipe.hdel(FILES, key)
        pipe.execute()
        done = sum(f.complete for f in stored)
        return Rebuilt(done, len(stored) - done, len(keys - known), len(gone))

    def planned(self) -> list[Shard]:
        return sorted(Shard.parse(k.decode()) for k in self.client.sscan_iter(PLANNED, count=1000))
