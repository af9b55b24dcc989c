"""Watching shards until they finish (`enqueue --wait`) or until Ctrl-C (`status --watch`).

Both heal while they watch (workers/healer.py) and wait out a Redis that is out of reach.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext

from rich.console import Console
from rich.live import Live

from producer.dashboard import Pace, Snapshot, all_finished, render, snapshot
from storage.errors import RedisUnavailable, ShardfetchError
from storage.ledger import Ledger, ShardState
from storage.shards import Shard
from workers.edge import mapped
from workers.ratelimit import Budget

Heal = Callable[[], object]


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


def wait(
    ledger: Ledger,
    shards: Sequence[Shard],
    console: Console,
    *,
    budgets: Mapping[tuple[str, str], Budget],
    limit_key: str = "",
    timeout_s: float | None = None,
    poll_s: float = 0.5,
    heal: Heal | None = None,
) -> list[ShardState]:
    """Poll the ledger until every shard is done, partial or failed; return their states.

    On a terminal the live dashboard is drawn meanwhile; `heal` runs after every poll.
    Raises ShardfetchError when `timeout_s` passes first.
    """
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    pace = Pace()
    outage = _Outage(console)
    # Logs and pipes get only the summary that follows, not a frame per poll.
    live = Live(console=console, auto_refresh=False) if console.is_terminal else None
    with live or nullcontext():
        while True:
            snap = outage.snapshot(lambda: snapshot(ledger, shards, budgets, limit_key), heal)
            if snap is not None:
                pace.see(snap)
                if live is not None:
                    live.update(render(snap, pace, budgets), refresh=True)
                if all_finished(snap):
                    return snap.states
            if deadline is not None and time.monotonic() > deadline:
                unfinished = "" if snap is None else f" with {_unfinished(snap)} shards unfinished"
                raise ShardfetchError(
                    f"gave up waiting after {timeout_s:g}s{unfinished}; they stay queued: "
                    "watch them with `producer status --watch`"
                )
            time.sleep(poll_s)


def _unfinished(snap: Snapshot) -> int:
    return sum(st.state not in ("done", "partial", "failed") for st in snap.states)


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
    """Redraw the dashboard of every planned shard `select` keeps until Ctrl-C; `heal` runs
    after every redraw.

    `frames` bounds the number of redraws (for tests and scripts); Ctrl-C returns cleanly.
    """
    pace = Pace()
    outage = _Outage(console)
    drawn = 0

    def read() -> Snapshot:
        shards = [s for s in ledger.planned() if select(s)]
        return snapshot(ledger, shards, budgets, limit_key)

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
