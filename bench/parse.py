"""CPU cost of parsing and storing REST pages, per 1M rows, beside pyarrow's own floor: one table.

    python -m bench.parse [--rows 300000] [--repeat 7] [--exchange binance]

Pages come from the simulator's own handlers, called in this process (no HTTP, no limiter),
walked as a worker walks a shard: each chain's next request from the parsed page. For each
exchange's klines and trades the table prints CPU milliseconds per 1M rows, the median of
`--repeat` rounds. Within a round the variants take turns, so a busy moment on the machine
weighs on all of them alike; the garbage collector is off while a variant runs (it would
charge one variant for another's garbage); CPU time is `time.process_time`, so other
processes matter less than to wall time, though on a shared machine they still slow the
caches: the `spread` column says how far apart the rounds were.

* json: the reference parser (json.loads, then Arrow arrays from the Python rows) per page;
* fast: `adapter.parse`, i.e. jsoncsv where it takes the body (the same as json elsewhere);
* main: json + one Parquet row group per page with pyarrow's default encoding, as the
  writer did before row-group buffering;
* json+write, fast+write: the parser, then ShardWriter (buffered row groups, plain encoding,
  zstd, statistics, fsync);
* floor: the same rows as CSV text (numbers as pyarrow prints them, times as integers) read
  by pyarrow.csv, times cast to the stored timestamp type (the same schema as the shard's
  file), then written as one zstd Parquet file with pyarrow's defaults (dictionary
  encoding): what pyarrow alone needs to turn text into the file, the issue's floor;
* floor*: the same with the writer's encoding (plain, no dictionary pages): like for like.

`fast+write / floor` is the ratio the parse path is judged by (goal: at most 1.5 for
Binance klines and aggTrades): the median of the per-round ratios, with their range.
`/floor*` holds the encoding equal: dictionary pages cost pyarrow's default writer 2-3x
the plain writer's CPU, so the floor carries that cost and fast+write does not; `/floor*`
says what the parse path itself costs beside pyarrow's CSV reader on compact text.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from multidict import MultiDict

from bench.cluster import sim_env
from simulator import binance, bybit, gateio, mexc
from simulator.venue import Context
from storage.parquet import ShardWriter
from storage.schemas import SCHEMAS
from storage.shards import Shard
from workers.exchanges.base import Adapter, PageRequest
from workers.settings import Settings

SIM = "http://sim"
META = {"source": "rest", "fetched_at": "2024-01-01T00:00:00+00:00"}
EXCHANGES = [("binance", "Binance"), ("mexc", "MEXC"), ("gateio", "Gate"), ("bybit", "Bybit")]
MONTHS = ["2023-01", "2023-02", "2023-03", "2023-04", "2023-05", "2023-06", "2023-07", "2023-08"]


@dataclass
class Case:
    label: str
    shards: list[Shard]
    pages: list[tuple[Shard, bytes, PageRequest]]
    adapter: Adapter

    @property
    def rows(self) -> int:
        return sum(self.adapter.parse_json(b, r, s).batch.num_rows for s, b, r in self.pages)


def _handlers() -> dict[str, Callable]:
    endpoints = [*binance.ENDPOINTS, *mexc.venue().endpoints, *gateio.venue().endpoints]
    return {e.path: e.handler for e in [*endpoints, *bybit.venue().endpoints]}


def _walk(adapter: Adapter, shard: Shard, trades_per_day: int) -> list[tuple]:
    """Every page of the shard, as the simulator answers it when the shard's period is over."""
    handlers, pages = _handlers(), []
    for first in adapter.requests(shard, shard.end_ms):
        request, chain = first, []
        while request is not None:
            now_ms = shard.end_ms + 60_000
            if shard.exchange == "gateio" and shard.dtype == "klines":
                # Gate serves only the latest 10,000 candles: ask as if just after this page.
                now_ms = int(dict(request.params)["to"]) * 1000 + 60_000
            ctx = Context(seed=0, trades_per_day=trades_per_day, now_ms=now_ms, budgets={})
            body = handlers[urlsplit(request.url).path](MultiDict(request.params), ctx)
            chain.append((shard, body, request))
            request = adapter.parse_json(body, request, shard).next
        pages += chain[::-1] if first.descending else chain  # stored oldest first, as fetch does
    return pages


