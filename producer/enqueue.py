"""Sending planned shards to their exchange's queue, each at most once across producers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from celery import Celery

from storage.ledger import CLAIMED, SKIP_DONE, Ledger
from storage.shards import Shard
from workers.dispatch import send


@dataclass
class EnqueueReport:
    sent: list[Shard] = field(default_factory=list)
    already_done: list[Shard] = field(default_factory=list)
    in_progress: list[Shard] = field(default_factory=list)


def enqueue(
    app: Celery, ledger: Ledger, shards: Sequence[Shard], stale_ms: int, source: str = "auto"
) -> EnqueueReport:
    """Claim each shard in the ledger, then send a task for each claimed one, carrying the
    `source` the worker should read it from (auto|archive|rest).

    A shard that is done, or queued or running elsewhere, is not sent again. If sending
    fails, the claims not yet sent are released so a re-run sends them.
    """
    report = EnqueueReport()
    decisions = ledger.claim(shards, stale_ms, source)
    claimed = [s for s, d in zip(shards, decisions, strict=True) if d == CLAIMED]
    report.already_done = [s for s, d in zip(shards, decisions, strict=True) if d == SKIP_DONE]
    report.in_progress = [
        s for s, d in zip(shards, decisions, strict=True) if d not in (CLAIMED, SKIP_DONE)
    ]
    try:
        send(app, claimed, source, ledger.namespace, report.sent)
    finally:
        ledger.unclaim(claimed[len(report.sent) :])
    return report
