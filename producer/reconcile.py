"""`producer reconcile`: the ledger rebuilt from the stored files, and what killed writers
left behind (temp files, incomplete multipart uploads) removed."""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.ledger import Ledger, Rebuilt
from storage.store import Store


@dataclass(frozen=True)
class Reconciled:
    rebuilt: Rebuilt
    removed: int  # temp files deleted and incomplete uploads aborted
    busy: list[str] = field(default_factory=list)  # shards a live worker is writing now


def reconcile(ledger: Ledger, store: Store) -> Reconciled:
    """Rebuild the ledger from `store`, then remove the leftovers of shards nobody writes.

    A shard whose lock is held is being written by a live worker: its upload in progress
    is not a leftover. Only the leftovers listed before the lock was checked are removed,
    so a worker that takes the shard meanwhile keeps its new temp file or upload.
    """
    rebuilt = ledger.rebuild_from_files(store)
    leftovers = store.leftovers()
    shards = sorted({leftover.shard for leftover in leftovers})
    busy = {s for s, held in zip(shards, ledger.locked(shards), strict=True) if held}
    removed = 0
    for leftover in leftovers:
        if leftover.shard not in busy:
            store.discard(leftover)
            removed += 1
    return Reconciled(rebuilt, removed, sorted(s.key for s in busy))
