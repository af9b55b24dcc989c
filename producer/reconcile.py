"""`producer reconcile`: the ledger rebuilt from the stored files, and what killed writers
left behind (temp files, incomplete multipart uploads) removed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from storage.ledger import Ledger, Rebuilt
from storage.store import Store


@dataclass(frozen=True)
class Reconciled:
    rebuilt: Rebuilt
    removed: int  # temp files deleted and incomplete uploads aborted
    busy: list[str] = field(default_factory=list)  # shards a live worker is writing now


def reconcile(ledger: Ledger, store: Store, lock_ttl_s: float) -> Reconciled:
    """Rebuild the ledger from `store`, then clear each shard's leftovers under its lock.

    A shard whose lock is held is being written by a live worker: its upload in progress is
    not a leftover, so it is left alone (that worker, or the next, clears it).
    """
    rebuilt = ledger.rebuild_from_files(store)
    removed, busy = 0, []
    for shard in sorted({leftover.shard for leftover in store.leftovers()}):
        token = uuid.uuid4().hex
        if not ledger.lock(shard, token, int(lock_ttl_s * 1000)):
            busy.append(shard.key)
            continue
        try:
            removed += store.remove_leftovers(shard)
        finally:
            ledger.unlock(shard, token)
    return Reconciled(rebuilt, removed, busy)
