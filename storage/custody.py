"""Who holds each shard's message, which workers are alive, and which shards nobody holds.

A shard the ledger calls queued may be on the broker's list, prefetched or scheduled for a
retry inside a worker's memory, or lost (a broker that loses unacknowledged messages on
shutdown, a Redis that lost its last second). Each worker records the shards it receives
(`hold`) and keeps a heartbeat (`beat`); an *orphan* is then a shard that:

* runs without its lock and was held by a worker that is gone (killed mid-fetch), or has
  run without its lock for longer than a grace (its worker failed to keep it);
* is held by a worker that is gone (prefetched or waiting for a retry when it died);
* is held by nobody, was sent more than `lost_after_ms` ago, and its queue is empty (its
  message never reached the broker, or the broker lost it).

`orphans` finds them from a snapshot; `reclaim` re-queues them atomically, re-checking that
nobody took them meanwhile, so that the caller sends each one message again. A message that
comes back later anyway finds the shard done or locked: one fetch, one file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import redis

from storage.keys import Keys
from storage.shards import Shard

# KEYS: done, queued, running, held, lockless, healed  ARGV: lock prefix, (key, holder)...
# -> the keys queued again. A key is re-queued only if it is not done, not locked, and still
# held by the holder the caller saw ('' for nobody); a done key is only cleared.
_RECLAIM = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i = 2, #ARGV, 2 do
  local k, seen = ARGV[i], ARGV[i + 1]
  if redis.call('SISMEMBER', KEYS[1], k) == 1 then
    redis.call('HDEL', KEYS[2], k)
    redis.call('HDEL', KEYS[4], k)
    redis.call('SREM', KEYS[3], k)
  elseif redis.call('EXISTS', ARGV[1] .. k) == 0
      and (redis.call('HGET', KEYS[4], k) or '') == seen then
    redis.call('HSET', KEYS[2], k, now_ms)
    redis.call('SREM', KEYS[3], k)
    redis.call('HDEL', KEYS[4], k)
    redis.call('HDEL', KEYS[5], k)
    redis.call('INCR', KEYS[6])
    out[#out + 1] = k
  end
end
return out
"""

