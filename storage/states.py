"""The states of a planned shard, and the per-group counters kept of them.

A planned shard is in exactly one state, decided from the ledger's sets in this order
(`state_of` in storage/lua/tally.lua says the same in Lua; `of` below is its twin for
recounts and tests):

    done     its complete file is stored                      (set `done`)
    running  a worker took its lock and has not finished      (set `running`)
    queued   its message was sent and it has not finished     (hash `queued`)
    failed   it failed with a reason and nobody retries it    (hash `failed`)
    partial  a file is stored for a period that had not ended (set `partial`)
    missing  planned, and none of the above

Beside the state a group counts `incomplete` (done or partial shards stored with part of
their period unreachable), `rows` and `bytes` (of every stored file). A group is one
(exchange, market, dtype, interval, symbol): the shard key without its period.

Which transition moves which counter is not listed anywhere: every script that changes a
shard reads its state before and after the change and moves the counters from one to the
other (tally.lua `retally`). So a transition that changes nothing (a message delivered
twice, a heal pass racing a worker) moves nothing, and the counters always equal a recount.
"""

from __future__ import annotations

from dataclasses import dataclass

STATES = ("done", "partial", "running", "queued", "failed", "missing")
FINISHED = frozenset({"done", "partial", "failed"})
IN_FLIGHT = frozenset({"queued", "running"})
#: every counter of a group, as the tally hash names them after `<group>|`
COUNTERS = ("planned", *STATES, "incomplete", "rows", "bytes")
#: set once the counters describe every planned shard (storage/lua/recount.lua)
COUNTED = "~counted"


def of(*, done: bool, running: bool, queued: bool, failed: bool, partial: bool) -> str:
    """The state of a planned shard from its memberships (the precedence above)."""
    if done:
        return "done"
    if running:
        return "running"
    if queued:
        return "queued"
    if failed:
        return "failed"
    return "partial" if partial else "missing"


def group_of(key: str) -> str:
    """`binance:spot:klines:1m:BTCUSDT:2024-01` -> `binance:spot:klines:1m:BTCUSDT`."""
    return key.rsplit(":", 1)[0]


@dataclass
class Count:
    """The counters of one group, as read from the tally hash."""

    group: str
    planned: int = 0
    done: int = 0
    partial: int = 0
    running: int = 0
    queued: int = 0
    failed: int = 0
    missing: int = 0
    incomplete: int = 0
    rows: int = 0
    bytes: int = 0
    first: str = ""
    last: str = ""

    @property
    def finished(self) -> int:
        return self.done + self.partial + self.failed


def parse(raw: dict[bytes, bytes]) -> dict[str, Count]:
    """The tally hash (`<group>|<counter>` -> value) as one Count per group with a shard."""
    out: dict[str, Count] = {}
    for field, value in raw.items():
        name = field.decode()
        if name == COUNTED:
            continue
        group, _, counter = name.rpartition("|")
        count = out.get(group) or out.setdefault(group, Count(group))
        if counter in ("first", "last"):
            setattr(count, counter, value.decode())
        elif counter in COUNTERS:
            setattr(count, counter, int(value))
    return {g: c for g, c in out.items() if c.planned > 0}
