"""The seed design's downloader, for comparison only: NOT how shardfetch works.

The seed documents describe the single-process client users run today: one asyncio
process, an `asyncio.Semaphore(10)` around the requests, and a fixed delay between two
requests (here 30 ms: weight-2 kline pages at about 4,000 of Binance's 6,000 weight a
minute). It parses each page with `response.json()`, builds a pandas DataFrame per month
and writes it with `to_parquet`. No ledger, no retries, no shared budget. `bench/shard_fetch.py`
runs it beside shardfetch on the same simulator.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pandas as pd

COLUMNS = [
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "trades",
    "taker_buy_base",
    "taker_buy_quote",
    "ignore",
]
PAGE = 1000
MINUTE_MS = 60_000


async def fetch_months(
    base_url: str,
    symbol: str,
    months: list[tuple[str, int, int]],
    out_dir: Path,
    *,
    concurrency: int = 10,
    delay_s: float = 0.03,
) -> int:
    """Fetch 1m klines of each (name, start_ms, end_ms) month into out_dir/name.parquet;
    returns the rows written."""
    gate = asyncio.Semaphore(concurrency)
    url = base_url + "/api/v3/klines"
    async with aiohttp.ClientSession() as session:

        async def page(start_ms: int, end_ms: int) -> list:
            params = {"symbol": symbol, "interval": "1m", "startTime": start_ms}
            params |= {"endTime": end_ms - 1, "limit": PAGE}
            async with gate, session.get(url, params=params) as response:
                response.raise_for_status()
                return await response.json()

        tasks = {}
        for name, start_ms, end_ms in months:
            for t in range(start_ms, end_ms, PAGE * MINUTE_MS):
                tasks.setdefault(name, []).append(
                    asyncio.create_task(page(t, min(t + PAGE * MINUTE_MS, end_ms)))
                )
                await asyncio.sleep(delay_s)
        rows = 0
        for name, pages in tasks.items():
            frame = pd.DataFrame(
                [row for rows_ in await asyncio.gather(*pages) for row in rows_], columns=COLUMNS
            )
            frame = frame.drop(columns="ignore").astype(
                {c: "float64" for c in COLUMNS[1:6] + COLUMNS[7:8] + COLUMNS[9:11]}
            )
            frame.to_parquet(out_dir / f"{name}.parquet", compression="zstd", index=False)
            rows += len(frame)
    return rows
