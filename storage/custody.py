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

A heal pass costs what is running and held plus a bounded slice: the third kind is read
from an index of queued shards by the time they were sent (`sent:<exchange>`, a sorted
set), only for exchanges whose queue is empty, oldest first and at most `LOST_SLICE` at a
time; the whole `queued` hash (300k shards on a big job) is never scanned.

`orphans` finds them from a snapshot; `reclaim` re-queues them atomically, re-checking that
nobody took them meanwhile, so that the caller sends each one message again. A message that
comes back later anyway finds the shard done or locked: one fetch, one file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import redis

from storage.keys import Keys
from storage.scripts import Scripts
from storage.shards import Shard
from storage.states import COUNTED

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
#: lost shards (held by nobody, queue empty) re-sent per heal pass at most
LOST_SLICE = 5000


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
        self._run = Scripts(client, self.keys)
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
        if not self.client.hexists(k.tally, COUNTED):
            self._run("recount")  # a ledger from before the sent index: index it once
        now = self.now_ms()
        alive = self.alive()
        held = _decoded(self.client.hscan_iter(k.held, count=1000))
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
        waiting = [key for key in held if key not in locked]
        sent = self.client.hmget(k.queued, waiting) if waiting else []
        for key, when in zip(waiting, sent, strict=True):
            if when is not None and held[key] not in alive:
                why = f"its worker {held[key]} is gone"
                out.append(Orphan(Shard.parse(key), held[key], why))
        out += self._lost(now - lost_after_ms, now, skip=locked.keys() | held.keys())
        self._note_lockless(first_seen, set(seen_lockless))
        return out

    def _lost(self, cutoff_ms: int, now: int, skip: set[str]) -> list[Orphan]:
        """Queued shards held by nobody, sent before `cutoff_ms`, of exchanges whose queue is
        empty: the oldest `LOST_SLICE` of each (the next pass takes the next ones)."""
        senders = {m.decode() for m in self.client.smembers(self.keys.senders)}
        out: list[Orphan] = []
        for name in sorted(self._idle_queues(senders)):
            oldest = self.client.zrangebyscore(
                self.keys.sent + name,
                "-inf",
                cutoff_ms,
                start=0,
                num=LOST_SLICE + len(skip),
                withscores=True,
            )
            lost = [(m.decode(), int(ms)) for m, ms in oldest if m.decode() not in skip]
            for key, sent in lost[:LOST_SLICE]:
                why = f"nobody received its message in {(now - sent) / 1000:.0f}s"
                out.append(Orphan(Shard.parse(key), "", why))
        return out

    def reclaim(self, orphans: Sequence[Orphan]) -> list[Shard]:
        """Queue again, as of now, the orphans nobody took meanwhile; the caller sends them."""
        if not orphans:
            return []
        args: list[str] = []
        for o in orphans:
            args += [o.shard.key, o.holder]
        back = self._run("reclaim", *args)
        return [Shard.parse(key.decode()) for key in back]  # type: ignore[union-attr]

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
