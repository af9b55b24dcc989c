"""Incomplete shards: the reachable part is stored, the ledger records why the rest could not
be read, `status` shows it, `verify` calls the lost span unreachable (not missing, not a
gap), a re-run leaves a closed incomplete shard alone unless a source can now read it whole,
and `reconcile` rebuilds the record from the file."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
from rich.console import Console

from producer.audit import audit
from producer.job import refresh_served_whole
from producer.retry import incomplete_shards
from producer.status import collect, render
from simulator import market
from storage.ledger import CLAIMED, SKIP_DONE
from storage.local import LocalStore
from storage.parquet import ShardWriter
from storage.shards import Shard
from workers.exchanges.gateio_capabilities import GATEIO
from workers.sourceplan import plan_sources

MONTH = Shard("gateio", "futures", "klines", "BTCUSDT", "2024-05", "1m")
WHY = "Gate's REST API serves only the latest 10,000 1m candles"
SINCE = MONTH.start_ms + 20 * 86_400_000  # REST reached back to the 21st


def store_incomplete(data_dir: Path, ledger) -> None:
    """What a worker stores of the month: the candles from the 21st on, and why not before."""
    frame = market.klines("BTCUSDT", "usdm", "1m", SINCE, MONTH.end_ms)
    meta = {
        "source": "rest",
        "complete": "true",
        "incomplete": WHY,
        "unreachable": json.dumps([MONTH.start_ms, SINCE]),
    }
    with ShardWriter(data_dir, MONTH, meta) as writer:
        writer.write(pa.Table.from_pandas(frame, preserve_index=False))
        stored = writer.commit()
    ledger.claim([MONTH], stale_ms=3_600_000)
    ledger.mark_stored(MONTH, stored, complete=True, source="rest", incomplete=WHY)


def test_a_closed_incomplete_shard_is_done_with_its_reason(tmp_path, ledger) -> None:
    store_incomplete(tmp_path, ledger)
    (state,) = ledger.states([MONTH])
    assert (state.state, state.incomplete) == ("done", WHY)
    assert ledger.claim([MONTH], stale_ms=0) == [SKIP_DONE], "a re-run leaves it alone"
    doc = collect(ledger).as_dict()
    assert doc["groups"][0]["incomplete"] == 1 and doc["totals"]["incomplete"] == 1
    assert doc["incomplete"] == [{"shard": MONTH.key, "reason": WHY}]
    out = io.StringIO()
    render(collect(ledger), Console(file=out, width=200))
    assert f"incomplete {MONTH.key}: {WHY}" in " ".join(out.getvalue().split())


def test_verify_reports_the_unreachable_span_not_a_gap(tmp_path, ledger) -> None:
    store_incomplete(tmp_path, ledger)
    rep = audit(LocalStore(tmp_path), ledger, lambda s: True)
    assert rep.problems == []
    (unreachable,) = [f for f in rep.findings if f.kind == "unreachable"]
    assert (unreachable.start, unreachable.end, unreachable.problem) == (
        MONTH.start_ms,
        SINCE,
        False,
    )
    assert (
        WHY in unreachable.detail
        and "2024-05-01 00:00:00 .. 2024-05-21 00:00:00" in unreachable.detail
    )
    assert not [f for f in rep.findings if f.kind in ("gap", "source_gap", "missing")]


def test_a_gap_beyond_the_unreachable_span_is_still_found(tmp_path, ledger) -> None:
    from tests.unit.dataset_helpers import tamper

    store_incomplete(tmp_path, ledger)
    path = LocalStore(tmp_path).path(MONTH)
    tamper(Path(path), lambda f: f.drop(index=[100, 101]))
    gaps = [f for f in audit(LocalStore(tmp_path), ledger, lambda s: True).problems]
    assert [f.kind for f in gaps if f.kind == "gap"] == ["gap"]


def test_reconcile_keeps_the_reason(tmp_path, ledger) -> None:
    store_incomplete(tmp_path, ledger)
    ledger.client.flushall()
    ledger.rebuild_from_files(LocalStore(tmp_path))
    assert ledger.incomplete([MONTH]) == [WHY]
    assert ledger.states([MONTH])[0].state == "done"


def test_a_source_that_can_now_read_it_whole_sends_it_again(tmp_path, ledger) -> None:
    store_incomplete(tmp_path, ledger)
    still = plan_sources(MONTH, GATEIO.market("futures"), MONTH.end_ms + 86_400_000, "auto")
    assert still.incomplete
    refresh_served_whole(ledger, [still])
    assert ledger.claim([MONTH], stale_ms=0) == [SKIP_DONE], "nothing new can read it"
    whole = plan_sources(MONTH, GATEIO.market("futures"), MONTH.start_ms + 86_400_000, "auto")
    assert not whole.incomplete  # e.g. REST's reach or an archive covers it now
    refresh_served_whole(ledger, [whole])
    assert ledger.claim([MONTH], stale_ms=0) == [CLAIMED]


def test_retry_failed_incomplete_lists_them(tmp_path, ledger) -> None:
    store_incomplete(tmp_path, ledger)
    assert incomplete_shards(ledger, lambda s: True) == {MONTH: WHY}
    assert incomplete_shards(ledger, lambda s: s.dtype == "funding") == {}
    ledger.reopen([MONTH])
    assert ledger.states([MONTH])[0].state == "missing"
