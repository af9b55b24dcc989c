"""The `producer verify` report: every stored file checked, and the files against the ledger."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from storage.errors import InputError, ShardfetchError
from storage.funding import check_funding
from storage.gaps import CONTIGUOUS_IDS, from_metadata
from storage.integrity import Finding, check_id_continuity, check_ledger, check_rows
from storage.ledger import Ledger
from storage.shards import Shard
from storage.store import Store
from workers.exchanges import ADAPTERS

SHOWN = 25  # problems listed one by one in the terminal report; --json has them all


@dataclass
class Audit:
    files: int = 0
    rows: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.problem]

    def as_dict(self) -> dict:
        return {
            "ok": not self.problems,
            "files": self.files,
            "rows": self.rows,
            "problems": len(self.problems),
            "counts": dict(Counter(f.kind for f in self.findings)),
            "findings": [f.as_dict() for f in self.findings],
        }


def snapshot_step(shard: Shard) -> int | None:
    """The snapshot step the exchange's capability table declares for the shard's type (open
    interest), for a file that does not record its own; None where it declares none."""
    adapter = ADAPTERS.get(shard.exchange)
    if not shard.kind.snapshots or adapter is None:
        return None
    try:
        cap = adapter.capabilities.market(shard.market).capability(shard.dtype)
    except InputError:
        return None
    return None if cap is None else cap.snapshot_ms


def audit(store: Store, ledger: Ledger, keep: Callable[[Shard], bool]) -> Audit:
    """Check every file of the selected shards, then compare the files with the ledger."""
    rep = Audit()
    footers: dict[str, int] = {}
    runs: list[tuple[Shard, int, int]] = []
    fundings: list[tuple[Shard, np.ndarray]] = []
    for path in store.files():
        try:
            stored = store.describe(path)
            if not keep(stored.shard):
                continue
            columns = list(stored.shard.kind.checked)
            table = pq.read_table(path, columns=columns, filesystem=store.filesystem)
        except (OSError, ValueError, ShardfetchError, pa.ArrowException) as exc:
            rep.findings.append(Finding("unreadable", str(path), f"cannot read: {exc}", True))
            continue
        rep.files += 1
        rep.rows += stored.rows
        footers[stored.shard.key] = stored.rows
        meta = stored.metadata
        gaps = from_metadata(meta.get("source_gaps"))
        trade_ids = meta.get("trade_ids", CONTIGUOUS_IDS)
        unreachable = json.loads(meta["unreachable"]) if meta.get("unreachable") else None
        rep.findings += check_rows(
            stored.shard,
            table,
            complete=stored.complete,
            source_gaps=gaps,
            trade_ids=trade_ids,
            snapshot_ms=int(meta.get("snapshot_ms") or 0) or snapshot_step(stored.shard),
            unreachable=None if unreachable is None else (unreachable[0], unreachable[1]),
            why=meta.get("incomplete", ""),
        )
        if stored.shard.dtype == "funding":
            times = pc.cast(table.column("funding_time"), pa.int64()).to_numpy()
            fundings.append((stored.shard, times))
        if stored.shard.kind.ids and table.num_rows and trade_ids == CONTIGUOUS_IDS:
            ids = table.column(stored.shard.kind.sort_key)
            runs.append((stored.shard, ids[0].as_py(), ids[-1].as_py()))
    runs.sort(key=lambda r: (r[0].exchange, r[0].market, r[0].symbol, r[0].period))
    rep.findings += check_id_continuity(runs)
    fundings.sort(key=lambda f: (f[0].exchange, f[0].market, f[0].symbol, f[0].period))
    rep.findings += check_funding(fundings)
    selected = {k: v for k, v in ledger.files().items() if keep(Shard.parse(k))}
    failed = {k: v for k, v in ledger.failures().items() if keep(Shard.parse(k))}
    planned = [s.key for s in ledger.planned() if keep(s)]
    rep.findings += check_ledger(footers, selected, failed, planned)
    return rep


def render(rep: Audit, console: Console) -> None:
    counts = Counter((f.kind, f.problem) for f in rep.findings)
    table = Table(title=f"verify: {rep.files} files, {rep.rows:,} rows")
    for col in ("finding", "kind", "count"):
        table.add_column(col, justify="right" if col == "count" else "left")
    for (kind, problem), n in sorted(counts.items(), key=lambda x: (not x[0][1], x[0][0])):
        table.add_row(kind, "[red]problem[/red]" if problem else "note", str(n))
    console.print(table)
    for f in rep.problems[:SHOWN]:
        console.print(f"[red]{f.kind}[/red] {f.shard}: {f.detail}")
    if len(rep.problems) > SHOWN:
        console.print(f"... and {len(rep.problems) - SHOWN} more problems (see --json)")
    if rep.problems:
        console.print(f"[red]{len(rep.problems)} problems[/red]")
    else:
        console.print("[green]ok[/green]: no problems")
