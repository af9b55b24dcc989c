"""Integrity checks over stored shards, as pure functions of tables and ledger entries.

Each check returns `Finding`s. A finding is a *problem* (rows lost or wrong, files and
ledger disagree, a shard failed) or a *note* (the exchange itself had no data there, the
period is not over yet). `producer verify` runs them and exits non-zero on problems.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from storage.gaps import CONTIGUOUS_IDS, Gap, edge_gaps, inner_gaps, step
from storage.shards import Shard


@dataclass(frozen=True)
class Finding:
    kind: str
    shard: str
    detail: str
    problem: bool
    start: int | None = None  # ms, or the first agg id, of the affected range
    end: int | None = None  # exclusive

    def as_dict(self) -> dict:
        return asdict(self)


def _ints(column: pa.ChunkedArray) -> np.ndarray:
    return pc.cast(column, pa.int64()).to_numpy()


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _span(shard: Shard, gap: Gap) -> str:
    if shard.kind.ids:
        return f"agg ids {gap[0]} .. {gap[1] - 1} ({gap[1] - gap[0]} ids)"
    return f"{_when(gap[0])} .. {_when(gap[1])} UTC"


def check_rows(
    shard: Shard,
    table: pa.Table,
    *,
    complete: bool,
    source_gaps: set[Gap],
    trade_ids: str = CONTIGUOUS_IDS,
    snapshot_ms: int | None = None,
    unreachable: Gap | None = None,
    why: str = "",
):
    """Order, duplicates, rows outside the period, gaps and value sanity of one shard's rows.

    `table` needs the data type's `checked` columns. A gap the writer recorded in the file's
    `source_gaps` is the exchange's own (a note); any other gap means rows were lost after the
    exchange sent them (a problem). `unreachable` is the span of an *incomplete* shard that
    neither REST nor the archive could serve (`why`): a note, and no gap inside it is one.
    `snapshot_ms` is the step of snapshot rows (open interest), from the file's metadata.
    """
    out: list[Finding] = []
    key = shard.key
    if unreachable is not None:
        detail = f"{_when(unreachable[0])} .. {_when(unreachable[1])} UTC: {why}"
        out.append(Finding("unreachable", key, detail, False, *unreachable))
    if table.num_rows == 0:
        if unreachable is not None:
            return out
        what = "the exchange had no rows for this period" if complete else "no rows yet"
        return [Finding("empty_at_source", key, what, False, shard.start_ms, shard.end_ms)]
    kind = shard.kind
    keys = _ints(table.column(kind.sort_key))
    backwards = int(np.count_nonzero(np.diff(keys) < 0))
    if backwards:
        out.append(Finding("unsorted", key, f"{backwards} rows out of order", True))
    unique = np.unique(keys)
    if len(unique) < len(keys):
        dup = len(keys) - len(unique)
        first = int(keys[np.nonzero(np.diff(np.sort(keys)) == 0)[0][0]])
        out.append(Finding("duplicate", key, f"{dup} duplicate rows (first at {first})", True))
    times = _ints(table.column(kind.time_column))
    outside = int(np.count_nonzero((times < shard.start_ms) | (times >= shard.end_ms)))
    if outside:
        out.append(Finding("outside_shard", key, f"{outside} rows outside the period", True))
    step_ = step(shard, trade_ids, snapshot_ms)
    if step_ is not None:
        found = inner_gaps(unique, step_)
        first, last = int(unique[0]), int(unique[-1])
        found += edge_gaps(shard, first, last, complete=complete, snapshot_ms=snapshot_ms)
        for gap in found:
            if unreachable is not None and unreachable[0] <= gap[0] <= gap[1] <= unreachable[1]:
                continue  # said once above, as unreachable
            own = gap in source_gaps
            kind, why = ("source_gap", "empty at the exchange") if own else ("gap", "rows lost")
            out.append(Finding(kind, key, f"{_span(shard, gap)}: {why}", not own, *gap))
    out += _sanity(shard, table)
    return out


def _sanity(shard: Shard, table: pa.Table) -> list[Finding]:
    kind, out = shard.kind, []
    for name in kind.non_negative:
        negative = pc.sum(pc.less(table.column(name), 0)).as_py() or 0
        if negative:
            out.append(Finding("bad_value", shard.key, f"{negative} rows with {name} < 0", True))
    for name in kind.positive:
        count = pc.sum(pc.less_equal(table.column(name), 0)).as_py() or 0
        if count:
            out.append(Finding("bad_value", shard.key, f"{count} rows with {name} <= 0", True))
    if kind.ohlc:
        o, h, lo, c = (table.column(n) for n in ("open", "high", "low", "close"))
        bad = pc.or_kleene(
            pc.or_kleene(pc.greater(lo, pc.min_element_wise(o, c)), pc.greater(lo, h)),
            pc.less(h, pc.max_element_wise(o, c)),
        )
        if not kind.signed:
            bad = pc.or_kleene(bad, pc.less_equal(lo, 0))
        count = pc.sum(bad).as_py() or 0
        if count:
            first = _ints(table.column(kind.time_column).filter(bad))[0]
            detail = f"{count} impossible candles (low <= open, close <= high broken), first at "
            out.append(Finding("bad_candle", shard.key, detail + _when(int(first)), True))
    return out


def _series(shard: Shard) -> tuple:
    return (shard.exchange, shard.market, shard.dtype, shard.symbol, shard.interval)


def _next_day(period: str) -> str:
    return (date.fromisoformat(period) + timedelta(days=1)).isoformat()


def check_id_continuity(runs: Iterable[tuple[Shard, int, int]]) -> list[Finding]:
    """Agg ids carry on from one day's file to the next: (shard, first id, last id) in order.

    Only days stored back to back are compared; a missing day is reported as missing.
    """
    out, prev = [], None
    for shard, first, last in runs:
        same = prev is not None and _series(prev[0]) == _series(shard)
        if same and _next_day(prev[0].period) == shard.period and first != prev[2] + 1:
            gap = (prev[2] + 1, first)
            detail = f"{_span(shard, gap)} between {prev[0].period} and {shard.period}"
            out.append(Finding("gap", shard.key, detail, True, *gap))
        prev = (shard, first, last)
    return out


def check_ledger(
    files: Mapping[str, int],
    indexed: Mapping[str, Mapping],
    failed: Mapping[str, str],
    planned: Iterable[str],
) -> list[Finding]:
    """Files (key -> rows in its footer) against the ledger's index, failures and plan."""
    out = []
    for key, rows in sorted(files.items()):
        if key not in indexed:
            detail = "file without a ledger entry: run `producer reconcile`"
            out.append(Finding("file_without_ledger", key, detail, True))
        elif int(indexed[key].get("rows", -1)) != rows:
            detail = f"file has {rows} rows, the ledger says {indexed[key].get('rows')}"
            out.append(Finding("rows_mismatch", key, detail, True))
    for key in sorted(set(indexed) - set(files)):
        detail = "ledger entry without a file: run `producer reconcile`, then enqueue again"
        out.append(Finding("ledger_without_file", key, detail, True))
    for key in sorted(set(failed) - set(files)):
        out.append(Finding("failed", key, f"download failed: {failed[key]}", True))
    for key in sorted(set(planned) - set(files) - set(failed) - set(indexed)):
        out.append(Finding("missing", key, "not stored yet (queued, running or not run)", False))
    return out
