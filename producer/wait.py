"""Watching shards until they finish (`enqueue --wait`) or until Ctrl-C (`status --watch`).

Both read the ledger's per-group counters, heal while they watch (workers/healer.py) and wait
out a Redis that is out of reach. A waiter sleeps on the ledger's announcements (the ledger's
scripts PUBLISH whenever shards finish; `Announcements`), so it learns that the last shard
finished at once, not a poll later; `poll_s` only bounds the sleep, to heal and redraw.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext, suppress
from dataclasses import dataclass, field

import redis
from rich.console import Console
from rich.live import Live

from producer.dashboard import Pace, Scope, Snapshot, all_finished, render, snapshot
from storage.errors import RedisUnavailable, ShardfetchError
from storage.ledger import Ledger
from storage.shards import Shard
from storage.states import group_of
from workers.edge import mapped
from workers.ratelimit import Budget

Heal = Callable[[], object]
#: the least time between two reads of the counters while shards finish fast
MIN_GAP_S = 0.1
#: the least time between two redraws of the live view
REDRAW_S = 0.5


class _Outage:
    """Says once that Redis is out of reach, and once that it is back."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.down = False

    def snapshot(self, read: Callable[[], Snapshot], heal: Heal | None) -> Snapshot | None:
        try:
            with mapped("Redis"):
                snap = read()
        except RedisUnavailable as exc:
            if not self.down:
                self.console.print(f"[yellow]{exc}: waiting for it[/yellow]")
            self.down = True
            return None
        if self.down:
            self.console.print("Redis answers again")
        self.down = False
        if heal is not None:
            heal()
        return snap


class Announcements:
    """The ledger's "shards finished" channel (storage/lua/tally.lua publishes on it)."""

    def __init__(self, ledger: Ledger) -> None:
        self.client = ledger.client
        self.channel = ledger.keys.finished
        self.pubsub: redis.client.PubSub | None = None

    def listen(self) -> None:
        """Subscribe now, before the counters are read, so no announcement falls between."""
        try:
            if self.pubsub is None:
                self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
                self.pubsub.subscribe(self.channel)
        except redis.RedisError:
            self.close()

    def wait(self, timeout_s: float) -> bool:
        """Block until shards finish (True) or `timeout_s` passes (False). With Redis out of
        reach it just waits out `timeout_s`, and subscribes again next time."""
        end = time.monotonic() + timeout_s
        self.listen()
        try:
            while self.pubsub is not None and (left := end - time.monotonic()) > 0:
                if self.pubsub.get_message(timeout=left) is not None:
                    while self.pubsub.get_message(timeout=0) is not None:
                        pass  # one wake-up for everything announced so far
                    return True
        except (redis.RedisError, OSError):
            self.close()
        time.sleep(max(0.0, end - time.monotonic()))
        return False

    def close(self) -> None:
        if self.pubsub is not None:
            with suppress(redis.RedisError, OSError):
                self.pubsub.close()
        self.pubsub = None


@dataclass
class Outcome:
    """What became of the shards waited for."""

    shards: int
    failed: dict[str, str] = field(default_factory=dict)  # shard key -> reason
    rows: int = 0  # rows stored in their groups

    @property
    def stored(self) -> int:
        return self.shards - len(self.failed)


def wait(
    ledger: Ledger,
    shards: Sequence[Shard],
    console: Console,
    *,
    budgets: Mapping[tuple[str, str], Budget],
    limit_key: str = "",
    timeout_s: float | None = None,
    poll_s: float = 1.0,
    heal: Heal | None = None,
) -> Outcome:
    """Wait until nothing is queued or running in the groups of `shards` (each of them is
    then done, partial, failed or was never sent); say what became of them.

    On a terminal the live dashboard is drawn meanwhile; `heal` runs after every read.
    Raises ShardfetchError when `timeout_s` passes first.
    """
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    scope = {group_of(s.key) for s in shards}
    pace = Pace()
    outage = _Outage(console)
    signal = Announcements(ledger)
    signal.listen()
    # Logs and pipes get only the summary that follows, not a frame per poll.
    live = Live(console=console, auto_refresh=False) if console.is_terminal else None
    drawn_at = 0.0
    try:
        with live or nullcontext():
            while True:
                read_at = time.monotonic()
                snap = outage.snapshot(lambda: snapshot(ledger, scope, budgets, limit_key), heal)
                if snap is not None:
                    pace.see(snap)
                    done = all_finished(snap)
                    if live is not None and (done or read_at - drawn_at >= REDRAW_S):
                        live.update(render(snap, pace, budgets), refresh=True)
                        drawn_at = read_at
                    if done:
                        return _outcome(ledger, shards, scope, snap)
                if deadline is not None and time.monotonic() > deadline:
                    unfinished = "" if snap is None else f" with {snap.in_flight} shards unfinished"
                    raise ShardfetchError(
                        f"gave up waiting after {timeout_s:g}s{unfinished}; they stay queued: "
                        "watch them with `producer status --watch`"
                    )
                left = poll_s if deadline is None else min(poll_s, deadline - time.monotonic())
                if signal.wait(max(left, 0.0)):
                    time.sleep(max(0.0, read_at + MIN_GAP_S - time.monotonic()))
    finally:
        signal.close()


def _outcome(ledger: Ledger, shards: Sequence[Shard], scope: set[str], snap: Snapshot) -> Outcome:
    """The failures among `shards` (read from the failure reasons, not every shard)."""
    mine = {s.key for s in shards}
    with mapped("Redis"):
        failed = {k: why for k, why in ledger.failed_of(scope).items() if k in mine}
    return Outcome(len(mine), failed, sum(x.rows for x in snap.lines))


def watch(
    ledger: Ledger,
    select: Callable[[Shard], bool],
    console: Console,
    *,
    budgets: Mapping[tuple[str, str], Budget],
    limit_key: str = "",
    poll_s: float = 1.0,
    frames: int | None = None,
    heal: Heal | None = None,
) -> None:
    """Redraw the dashboard of the groups whose shards `select` keeps until Ctrl-C; `heal`
    runs after every redraw.

    `frames` bounds the number of redraws (for tests and scripts); Ctrl-C returns cleanly.
    """
    pace = Pace()
    outage = _Outage(console)
    drawn = 0
    scope: Scope = lambda g: select(g.sample())  # noqa: E731

    def read() -> Snapshot:
        return snapshot(ledger, scope, budgets, limit_key)

    try:
        with Live(console=console, auto_refresh=False) as live:
            while frames is None or drawn < frames:
                snap = outage.snapshot(read, heal)
                if snap is not None:
                    pace.see(snap)
                    live.update(render(snap, pace, budgets), refresh=True)
                drawn += 1
                if frames is None or drawn < frames:
                    time.sleep(poll_s)
    except KeyboardInterrupt:
        console.print("stopped watching (the job goes on; `producer status` shows it)")
