"""Sending failed shards again, once their cause is fixed (`producer retry-failed`), and, when
asked (`--incomplete`), the shards stored incomplete."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from producer.enqueue import EnqueueReport, enqueue
from storage.ledger import Ledger
from storage.shards import Shard
from workers.settings import Settings


def failed_shards(ledger: Ledger, keep: Callable[[Shard], bool]) -> dict[Shard, str]:
    """Shard -> reason of every shard that is failed now (not queued again) and `keep` keeps."""
    shards = sorted(s for s in map(Shard.parse, ledger.failures()) if keep(s))
    return {st.shard: st.reason or "" for st in ledger.states(shards) if st.state == "failed"}


def incomplete_shards(ledger: Ledger, keep: Callable[[Shard], bool]) -> dict[Shard, str]:
    """Shard -> why, of every stored shard `keep` keeps whose file lacks part of its period:
    reads the incomplete ones, not every planned shard."""
    found = ((Shard.parse(key), why) for key, why in ledger.incomplete_of().items())
    return {shard: why for shard, why in found if keep(shard)}


def resend_failed(
    ledger: Ledger, shards: Sequence[Shard], settings: Settings, source: str
) -> EnqueueReport:
    """Queue failed shards again through the same claim as `enqueue`, so a shard that a
    concurrent run already re-sent, or that got done meanwhile, is not sent twice.

    The recorded reason stays until the shard is stored (or replaced by a new reason):
    the ledger reports a queued or running shard as such, whatever it failed with before.
    """
    from workers.celery import app

    return enqueue(app, ledger, shards, int(settings.visibility_timeout_s * 1000), source)
