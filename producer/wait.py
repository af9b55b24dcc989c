"""Blocking until a job's shards are finished, with a progress bar on a terminal."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from storage.errors import ShardfetchError
from storage.ledger import Ledger, ShardState
from storage.shards import Shard

FINISHED = ("done", "partial", "failed")


def wait(
    ledger: Ledger,
    shards: Sequence[Shard],
    console: Console,
    *,
    timeout_s: float | None = None,
    poll_s: float = 0.5,
) -> list[ShardState]:
    """Poll the ledger until every shard is done, partial or failed; return their states.

    Raises ShardfetchError when `timeout_s` passes first.
    """
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task("shards", total=len(shards), detail="")
        while True:
            states = ledger.states(shards)
            finished = [s for s in states if s.state in FINISHED]
            failed = sum(s.state == "failed" for s in states)
            rows = sum(s.rows for s in finished)
            running = sum(s.state == "running" for s in states)
            bar.update(
                task,
                completed=len(finished),
                detail=f"{rows:,} rows  {running} running  {failed} failed",
            )
            if len(finished) == len(shards):
                return states
            if deadline is not None and time.monotonic() > deadline:
                raise ShardfetchError(
                    f"gave up waiting after {timeout_s:g}s with {len(shards) - len(finished)} "
                    "shards unfinished; they stay queued: watch them with `producer status`"
                )
            time.sleep(poll_s)
