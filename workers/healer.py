"""Healing: shards nobody holds any more are queued again and re-sent, without a person.

Every worker runs a `Healer` every `heal_period_s` (workers/presence.py), and so do
`producer enqueue --wait` and `producer status --watch` while they watch; a short Redis key
(`Custody.heal_turn`) lets one pass run per period across the whole cluster. So healing
needs no extra process to deploy and survives any single machine dying, which a `celery
beat` entry would not: beat must run exactly once (a second one doubles every send, a dead
one stops healing), and its heal message would wait in line behind the very queue it heals.

What counts as an orphan, and why a re-sent shard is fetched once, is storage/custody.py.
"""

from __future__ import annotations

import logging
import time

from celery import Celery

from storage.custody import Custody
from storage.errors import RedisUnavailable
from storage.shards import Shard
from workers.dispatch import send
from workers.edge import REDIS_DOWN, mapped
from workers.settings import Settings

log = logging.getLogger(__name__)


class Healer:
    """Heal passes of one process.

    After a start, and after any time it could not see Redis (an outage, or nobody asked it
    to heal), a healer first waits two heartbeats: every live worker then had time to say so
    again, and to take back a shard lock that expired during an outage, before anybody's
    shards are judged orphaned.
    """

    def __init__(self, app: Celery, custody: Custody, settings: Settings) -> None:
        self.app = app
        self.custody = custody
        self.settings = settings
        self._settled_at = 0.0  # monotonic time from which passes may run
        self._last_seen: float | None = None  # when Redis last answered this healer

    def heal(self) -> list[Shard]:
        """Run a heal pass if it is this process's turn; the shards re-sent."""
        s = self.settings
        try:
            with mapped("Redis"):
                self.custody.now_ms()
                now = time.monotonic()
                # Shorter gaps cannot hide a lapsed lock: a lock lives three heartbeats.
                if self._last_seen is None or now - self._last_seen > 2 * s.heartbeat_s:
                    self._settled_at = now + 2 * s.heartbeat_s
                self._last_seen = now
                if now < self._settled_at:
                    return []
                if not self.custody.heal_turn(int(s.heal_period_s * 1000)):
                    return []
                orphans = self.custody.orphans(
                    lost_after_ms=int(s.lost_after_s * 1000), grace_ms=int(s.lock_ttl_s * 1000)
                )
                shards = self.custody.reclaim(orphans)
                sources = self.custody.sources(shards)
        except RedisUnavailable as exc:
            if self._last_seen is not None:
                log.warning("healing waits for Redis: %s", exc)
            self._last_seen = None
            return []
        why = {o.shard: o.reason for o in orphans}
        for shard in shards:
            log.warning("%s: re-sent: %s", shard.key, why[shard])
        sent: list[Shard] = []
        try:
            send(self.app, shards, sources, s.namespace, sent)
        except REDIS_DOWN as exc:
            # They stay queued with nobody holding them: a later pass sends them again.
            log.warning("healing could not send %d shards: %s", len(shards) - len(sent), exc)
        return shards
