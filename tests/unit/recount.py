"""A full recount of a ledger, shard by shard, to hold the per-group counters against."""

from __future__ import annotations

from storage.ledger import Ledger
from storage.states import COUNTERS, group_of


def recount(ledger: Ledger) -> dict[str, dict[str, int]]:
    """Group -> counters, from the state of every planned shard (the O(shards) way)."""
    out: dict[str, dict[str, int]] = {}
    for st in ledger.states(ledger.planned()):
        group = out.setdefault(group_of(st.shard.key), dict.fromkeys(COUNTERS, 0))
        group["planned"] += 1
        group[st.state] += 1
        group["incomplete"] += bool(st.incomplete) and st.state in ("done", "partial")
        group["rows"] += st.rows
        group["bytes"] += st.bytes
    return out


def counted(ledger: Ledger) -> dict[str, dict[str, int]]:
    """Group -> counters, as the ledger keeps them."""
    return {g: {name: getattr(c, name) for name in COUNTERS} for g, c in ledger.counts().items()}


def assert_counters_match(ledger: Ledger) -> dict[str, dict[str, int]]:
    kept, truth = counted(ledger), recount(ledger)
    assert kept == truth, f"counters {kept} != recount {truth}"
    return kept
