"""The Redis ledger of one dataset: which shards are planned, queued, running, done, partial
or failed.

The Parquet files are the truth; the ledger is an index of them (DESIGN.md). A shard
enters `done` only after its file has been committed. Who holds each queued
shard, and which shards nobody holds any more, is storage/custody.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import redis

from storage.keys import Keys
from storage.parquet import StoredFile
from storage.shards import Shard
from storage.store import Store

CLAIMED, SKIP_DONE, SKIP_BUSY = 1, 0, 2
KEPT, RETAKEN, LOST = 1, 2, 0

# KEYS: done, queued, running, planned, sources, held, presence
# ARGV: stale_ms, lock prefix, source, shard keys...  -> per key CLAIMED, SKIP_DONE or SKIP_BUSY
# Skip a done shard; skip one a worker holds the lock of, or whose message was sent less than
# `stale_ms` ago unless it was left running by a worker that is gone; else queue it now.
_CLAIM = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local stale_ms, lock_prefix, source, out = tonumber(ARGV[1]), ARGV[2], ARGV[3], {}
for i = 4, #ARGV do
  local k = ARGV[i]
  redis.call('SADD', KEYS[4], k)
  if redis.call('SISMEMBER', KEYS[1], k) == 1 then
    out[#out + 1] = 0
  elseif redis.call('EXISTS', lock_prefix .. k) == 1 then
    out[#out + 1] = 2
  else
    local sent = redis.call('HGET', KEYS[2], k)
    local holder = redis.call('HGET', KEYS[6], k)
    local alive = holder and tonumber(redis.call('ZSCORE', KEYS[7], holder) or 0) > now_ms
    local orphan = redis.call('SISMEMBER', KEYS[3], k) == 1 and not alive
    if sent and not orphan and now_ms - tonumber(sent) < stale_ms then
      out[#out + 1] = 2
    else
      redis.call('HSET', KEYS[2], k, now_ms)
      redis.call('HSET', KEYS[5], k, source)
      redis.call('HDEL', KEYS[6], k)
      redis.call('SREM', KEYS[3], k)
      out[#out + 1] = 1
    end
  end
end
return out
"""

# KEYS: lock, running  ARGV: token, ttl_ms, shard key -> 1 taken, 0 busy
# A shard still marked running keeps its fetcher even if its lock lapsed (Redis was out of
# reach longer than the TTL): that worker takes it back; only the healer frees the shard.
_LOCK = """
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 1 then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return 1
"""

