"""Fetching one shard: its page chains run concurrently, their batches come out in order."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator

import pyarrow as pa

from storage.shards import Shard
from workers.edge import Retry
from workers.exchanges.base import Adapter, Page, PageRequest
from workers.http import Http

log = logging.getLogger(__name__)


async def fetch_page(
    http: Http, adapter: Adapter, request: PageRequest, shard: Shard, attempts: int
) -> Page:
    """One page, parsed; transient faults are retried as workers/edge.py says, `attempts`
    tries in all."""

    async def once() -> Page:
        return adapter.parse(await http.get(adapter, request), request, shard)

    return await Retry(attempts).run(once, f"{shard.key} page")


async def _chain(
    http: Http,
    adapter: Adapter,
    first: PageRequest,
    shard: Shard,
    gate: asyncio.Semaphore,
    attempts: int,
) -> list[pa.RecordBatch]:
    batches, request = [], first
    while request is not None:
        async with gate:
            page = await fetch_page(http, adapter, request, shard, attempts)
        batches.append(page.batch)
        request = page.next
    # A chain that walked back in time holds its newest page first.
    return batches[::-1] if first.descending else batches


async def fetch_shard(
    http: Http,
    adapter: Adapter,
    shard: Shard,
    until_ms: int,
    *,
    start_ms: int | None = None,
    concurrency: int = 8,
    attempts: int = 5,
) -> AsyncIterator[pa.RecordBatch]:
    """Yield the shard's batches of [start_ms or its start, until_ms) in time order while up to
    `concurrency` pages are in flight.

    Chains are started at most `2 * concurrency` ahead of the consumer, so memory holds a
    bounded number of pages however large the shard is.
    """
    chains = deque(adapter.requests(shard, until_ms, start_ms))
    gate = asyncio.Semaphore(concurrency)
    running: deque[asyncio.Task] = deque()
    try:
        while chains or running:
            while chains and len(running) < 2 * concurrency:
                first = chains.popleft()
                running.append(
                    asyncio.create_task(_chain(http, adapter, first, shard, gate, attempts))
                )
            for batch in await running.popleft():
                yield batch
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
