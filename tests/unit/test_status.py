"""`producer status`: per exchange / market / dtype / symbol counts, failures with reasons,
rows and bytes, as one JSON document and as a table."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from producer.status import collect, render
from storage.ledger import Ledger
from storage.parquet import StoredFile
from storage.shards import Shard

MONTHS = [Shard("binance", "spot", "klines", "BTCUSDT", f"2024-0{m}", "1m") for m in (1, 2, 3, 4)]
DAYS = [Shard("binance", "spot", "aggtrades", "BTCUSDT", f"2024-01-1{d}") for d in (5, 6)]
FUNDING = Shard("binance", "usdm", "funding", "BTCUSDT", "2024-01")
REASON = "binance: Invalid symbol. (code -1121)"


def job_in_every_state(ledger: Ledger) -> None:
    ledger.claim([*MONTHS, *DAYS, FUNDING], stale_ms=3_600_000)
    ledger.mark_stored(MONTHS[0], StoredFile(Path("x"), 44_640, 1000), complete=True, source="rest")
    ledger.mark_stored(MONTHS[1], StoredFile(Path("x"), 100, 10), complete=False, source="rest")
    ledger.mark_failed(MONTHS[2], REASON)
    assert ledger.lock(MONTHS[3], "worker", 60_000)  # running
    ledger.mark_stored(DAYS[0], StoredFile(Path("x"), 0, 5), complete=True, source="archive")
    ledger.mark_stored(FUNDING, StoredFile(Path("x"), 93, 7), complete=True, source="rest")


def test_json_counts_each_state_per_group_with_rows_bytes_and_failure_reasons(ledger):
    job_in_every_state(ledger)
    doc = json.loads(json.dumps(collect(ledger).as_dict()))  # what `status --json` prints
    groups = {(g["market"], g["dtype"]): g for g in doc["groups"]}
    assert set(groups) == {("spot", "klines"), ("spot", "aggtrades"), ("usdm", "funding")}
    klines = groups[("spot", "klines")]
    counts = [klines[k] for k in ("planned", "done", "partial", "failed", "running", "queued")]
    assert counts == [4, 1, 1, 1, 1, 0]
    assert (klines["rows"], klines["bytes"], klines["interval"]) == (44_740, 1010, "1m")
    trades = groups[("spot", "aggtrades")]
    assert (trades["planned"], trades["done"], trades["queued"]) == (2, 1, 1)
    assert doc["failures"] == [{"shard": MONTHS[2].key, "reason": REASON}]
    assert doc["totals"]["planned"] == 7 and doc["totals"]["done"] == 3


def test_the_table_names_each_failed_shard_and_why(ledger):
    job_in_every_state(ledger)
    out = io.StringIO()
    render(collect(ledger), Console(file=out, width=200))
    text = out.getvalue()
    assert f"failed {MONTHS[2].key}: {REASON}" in text
    assert "klines 1m" in text and "BTCUSDT" in text and "44,740" in text


def test_the_summary_names_the_slowest_and_failed_symbols_and_verbose_lists_each_symbol(
    ledger,
):
    days = [
        Shard("binance", "spot", "aggtrades", sym, f"2024-01-0{d}")
        for sym in ("AAAUSDT", "BBBUSDT", "CCCUSDT", "DDDUSDT")
        for d in range(1, 5)
    ]
    ledger.claim(days, stale_ms=3_600_000)
    for shard in days[:8]:  # AAA and BBB stored
        ledger.mark_stored(shard, StoredFile(Path("x"), 10, 1), complete=True, source="rest")
    ledger.mark_failed(days[8], REASON)  # CCC: one failed, three queued; DDD: all queued
    rep = collect(ledger)
    (line,) = rep.lines
    assert (line.symbols, line.planned, line.done, line.failed, line.queued) == (4, 16, 8, 1, 7)
    assert line.failing == ["CCCUSDT (1)"]
    assert line.slowest == ["DDDUSDT 0/4", "CCCUSDT 1/4"]
    summary, per_symbol = io.StringIO(), io.StringIO()
    render(rep, Console(file=summary, width=250))
    render(rep, Console(file=per_symbol, width=250), verbose=True)
    assert "failed CCCUSDT (1); slowest DDDUSDT 0/4, CCCUSDT 1/4" in summary.getvalue()
    assert "AAAUSDT" not in summary.getvalue(), "one row per data type, not per symbol"
    assert all(sym in per_symbol.getvalue() for sym in ("AAAUSDT", "BBBUSDT", "DDDUSDT"))
    doc = rep.as_dict()
    assert len(doc["groups"]) == 4 and doc["summary"][0]["symbols"] == 4


def test_a_symbol_selection_reads_only_its_groups(ledger):
    job_in_every_state(ledger)
    rep = collect(ledger, lambda s: s.dtype == "klines")
    assert [(g.dtype, g.planned) for g in rep.groups] == [("klines", 4)]
    assert rep.failures == [{"shard": MONTHS[2].key, "reason": REASON}]
