"""Sending planned shards to their exchange's queue, each at most once across producers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from celery import Celery

from storage.ledger import CLAIMED, SKIP_DONE, Ledger
from storage.shards import Shard
from workers.publish import BATCH, publish, publisher


@dataclass
class EnqueueReport:
    sent: list[Shard] = field(default_factory=list)
    already_done: list[Shard] = field(default_factory=list)
    in_progress: list[Shard] = field(default_factory=list)


def enqueue(
    app: Celery,
    ledger: Ledger,
    shards: Sequence[Shard],
    stale_ms: int,
    source: str = "auto",
    batch: int = BATCH,
) -> EnqueueReport:
    """Claim each shard in the ledger, then send a task for each claimed one, carrying the
    `source` the worker should read it from (auto|archive|rest).

    Claims and messages go `batch` shards at a time (workers/publish.py), so 100k shards
    cost seconds, and a batch is claimed only once the one before is on the broker. A shard
    that is done, or queued or running elsewhere, is not sent again. If sending fails, the
    claims not yet sent are released so a re-run sends them.
    """
    report = EnqueueReport()
    with publisher(app, ledger.namespace) as pub:
        for start in range(0, len(shards), batch):
            part = shards[start : start + batch]
            decisions = ledger.claim(part, stale_ms, source)
            claimed: list[Shard] = []
            for shard, decision in zip(part, decisions, strict=True):
                if decision == CLAIMED:
                    claimed.append(shard)
                elif decision == SKIP_DONE:
                    report.already_done.append(shard)
                else:
                    report.in_progress.append(shard)
            done_before = len(report.sent)
            try:
                publish(pub, claimed, source, report.sent, batch)
            finally:
                ledger.unclaim(claimed[len(report.sent) - done_before :])
    return report
