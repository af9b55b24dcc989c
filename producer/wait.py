"""Watching shards until they finish (`enqueue --wait`) or until Ctrl-C (`status --watch`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext

from rich.console import Console
from rich.live import Live

from producer.dashboard import Pace, all_finished, render, snapshot
from storage.errors import ShardfetchError
from storage.ledger import Ledger, ShardState
from storage.shards import Shard
from workers.ratelimit import Budget


def wait(
    ledger: Ledger,
    shards: Sequence[Shard],
    console: Console,
    *,
    budgets: Mapping[tuple[str, str], Budget],
    limit_key: str = "",
    timeout_s: float | None = None,
    poll_s: float = 0.5,
) -> list[ShardState]:
    """Poll the ledger until every shard is done, partial or failed; return their states.

    On a terminal the live dashboard is drawn meanwhile. Raises ShardfetchError when
    `timeout_s` passes first.
    """
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    pace = Pace()
    # Logs and pipes get only the summary that follows, not a frame per poll.
    live = Live(console=console, auto_refresh=False) if console.is_terminal else None
    with live or nullcontext():
        while True:
            snap = snapshot(ledger, shards, budgets, limit_key)
            pace.see(snap)
            if live is not None:
                live.update(render(snap, pace, budgets), refresh=True)
            if all_finished(snap):
                return snap.states
            if deadline is not None and time.monotonic() > deadline:
                left = sum(st.state not in ("done", "partial", "failed") for st in snap.states)
                raise ShardfetchError(
                    f"gave up waiting after {timeout_s:g}s with {left} shards unfinished; "
                    "they stay queued: watch them with `producer status --watch`"
                )
            time.sleep(poll_s)


def watch(
    ledger: Ledger,
    select: Callable[[Shard], bool],
    console: Console,
    *,
    budgets: Mapping[tuple[str, str], Budget],
    limit_key: str = "",
    poll_s: float = 1.0,
    frames: int | None = None,
) -> None:
    """Redraw the dashboard of every planned shard `select` keeps until Ctrl-C.

    `frames` bounds the number of redraws (for tests and scripts); Ctrl-C returns cleanly.
    """
    pace = Pace()
    drawn = 0
    try:
        with Live(console=console, auto_refresh=False) as live:
            while frames is None or drawn < frames:
                shards = [s for s in ledger.planned() if select(s)]
                snap = snapshot(ledger, shards, budgets, limit_key)
                pace.see(snap)
                live.update(render(snap, pace, budgets), refresh=True)
                drawn += 1
                if frames is None or drawn < frames:
                    time.sleep(poll_s)
    except KeyboardInterrupt:
        console.print("stopped watching (the job goes on; `producer status` shows it)")