# KEYS: lock, running  ARGV: token, shard key -> 1 released, 0 not ours
_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SREM', KEYS[2], ARGV[2])
return redis.call('DEL', KEYS[1])
"""

# KEYS: queued, running, held, done  ARGV: shard key -> 1 queued again, 0 done meanwhile
# The shard's message is (about to be) back on the broker: queued as of now, run and held by
# nobody. A done shard stays done.
_REQUEUE = """
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if redis.call('SISMEMBER', KEYS[4], ARGV[1]) == 1 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 0
end
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], ARGV[1], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
return 1
"""

# KEYS: lock, running, done  ARGV: token, ttl_ms, shard key -> KEPT, RETAKEN or LOST
# Extend our lock; if it expired (Redis was out of reach longer than its TTL) take it again,
# unless another worker took it or the shard got done meanwhile.
_KEEP = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder or redis.call('SISMEMBER', KEYS[3], ARGV[3]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return 2
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
    #: why part of the stored period could not be read (a done shard is then *incomplete*)
    incomplete: str | None = None


class Ledger:
    """The ledger of the dataset `namespace` (storage/keys.py) on `client`."""

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.keys = Keys(namespace)
        self._claim = client.register_script(_CLAIM)
        self._lock = client.register_script(_LOCK)
        self._release = client.register_script(_RELEASE)
        self._keep = client.register_script(_KEEP)
        self._requeue = client.register_script(_REQUEUE)

    @property
    def namespace(self) -> str:
        return self.keys.namespace

    # -- the producer's side ------------------------------------------------------------
    def is_done(self, shards: Sequence[Shard]) -> list[bool]:
        if not shards:
            return []
        return [bool(x) for x in self.client.smismember(self.keys.done, [s.key for s in shards])]

    def claim(self, shards: Sequence[Shard], stale_ms: int, source: str = "auto") -> list[int]:
        """Atomically decide, per shard, CLAIMED (send it), SKIP_DONE or SKIP_BUSY.

        Two producers claiming the same shards at once get each shard claimed once.
        A claim older than `stale_ms`, or one left running by a worker that is gone (lock
        expired, heartbeat stopped), is claimed again. The `source` is remembered, so a
        shard re-sent without a person is read from where it was asked for.
        """
        if not shards:
            return []
        k = self.keys
        keys = [k.done, k.queued, k.running, k.planned, k.sources, k.held, k.presence]
        args = [stale_ms, k.lock, source, *[s.key for s in shards]]
        return [int(x) for x in self._claim(keys=keys, args=args)]

    def unclaim(self, shards: Iterable[Shard]) -> None:
        """Undo claims whose messages could not be sent."""
        keys = [s.key for s in shards]
        if keys:
            self.client.hdel(self.keys.queued, *keys)

    # -- the worker's side --------------------------------------------------------------
    def lock(self, shard: Shard, token: str, ttl_ms: int) -> bool:
        """Take the shard's expiring lock so two deliveries never run at once. Refused while
        the shard is locked, or still marked running by a worker whose lock lapsed (see
        `keep_lock`; the healer frees the shard if that worker is gone)."""
        keys = [self.keys.lock + shard.key, self.keys.running]
        return bool(self._lock(keys=keys, args=[token, ttl_ms, shard.key]))

    def keep_lock(self, shard: Shard, token: str, ttl_ms: int) -> int:
        """Extend our lock by `ttl_ms`: KEPT; RETAKEN when it had expired and nobody took it
        (Redis was out of reach); LOST when another worker took it or the shard is done."""
        keys = [self.keys.lock + shard.key, self.keys.running, self.keys.done]
        return int(self._keep(keys=keys, args=[token, ttl_ms, shard.key]))

    def locked(self, shards: Sequence[Shard]) -> list[bool]:
        """Whether a worker holds each shard's lock now (it is writing the shard)."""
        pipe = self.client.pipeline(transaction=False)
        for shard in shards:
            pipe.exists(self.keys.lock + shard.key)
        return [bool(x) for x in pipe.execute()]

    def unlock(self, shard: Shard, token: str) -> None:
        self._release(keys=[self.keys.lock + shard.key, self.keys.running], args=[token, shard.key])

    def requeue(self, shard: Shard) -> bool:
        """The shard's message is back on the broker (a retry with a countdown, a shard handed
        back by a stopping worker): queued as of now, run and held by nobody. False if the
        shard is done (then nothing is queued)."""
        k = self.keys
        return bool(self._requeue(keys=[k.queued, k.running, k.held, k.done], args=[shard.key]))

    def mark_retrying(self, shard: Shard) -> None:
        """The shard's task was re-sent with a countdown: queued again, not running."""
        self.requeue(shard)

    def settle(self, shard: Shard) -> None:
        """A delivery of a shard that is done already: nothing of it is queued or held."""
        pipe = self.client.pipeline(transaction=True)
        self._clear_progress(pipe, shard)
        pipe.execute()

    def mark_stored(
        self,
        shard: Shard,
        stored: StoredFile,
        *,
        complete: bool,
        source: str,
        archive_sha256: str | None = None,
        incomplete: str | None = None,
    ) -> None:
        """Record a committed file: done if its period had ended, else partial.

        Its size and, on object storage, its ETag are recorded; `archive_sha256` lists the
        verified checksums of the archive files it was read from. `incomplete` says why part
        of the period could not be read: such a shard of a closed period is done all the same
        (a re-run does not fetch it again; see `reopen`).
        """
        info = {"rows": stored.rows, "bytes": stored.bytes, "complete": complete, "source": source}
        if stored.etag:
            info["etag"] = stored.etag
        if archive_sha256:
            info["archive_sha256"] = archive_sha256
        k = self.keys
        pipe = self.client.pipeline(transaction=True)
        pipe.sadd(k.done if complete else k.partial, shard.key)
        pipe.srem(k.partial if complete else k.done, shard.key)
        pipe.hset(k.files, shard.key, json.dumps(info))
        if incomplete:
            pipe.hset(k.incomplete, shard.key, incomplete)
        else:
            pipe.hdel(k.incomplete, shard.key)
        pipe.hdel(k.failed, shard.key)
        self._clear_progress(pipe, shard)
        pipe.execute()

    def mark_failed(self, shard: Shard, reason: str) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(self.keys.failed, shard.key, reason)
        self._clear_progress(pipe, shard)
        pipe.execute()

    def _clear_progress(self, pipe: redis.client.Pipeline, shard: Shard) -> None:
        k = self.keys
        for name in (k.queued, k.held, k.sources, k.lockless):
            pipe.hdel(name, shard.key)
        pipe.srem(k.running, shard.key)

    # -- reading ------------------------------------------------------------------------
    def states(self, shards: Sequence[Shard]) -> list[ShardState]:
        if not shards:
            return []
        keys = [s.key for s in shards]
        k = self.keys
        pipe = self.client.pipeline(transaction=False)
        pipe.smismember(k.done, keys)
        pipe.smismember(k.partial, keys)
        pipe.smismember(k.running, keys)
        pipe.hmget(k.queued, keys)
        pipe.hmget(k.failed, keys)
        pipe.hmget(k.files, keys)
        pipe.hmget(k.incomplete, keys)
        done, partial, running, queued, failed, files, incomplete = pipe.execute()
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
            why = incomplete[i].decode() if incomplete[i] is not None else None
            rows, size = int(info.get("rows", 0)), int(info.get("bytes", 0))
            out.append(ShardState(shard, state, reason, rows, size, why))
        return out

    def incomplete(self, shards: Sequence[Shard]) -> list[str | None]:
        """Why each shard's stored file lacks part of its period; None for a whole one."""
        if not shards:
            return []
        found = self.client.hmget(self.keys.incomplete, [s.key for s in shards])
        return [None if why is None else why.decode() for why in found]

    def reopen(self, shards: Sequence[Shard]) -> None:
        """Take stored shards out of done and partial, so the next claim sends them again
        (an incomplete shard that a source can now serve whole). Their files stay until a
        worker writes the new ones."""
        keys = [s.key for s in shards]
        if keys:
            pipe = self.client.pipeline(transaction=True)
            pipe.srem(self.keys.done, *keys)
            pipe.srem(self.keys.partial, *keys)
            pipe.execute()

    def files(self) -> dict[str, dict]:
        """Shard key -> {rows, bytes, complete, source, etag?, archive_sha256?} of every file."""
        return {k.decode(): json.loads(v) for k, v in self.client.hgetall(self.keys.files).items()}

    def failures(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.client.hgetall(self.keys.failed).items()}

    # -- recovery -----------------------------------------------------------------------
    def rebuild_from_files(self, store: Store) -> Rebuilt:
        """Make done, partial and the file index say what the files in `store` say.

        Used after Redis lost the ledger. Only adds what the files show, then drops entries
        whose file no longer exists, so a worker finishing a shard meanwhile loses nothing
        (its file is committed before it is marked done).
        """
        stored = list(store.stored())
        k = self.keys
        known = {key.decode() for key in self.client.sunion(k.done, k.partial)}
        pipe = self.client.pipeline(transaction=True)
        for f in stored:
            info = {"rows": f.rows, "bytes": f.bytes, "complete": f.complete, "source": f.source}
            if f.etag:
                info["etag"] = f.etag
            if f.metadata.get("archive_sha256"):
                info["archive_sha256"] = f.metadata["archive_sha256"]
            pipe.sadd(k.done if f.complete else k.partial, f.shard.key)
            pipe.srem(k.partial if f.complete else k.done, f.shard.key)
            pipe.hset(k.files, f.shard.key, json.dumps(info))
            pipe.sadd(k.planned, f.shard.key)
            pipe.hdel(k.failed, f.shard.key)
            if f.metadata.get("incomplete"):
                pipe.hset(k.incomplete, f.shard.key, f.metadata["incomplete"])
            else:
                pipe.hdel(k.incomplete, f.shard.key)
        keys = {f.shard.key for f in stored}
        gone = [key for key in known - keys if not store.exists(Shard.parse(key))]
        for key in gone:
            pipe.srem(k.done, key)
            pipe.srem(k.partial, key)
            pipe.hdel(k.files, key)
            pipe.hdel(k.incomplete, key)
        pipe.execute()
        done = sum(f.complete for f in stored)
        return Rebuilt(done, len(stored) - done, len(keys - known), len(gone))

    def planned(self) -> list[Shard]:
        return sorted(
            Shard.parse(key.decode())
            for key in self.client.sscan_iter(self.keys.planned, count=1000)
        )