# KEYS: presence  ARGV: holder, ttl_ms, forget_ms -> 1. Heartbeats expire by the server's
# clock; ids gone for longer than `forget_ms` are dropped.
_BEAT = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms - tonumber(ARGV[3]))
return 1
"""

FORGET_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class Orphan:
    shard: Shard
    holder: str  # the holder seen when it was found; "" for nobody
    reason: str


class Custody:
    """Holders, heartbeats and orphans of the dataset `namespace` on `client`."""

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.keys = Keys(namespace)
        self._reclaim = client.register_script(_RECLAIM)
        self._beat = client.register_script(_BEAT)

    def now_ms(self) -> int:
        """The Redis server's clock: every host judges heartbeats by the same one."""
        seconds, micros = self.client.time()
        return seconds * 1000 + micros // 1000

    # -- workers --------------------------------------------------------------------------
    def beat(self, holder: str, ttl_ms: int) -> None:
        """`holder` is alive for `ttl_ms` more."""
        self._beat(keys=[self.keys.presence], args=[holder, ttl_ms, FORGET_MS])

    def leave(self, holder: str) -> None:
        """`holder` stopped: what it holds is orphaned at once."""
        self.client.zrem(self.keys.presence, holder)

    def alive(self) -> set[str]:
        now = self.now_ms()
        return {m.decode() for m in self.client.zrangebyscore(self.keys.presence, now, "+inf")}

    def hold(self, shard: Shard, holder: str) -> None:
        """`holder` received a message of the shard (to run now, later, or after a retry)."""
        self.client.hset(self.keys.held, shard.key, holder)

    def held_by(self, holder: str) -> list[Shard]:
        """The shards `holder` holds and is not running."""
        k = self.keys
        held = [key.decode() for key, h in self.client.hscan_iter(k.held) if h.decode() == holder]
        if not held:
            return []
        running = self.client.smismember(k.running, held)
        return [Shard.parse(key) for key, run in zip(held, running, strict=True) if not run]

    # -- healing --------------------------------------------------------------------------
    def heal_turn(self, period_ms: int) -> bool:
        """True for one caller per `period_ms` across the cluster: that one runs a heal pass."""
        return bool(self.client.set(self.keys.heal, "1", nx=True, px=period_ms))

    def healed(self) -> int:
        """How many shards were re-sent without a person (a counter that only grows)."""
        return int(self.client.get(self.keys.healed) or 0)

    def count_resent(self, shards: int = 1) -> None:
        """Count shards a stopping worker handed back (`reclaim` counts orphans itself)."""
        self.client.incrby(self.keys.healed, shards)

    def orphans(self, *, lost_after_ms: int, grace_ms: int) -> list[Orphan]:
        """The shards nobody holds any more (see the module docstring), from one snapshot.

        Records when each running shard was first seen without its lock, so that a worker
        that is alive gets `grace_ms` to take its lock again (Redis was out of reach).
        """
        k = self.keys
        now = self.now_ms()
        alive = self.alive()
        held = _decoded(self.client.hscan_iter(k.held, count=1000))
        queued = _decoded(self.client.hscan_iter(k.queued, count=1000))
        seen_lockless = _decoded(self.client.hscan_iter(k.lockless, count=1000))
        running = sorted(m.decode() for m in self.client.sscan_iter(k.running, count=1000))
        pipe = self.client.pipeline(transaction=False)
        for key in running:
            pipe.exists(k.lock + key)
        locked = dict(zip(running, pipe.execute(), strict=True))
        out: list[Orphan] = []
        first_seen: dict[str, int] = {}
        for key in running:
            if locked[key]:
                continue
            holder = held.get(key, "")
            if holder and holder not in alive:
                out.append(Orphan(Shard.parse(key), holder, f"its worker {holder} is gone"))
                continue
            since = int(seen_lockless.get(key, now))
            first_seen[key] = since
            if now - since >= grace_ms:
                left = f"has run without its lock for {(now - since) / 1000:.0f}s"
                out.append(Orphan(Shard.parse(key), holder, left))
        idle = self._idle_queues({Shard.parse(key).queue for key in queued})
        for key, sent in queued.items():
            if key in locked:
                continue
            holder = held.get(key, "")
            if holder:
                if holder not in alive:
                    out.append(Orphan(Shard.parse(key), holder, f"its worker {holder} is gone"))
            elif now - int(sent) >= lost_after_ms and Shard.parse(key).queue in idle:
                why = f"nobody received its message in {(now - int(sent)) / 1000:.0f}s"
                out.append(Orphan(Shard.parse(key), "", why))
        self._note_lockless(first_seen, set(seen_lockless))
        return out

    def reclaim(self, orphans: Sequence[Orphan]) -> list[Shard]:
        """Queue again, as of now, the orphans nobody took meanwhile; the caller sends them."""
        if not orphans:
            return []
        k = self.keys
        args: list[str] = [k.lock]
        for o in orphans:
            args += [o.shard.key, o.holder]
        keys = [k.done, k.queued, k.running, k.held, k.lockless, k.healed]
        return [Shard.parse(key.decode()) for key in self._reclaim(keys=keys, args=args)]

    def sources(self, shards: Iterable[Shard]) -> dict[Shard, str]:
        """The source (auto|archive|rest) each shard was sent with ("auto" if unknown)."""
        shards = list(shards)
        if not shards:
            return {}
        raw = self.client.hmget(self.keys.sources, [s.key for s in shards])
        return {s: (v.decode() if v else "auto") for s, v in zip(shards, raw, strict=True)}

    def _idle_queues(self, names: set[str]) -> set[str]:
        if not names:
            return set()
        order = sorted(names)
        pipe = self.client.pipeline(transaction=False)
        for name in order:
            pipe.llen(self.keys.queue(name))
        return {name for name, depth in zip(order, pipe.execute(), strict=True) if depth == 0}

    def _note_lockless(self, first_seen: dict[str, int], known: set[str]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for key, since in first_seen.items():
            pipe.hsetnx(self.keys.lockless, key, since)
        stale = known - set(first_seen)
        if stale:
            pipe.hdel(self.keys.lockless, *stale)
        pipe.execute()


def _decoded(items: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in items}