def _cases(rows: int, only: list[str] | None = None) -> list[Case]:
    settings = Settings.from_env(sim_env(SIM))
    months = -(-rows // 44_640)
    cases = []
    for exchange, label in EXCHANGES:
        if only and exchange not in only:
            continue
        adapter = settings.adapter(exchange)
        klines = [Shard(exchange, "spot", "klines", "BTCUSDT", m, "1m") for m in MONTHS[:months]]
        pages = [p for s in klines for p in _walk(adapter, s, rows)]
        cases.append(Case(f"{label} klines 1m", klines, pages, adapter))
        if exchange == "bybit":
            continue  # Bybit's trade history is its archive (CSV), not REST pages
        trades = Shard(exchange, "spot", "aggtrades", "BTCUSDT", "2023-03-01")
        cases.append(Case(f"{label} trades", [trades], _walk(adapter, trades, rows), adapter))
    return cases


def _cpu_ms(runs: dict[str, Callable[[], None]], repeat: int) -> list[dict[str, float]]:
    """CPU ms of each run in each of `repeat` rounds; the runs take turns within a round, so
    a busy moment on the machine weighs on all of them alike. The collector is off while a
    run is timed and collects between runs."""
    rounds = []
    for _ in range(repeat):
        times = {}
        for name, run in runs.items():
            gc.collect()
            gc.disable()
            try:
                started = time.process_time()
                run()
                times[name] = (time.process_time() - started) * 1000
            finally:
                gc.enable()
        rounds.append(times)
    return rounds


def _parse(case: Case, parse: Callable) -> Callable[[], None]:
    def run() -> None:
        for shard, body, request in case.pages:
            parse(body, request, shard)

    return run


def _store(case: Case, parse: Callable, data_dir: Path) -> Callable[[], None]:
    meta = {**META, "trade_ids": case.adapter.trade_ids}

    def run() -> None:
        for shard in case.shards:
            with ShardWriter(data_dir, shard, meta) as writer:
                for page_shard, body, request in case.pages:
                    if page_shard == shard:
                        writer.write(parse(body, request, shard).batch)
                writer.commit()

    return run


def _store_per_page(case: Case, data_dir: Path) -> Callable[[], None]:
    """main's writer: every page selected, cast and written as its own row group."""

    def run() -> None:
        for shard in case.shards:
            schema = SCHEMAS[shard.dtype]
            with pq.ParquetWriter(data_dir / "main.parquet", schema, compression="zstd") as out:
                for page_shard, body, request in case.pages:
                    if page_shard != shard:
                        continue
                    batch = case.adapter.parse_json(body, request, shard).batch
                    if batch.num_rows:
                        table = pa.Table.from_batches([batch]).select(schema.names).cast(schema)
                        out.write_table(table)

    return run


def _floor(case: Case, data_dir: Path, **encoding: object) -> Callable[[], None]:
    """The case's rows as CSV text (times as integers), read by pyarrow and written once."""
    dtype = case.shards[0].dtype
    parsed = [case.adapter.parse_json(b, r, s).batch for s, b, r in case.pages]
    table = pa.Table.from_batches([b for b in parsed if b.num_rows], schema=SCHEMAS[dtype])
    plain = pa.schema(
        [(f.name, pa.int64() if pa.types.is_timestamp(f.type) else f.type) for f in table.schema]
    )
    table = table.cast(plain)
    sink = pa.BufferOutputStream()
    pcsv.write_csv(table, sink, pcsv.WriteOptions(include_header=False, quoting_style="none"))
    text = sink.getvalue()
    read = pcsv.ReadOptions(column_names=plain.names, use_threads=False)
    convert = pcsv.ConvertOptions(column_types=dict(zip(plain.names, plain.types, strict=True)))

    def run() -> None:
        rows = pcsv.read_csv(pa.BufferReader(text), read_options=read, convert_options=convert)
        rows = rows.cast(SCHEMAS[dtype])  # the stored schema: times as timestamps
        pq.write_table(rows, data_dir / "floor.parquet", compression="zstd", **encoding)

    return run


def _load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=300_000, help="rows per case (about)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--exchange", action="append", help="only these (repeatable)")
    args = parser.parse_args()
    if args.repeat < 1 or args.rows < 1:
        parser.exit(2, "bench.parse: --rows and --repeat must be at least 1\n")
    work = Path(tempfile.mkdtemp(prefix="shardfetch-bench-parse-"))
    columns = ["json", "fast", "main", "json+write", "fast+write", "floor", "floor*"]
    print(f"CPU ms per 1M rows, median of {args.repeat} rounds, GC off while timed; one")
    print(f"process, no HTTP; {os.cpu_count()} CPUs, {_load()} at start")
    header = f"{'case':<18} {'rows':>9} {'pages':>6} " + " ".join(f"{c:>10}" for c in columns)
    print(f"{header} {'spread':>7} {'fast+write/floor':>18} {'/floor*':>16}")
    try:
        for case in _cases(args.rows, args.exchange):
            rows = case.rows
            json_parse, fast_parse = case.adapter.parse_json, case.adapter.parse
            runs = {
                "json": _parse(case, json_parse),
                "fast": _parse(case, fast_parse),
                "main": _store_per_page(case, work),
                "json+write": _store(case, json_parse, work),
                "fast+write": _store(case, fast_parse, work),
                "floor": _floor(case, work),
                "floor*": _floor(case, work, use_dictionary=False),
            }
            rounds = _cpu_ms(runs, args.repeat)
            ms = {c: statistics.median(r[c] for r in rounds) * 1e6 / rows for c in columns}
            # the widest (max - min) / median of any variant over the rounds
            spread = max(
                (max(r[c] for r in rounds) - min(r[c] for r in rounds))
                / statistics.median(r[c] for r in rounds)
                for c in columns
            )
            cells = " ".join(f"{ms[c]:>10,.0f}" for c in columns)
            line = f"{case.label:<18} {rows:>9,} {len(case.pages):>6} {cells} {spread:>7.0%}"
            print(
                f"{line} {_ratio(rounds, 'floor'):>18} {_ratio(rounds, 'floor*'):>16}", flush=True
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(_load() + " at end")


def _ratio(rounds: list[dict[str, float]], floor: str) -> str:
    """fast+write over the floor: the median of the rounds' ratios, and their range."""
    ratios = [r["fast+write"] / r[floor] for r in rounds]
    return f"{statistics.median(ratios):.2f} [{min(ratios):.2f}-{max(ratios):.2f}]"


if __name__ == "__main__":
    main()
