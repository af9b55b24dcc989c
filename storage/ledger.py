"""The Redis ledger of one dataset: which shards are planned, queued, running, done, partial
or failed.

The Parquet files are the truth; the ledger is an index of them (DESIGN.md). A shard
enters `done` only after its file has been committed. Who holds each queued
shard, and which shards nobody holds any more, is storage/custody.py.

Every change of a shard's state is one Lua script (storage/lua/) that also moves its
group's counters (storage/states.py), so `counts` costs O(groups), not O(shards).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis

from storage.keys import Keys
from storage.scripts import Scripts
from storage.shards import Shard
from storage.states import COUNTED, Count, group_of, of, parse

if TYPE_CHECKING:  # the status commands need neither pyarrow's writer nor a store
    from storage.parquet import StoredFile
    from storage.store import Store

CLAIMED, SKIP_DONE, SKIP_BUSY = 1, 0, 2
KEPT, RETAKEN, LOST = 1, 2, 0
_BATCH = 1000  # keys per script call where a command changes many shards (rebuild, reopen)


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
        self._run = Scripts(client, self.keys)

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
        decided = self._run("claim", stale_ms, source, *[s.key for s in shards])
        return [int(x) for x in decided]  # type: ignore[union-attr]

    def unclaim(self, shards: Iterable[Shard]) -> None:
        """Undo claims whose messages could not be sent."""
        self._each("unclaim", [s.key for s in shards])

    # -- the worker's side --------------------------------------------------------------
    def lock(self, shard: Shard, token: str, ttl_ms: int) -> bool:
        """Take the shard's expiring lock so two deliveries never run at once. Refused while
        the shard is locked, or still marked running by a worker whose lock lapsed (see
        `keep_lock`; the healer frees the shard if that worker is gone)."""
        return bool(self._run("lock", token, ttl_ms, shard.key))

    def keep_lock(self, shard: Shard, token: str, ttl_ms: int) -> int:
        """Extend our lock by `ttl_ms`: KEPT; RETAKEN when it had expired and nobody took it
        (Redis was out of reach); LOST when another worker took it or the shard is done."""
        return int(self._run("keep", token, ttl_ms, shard.key))  # type: ignore[arg-type]

    def locked(self, shards: Sequence[Shard]) -> list[bool]:
        """Whether a worker holds each shard's lock now (it is writing the shard)."""
        pipe = self.client.pipeline(transaction=False)
        for shard in shards:
            pipe.exists(self.keys.lock + shard.key)
        return [bool(x) for x in pipe.execute()]

    def unlock(self, shard: Shard, token: str) -> None:
        self._run("release", token, shard.key)

    def requeue(self, shard: Shard) -> bool:
        """The shard's message is back on the broker (a retry with a countdown, a shard handed
        back by a stopping worker): queued as of now, run and held by nobody. False if the
        shard is done (then nothing is queued)."""
        return bool(self._run("requeue", shard.key))

    def mark_retrying(self, shard: Shard) -> None:
        """The shard's task was re-sent with a countdown: queued again, not running."""
        self.requeue(shard)

    def settle(self, shard: Shard) -> None:
        """A delivery of a shard that is done already: nothing of it is queued or held."""
        self._run("settle", shard.key)

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
        self._run("stored", shard.key, int(complete), json.dumps(info), incomplete or "")

    def mark_failed(self, shard: Shard, reason: str) -> None:
        self._run("failed", shard.key, reason)

    def _each(self, script: str, args: Sequence[str], per_key: int = 1) -> None:
        """Run `script` over `args` in slices, so a big change never blocks Redis for long."""
        step = _BATCH * per_key
        for i in range(0, len(args), step):
            self._run(script, *args[i : i + step])

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
            state = of(
                done=bool(done[i]),
                running=bool(running[i]),
                queued=queued[i] is not None,
                failed=failed[i] is not None,
                partial=bool(partial[i]),
            )
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
        self._each("reopen", [s.key for s in shards])

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
        found: list[str] = []
        for f in stored:
            info = {"rows": f.rows, "bytes": f.bytes, "complete": f.complete, "source": f.source}
            if f.etag:
                info["etag"] = f.etag
            if f.metadata.get("archive_sha256"):
                info["archive_sha256"] = f.metadata["archive_sha256"]
            why = f.metadata.get("incomplete") or ""
            found += [f.shard.key, str(int(f.complete)), json.dumps(info), why]
        self._each("restore", found, per_key=4)
        keys = {f.shard.key for f in stored}
        gone = [key for key in known - keys if not store.exists(Shard.parse(key))]
        self._each("forget", gone)
        done = sum(f.complete for f in stored)
        return Rebuilt(done, len(stored) - done, len(keys - known), len(gone))

    # -- counters -----------------------------------------------------------------------
    def counts(self) -> dict[str, Count]:
        """The counters of every group (storage/states.py): one read of a small hash.

        A ledger written before the counters existed is counted once, first.
        """
        raw = self.client.hgetall(self.keys.tally)
        if COUNTED.encode() not in raw:
            self.recount()
            raw = self.client.hgetall(self.keys.tally)
        return parse(raw)

    def recount(self) -> int:
        """Count every planned shard afresh (O(shards), one atomic step); how many."""
        return int(self._run("recount"))  # type: ignore[arg-type]

    def failed_of(self, groups: Iterable[str] | None = None) -> dict[str, str]:
        """Shard key -> reason of the shards in state failed (of `groups` only if given):
        reads the failure reasons, not every planned shard."""
        wanted = None if groups is None else set(groups)
        reasons = {
            key: why
            for key, why in self.failures().items()
            if wanted is None or group_of(key) in wanted
        }
        shards = [Shard.parse(key) for key in sorted(reasons)]
        return {
            st.shard.key: reasons[st.shard.key]
            for st in self.states(shards)
            if st.state == "failed"
        }

    def incomplete_of(self, groups: Iterable[str] | None = None) -> dict[str, str]:
        """Shard key -> why, of stored (done or partial) shards with part of the period missing."""
        wanted = None if groups is None else set(groups)
        found = {
            k.decode(): v.decode() for k, v in self.client.hgetall(self.keys.incomplete).items()
        }
        found = {k: v for k, v in found.items() if wanted is None or group_of(k) in wanted}
        shards = [Shard.parse(key) for key in sorted(found)]
        return {
            st.shard.key: found[st.shard.key]
            for st in self.states(shards)
            if st.state in ("done", "partial")
        }

    def planned(self) -> list[Shard]:
        return sorted(
            Shard.parse(key.decode())
            for key in self.client.sscan_iter(self.keys.planned, count=1000)
        )
