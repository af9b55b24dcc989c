"""Fetching one shard (workers/fetch.py): page chains, order, retries, concurrency.

The HTTP side is a fake object with the `Http.get` signature, so no network is used.
"""

from __future__ import annotations

import asyncio

import pyarrow as pa
import pytest

from storage.errors import ExchangeUnavailable, PermanentError, RateLimited
from storage.shards import Shard
from workers import edge, fetch
from workers.exchanges.base import Page, PageRequest

SHARD = Shard.parse("binance:spot:aggtrades:BTCUSDT:2024-01-15")
SCHEMA = pa.schema([("agg_id", pa.int64())])


class Chains:
    """An adapter whose shard is `chains` chains of `pages` pages; page bodies are ids."""

    name = "fake"

    def __init__(self, chains: int, pages: int = 1) -> None:
        self.chains, self.pages = chains, pages

    def requests(
        self, shard: Shard, until_ms: int, start_ms: int | None = None
    ) -> list[PageRequest]:
        return [self._request(c, 0) for c in range(self.chains)]

    def _request(self, chain: int, page: int) -> PageRequest:
        return PageRequest("http://x", (("chain", str(chain)), ("page", str(page))), "g", 1)

    def parse(self, body: bytes, request: PageRequest, shard: Shard) -> Page:
        params = dict(request.params)
        chain, page = int(params["chain"]), int(params["page"])
        batch = pa.RecordBatch.from_pylist([{"agg_id": int(body)}], schema=SCHEMA)
        nxt = self._request(chain, page + 1) if page + 1 < self.pages else None
        return Page(batch, nxt)


def body_of(request: PageRequest) -> bytes:
    params = dict(request.params)
    return str(100 * int(params["chain"]) + int(params["page"])).encode()


class FakeHttp:
    def __init__(self, answer=None) -> None:
        self.calls: list[PageRequest] = []
        self.in_flight = self.most_in_flight = 0
        self.answer = answer

    async def get(self, adapter, request: PageRequest) -> bytes:
        self.calls.append(request)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.answer is not None:
                return await self.answer(request, len(self.calls))
            await asyncio.sleep(0)  # let other pages start
            return body_of(request)
        finally:
            self.in_flight -= 1


def collect(http: FakeHttp, adapter: Chains, **kw) -> list[int]:
    async def main() -> list[int]:
        ids = []
        async for batch in fetch.fetch_shard(http, adapter, SHARD, SHARD.end_ms, **kw):
            ids.extend(batch.column("agg_id").to_pylist())
        return ids

    return asyncio.run(main())


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(edge, "backoff_s", lambda attempt, **kw: 0.0)


def test_every_chain_is_followed_to_its_last_page_in_order() -> None:
    http = FakeHttp()
    ids = collect(http, Chains(chains=3, pages=4), concurrency=2)
    assert ids == [100 * c + p for c in range(3) for p in range(4)]
    assert len(http.calls) == 12


def test_batches_come_out_in_time_order_when_later_chains_finish_first() -> None:
    async def main() -> list[int]:
        later_done = asyncio.Event()

        async def answer(request: PageRequest, calls: int) -> bytes:
            chain = dict(request.params)["chain"]
            if chain == "0":
                await later_done.wait()  # the first hour answers last
            elif chain == "2":
                later_done.set()
            return body_of(request)

        http = FakeHttp(answer)
        ids = []
        async for batch in fetch.fetch_shard(http, Chains(3), SHARD, SHARD.end_ms, concurrency=3):
            ids.extend(batch.column("agg_id").to_pylist())
        return ids

    assert asyncio.run(asyncio.wait_for(main(), timeout=5)) == [0, 100, 200]


def test_no_more_than_concurrency_pages_are_in_flight() -> None:
    http = FakeHttp()
    collect(http, Chains(chains=20, pages=2), concurrency=3)
    assert http.most_in_flight == 3
    assert len(http.calls) == 40


@pytest.mark.parametrize(
    "error",
    [ExchangeUnavailable("HTTP 503", status=503), RateLimited("429", retry_after_s=0.0)],
    ids=["5xx", "429"],
)
def test_a_transient_fault_is_retried_and_the_page_kept(error: Exception) -> None:
    async def answer(request: PageRequest, calls: int) -> bytes:
        if calls <= 2:
            raise error
        return body_of(request)

    http = FakeHttp(answer)
    assert collect(http, Chains(1), attempts=3) == [0]
    assert len(http.calls) == 3


def test_a_transient_fault_that_persists_fails_after_all_attempts() -> None:
    async def answer(request: PageRequest, calls: int) -> bytes:
        raise ExchangeUnavailable("timeout")

    http = FakeHttp(answer)
    with pytest.raises(ExchangeUnavailable):
        collect(http, Chains(1), attempts=4)
    assert len(http.calls) == 4


def test_a_permanent_error_is_not_retried() -> None:
    async def answer(request: PageRequest, calls: int) -> bytes:
        raise PermanentError("binance: Invalid symbol. (code -1121)", code=-1121)

    http = FakeHttp(answer)
    with pytest.raises(PermanentError, match="Invalid symbol"):
        collect(http, Chains(1), attempts=5)
    assert len(http.calls) == 1


class NewestFirstChains(Chains):
    """Each chain walks back in time: its page 0 holds its newest rows."""

    def _request(self, chain: int, page: int) -> PageRequest:
        params = (("chain", str(chain)), ("page", str(page)))
        return PageRequest("http://x", params, "g", 1, descending=True)

    def parse(self, body: bytes, request: PageRequest, shard: Shard) -> Page:
        page = super().parse(body, request, shard)
        newest_first = 100 * int(dict(request.params)["chain"]) + self.pages - int(body) % 100
        batch = pa.RecordBatch.from_pylist([{"agg_id": newest_first}], schema=SCHEMA)
        return Page(batch, page.next)


def test_chains_that_walk_back_in_time_come_out_oldest_first():
    ids = collect(FakeHttp(), NewestFirstChains(chains=3, pages=4), concurrency=2)
    assert ids == [1, 2, 3, 4, 101, 102, 103, 104, 201, 202, 203, 204]
