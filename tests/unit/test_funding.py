"""Funding continuity against each symbol's own interval history: a change of interval is a
note, a missing funding is a gap (storage/funding.py, through `producer verify`'s audit)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from producer.audit import audit
from simulator import market
from simulator.catalog import utc_ms
from simulator.universe import Universe
from storage.funding import check_funding
from storage.local import LocalStore
from storage.shards import Shard
from tests.unit.dataset_helpers import tamper, write

H = 3_600_000
T0 = utc_ms(2024, 5, 1)
MAY = Shard("binance", "usdm", "funding", "BTCUSDT", "2024-05")
JUNE = Shard("binance", "usdm", "funding", "BTCUSDT", "2024-06")


def times(*steps_h: int, start: int = T0) -> np.ndarray:
    """Funding times from `start`, each step (hours) after the one before."""
    return np.cumsum([start, *(h * H for h in steps_h)]).astype(np.int64)


def kinds(found) -> list[tuple[str, int | None]]:
    return [(f.kind, f.start) for f in found]


CASES = {
    "8 h throughout": ([8] * 20, []),
    "8 h then 4 h: a note, no gap": ([8] * 10 + [4] * 10, [("funding_interval", T0 + 80 * H)]),
    "4 h then 8 h": ([4] * 10 + [8] * 10, [("funding_interval", T0 + 40 * H)]),
    "hourly": ([1] * 48, []),
    "one 8-hourly funding missing": ([8] * 5 + [16] + [8] * 5, [("gap", T0 + 48 * H)]),
    "two in a row": ([8] * 5 + [24] + [8] * 5, [("gap", T0 + 48 * H)]),
    "two apart": ([8] * 5 + [16, 16] + [8] * 5, [("gap", T0 + 48 * H), ("gap", T0 + 64 * H)]),
    "one 4-hourly funding missing": ([4] * 5 + [8] + [4] * 5, [("gap", T0 + 24 * H)]),
    "missing after the change to 4 h": (
        [8] * 5 + [4] * 3 + [8] + [4] * 3,
        [("funding_interval", T0 + 40 * H), ("gap", T0 + 56 * H)],
    ),
}


@pytest.mark.parametrize(("steps", "expected"), CASES.values(), ids=CASES)
def test_funding_cadence(steps: list[int], expected: list) -> None:
    assert kinds(check_funding([(MAY, times(*steps))])) == expected


def test_a_gap_across_the_month_boundary_is_found_and_a_missing_month_is_not_one() -> None:
    may = times(*([8] * 92), start=T0)  # the last funding of May at 16:00 on the 31st
    june = times(*([8] * 89), start=utc_ms(2024, 6, 1, 8))  # 00:00 on the 1st is missing
    (gap,) = check_funding([(MAY, may), (JUNE, june)])
    assert (gap.kind, gap.shard, gap.start, gap.end) == (
        "gap",
        JUNE.key,
        utc_ms(2024, 6, 1),
        utc_ms(2024, 6, 1, 8),
    )
    july = Shard("binance", "usdm", "funding", "BTCUSDT", "2024-07")
    later = times(*([8] * 10), start=utc_ms(2024, 7, 1))
    assert check_funding([(MAY, may), (july, later)]) == [], "June is reported as missing"


@pytest.fixture
def universe():
    anchor = utc_ms(2026, 12, 4)
    yield Universe(8, 0, seed=0, anchor_ms=anchor).activate()
    Universe().activate()


def test_verify_passes_8h_to_4h_mid_month_and_flags_a_real_gap(universe, tmp_path: Path, ledger):
    """BAFEUSDT funds every 8 h until 16:00 on the 15th of November, then every 4 h: stored
    by the real writer from the ground truth, `verify` notes the change and finds no gap;
    one funding taken out of the file is a gap."""
    symbol = "BAFEUSDT"
    assert market.funding_intervals(symbol)["interval_hours"].tolist() == [8, 4]
    shards = [Shard("binance", "usdm", "funding", symbol, p) for p in ("2026-10", "2026-11")]
    for shard in shards:
        frame = market.funding(symbol, shard.start_ms, shard.end_ms)
        ledger.mark_stored(shard, write(tmp_path, shard, frame), complete=True, source="rest")
    store = LocalStore(tmp_path)
    rep = audit(store, ledger, lambda s: True)
    assert rep.problems == []
    (change,) = [f for f in rep.findings if f.kind == "funding_interval"]
    assert (
        change.shard == shards[1].key
        and "every 8 h until 2026-11-15 16:00 UTC, then every 4 h" in change.detail
    )
    path = store.path(shards[1])
    missing_ms = utc_ms(2026, 11, 20, 8)
    tamper(
        Path(path), lambda f: f[f["funding_time"] != datetime.fromtimestamp(missing_ms / 1000, UTC)]
    )
    found = audit(store, ledger, lambda s: True).problems
    gaps = [f for f in found if f.kind == "gap"]
    assert [(g.shard, g.start, g.end) for g in gaps] == [
        (shards[1].key, missing_ms, missing_ms + 4 * H)
    ], found
