"""Gaps in a shard's rows: missing candle slots (interval types) and skipped trade ids.

A gap is a half-open range [start, end) of open times (candles) or agg ids (trades)
that has no row. The writer records the gaps the exchange's answers had; `verify` compares
the gaps it finds in a file with that record to tell the exchange's own gaps from lost rows.
"""

from __future__ import annotations

import json

import numpy as np

from storage.shards import Shard

_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}

Gap = tuple[int, int]


def interval_ms(interval: str) -> int | None:
    """Milliseconds of a candle interval such as `1m` or `4h`; None for `1M` (months vary)."""
    unit = interval[-1]
    return None if unit == "M" else int(interval[:-1]) * _UNIT_MS[unit]


#: File metadata `trade_ids`: only "contiguous" ids (Binance's agg ids) step by 1 per row;
#: an exchange with ids shared by all its markets ("sparse", Gate) or without ids ("none",
#: MEXC, whose agg_id is made from the time) has no id gaps to track.
CONTIGUOUS_IDS = "contiguous"


def step(
    shard: Shard, trade_ids: str = CONTIGUOUS_IDS, snapshot_ms: int | None = None
) -> int | None:
    """The expected step of the shard's sort key between rows (its data type's rule): the
    interval for candles, 1 for contiguous trade ids, `snapshot_ms` (the exchange's own
    step, from its capability table) for snapshots, None where rows have no fixed step
    (funding periods vary, trade ids that do not count up by one)."""
    kind = shard.kind
    if kind.interval:
        return interval_ms(shard.interval or "")
    if kind.ids:
        return 1 if trade_ids == CONTIGUOUS_IDS else None
    if kind.snapshots:
        return snapshot_ms
    return None


def inner_gaps(values: np.ndarray, step_: int, before: int | None = None) -> list[Gap]:
    """Gaps between consecutive sorted `values`; `before` is the value preceding them, if any."""
    seq = np.asarray(values, dtype=np.int64)
    if before is not None:
        seq = np.concatenate([np.array([before], dtype=np.int64), seq])
    jumps = np.nonzero(np.diff(seq) > step_)[0]
    return [(int(seq[i]) + step_, int(seq[i + 1])) for i in jumps]


def edge_gaps(
    shard: Shard, first: int, last: int, *, complete: bool, snapshot_ms: int | None = None
) -> list[Gap]:
    """Candle slots (or snapshots) missing before the first and, once the period is over,
    after the last row.

    Only time-stepped types have slots fixed by the calendar; trade ids carry on across shards.
    """
    step_ = step(shard, snapshot_ms=snapshot_ms)
    if not (shard.kind.interval or shard.kind.snapshots) or step_ is None:
        return []
    out = []
    if first - shard.start_ms >= step_:
        out.append((shard.start_ms, first))
    if complete and shard.end_ms - last > step_:
        out.append((last + step_, shard.end_ms))
    return out


def to_metadata(gaps: list[Gap]) -> str:
    return json.dumps([list(g) for g in gaps], separators=(",", ":"))


def from_metadata(text: str | None) -> set[Gap]:
    return {(int(a), int(b)) for a, b in json.loads(text)} if text else set()
