"""Funding continuity: each symbol's fundings against its own interval history.

Perpetual funding intervals differ by symbol and change over time (8 h to 4 h, 1 h ...), so a
fixed step would call every change a gap. The history is read from the rows themselves:
the time from one funding to the next, in whole hours, is the interval in force. A change of
interval is a *note* (`funding_interval`); a missing funding is a *gap*: a step that is no
funding interval at all (16 h, 12 h: a funding or more missing in an 8 h or 4 h schedule),
or a standard one (1, 2, 4, 8 h) longer than the steps on both sides of it (8 h between two
4 h steps: one 4-hourly funding missing). A single missing funding right where the interval
changes cannot be told from the change itself, and reads as one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

import numpy as np

from storage.integrity import Finding
from storage.shards import Shard, next_month

HOUR_MS = 3_600_000
#: funding intervals, in hours, that exchanges use
STANDARD_H = (1, 2, 4, 8)


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def _runs(series: Iterable[tuple[Shard, np.ndarray]]) -> list[list[tuple[Shard, np.ndarray]]]:
    """Consecutive months of one symbol's funding, split where a month is not stored."""
    runs: list[list[tuple[Shard, np.ndarray]]] = []
    for shard, times in series:
        last = runs[-1][-1][0] if runs else None
        follows = (
            last is not None
            and (last.exchange, last.market, last.symbol)
            == (shard.exchange, shard.market, shard.symbol)
            and next_month(date.fromisoformat(last.period + "-01")).isoformat()[:7] == shard.period
        )
        if follows:
            runs[-1].append((shard, times))
        else:
            runs.append([(shard, times)])
    return runs


def check_funding(series: Iterable[tuple[Shard, np.ndarray]]) -> list[Finding]:
    """Gaps and interval changes in funding rows: (shard, its sorted funding times in ms), in
    exchange, market, symbol and period order."""
    out: list[Finding] = []
    for run in _runs(series):
        times = np.concatenate([t for _, t in run]) if run else np.array([], np.int64)
        owner = np.concatenate([np.full(len(t), i) for i, (_, t) in enumerate(run)])
        out += _cadence(times.astype(np.int64), [s for s, _ in run], owner)
    return out


def _cadence(times: np.ndarray, shards: list[Shard], owner: np.ndarray) -> list[Finding]:
    if len(times) < 3:
        return []
    hours = np.rint(np.diff(times) / HOUR_MS).astype(np.int64)
    standard = np.isin(hours, STANDARD_H)
    out: list[Finding] = []
    in_force = None  # the interval of the last regular step
    for i, h in enumerate(hours.tolist()):
        left = hours[i - 1] if i > 0 else None
        right = hours[i + 1] if i + 1 < len(hours) else None
        sides = ((left, i > 0 and standard[i - 1]), (right, right is not None and standard[i + 1]))
        near = [int(x) for x, ok in sides if ok]  # the regular steps beside this one
        missing = (not standard[i] and near and h > min(near)) or (
            standard[i] and left is not None and right is not None and h > left and h > right
        )
        shard = shards[owner[i + 1]]
        if missing:
            step_ms = (min(near) if near else in_force or h) * HOUR_MS
            start, end = int(times[i]) + step_ms, int(times[i + 1])
            detail = f"{_when(start)} .. {_when(end)} UTC: no funding for {h} h, missing"
            out.append(Finding("gap", shard.key, detail, True, start, end))
            continue
        if in_force is not None and h != in_force and standard[i]:
            detail = (
                f"funding every {in_force} h until {_when(int(times[i]))} UTC, then every {h} h"
            )
            out.append(Finding("funding_interval", shard.key, detail, False, int(times[i])))
        if standard[i]:
            in_force = h
    return out
