"""The process's one long-lived HTTP session: every GET is charged to the cluster-wide limiter
first and its failures mean what workers/edge.py says they mean."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlsplit

import aiohttp

from storage.errors import RateLimited
from workers.edge import REDIS_DOWN, mapped
from workers.exchanges.base import Adapter, PageRequest
from workers.ratelimit import Limiter

Sink = Callable[[bytes], object]
CHUNK_BYTES = 1 << 20

log = logging.getLogger(__name__)


class Http:
    """GETs through the cluster-wide limiter over one keep-alive connection pool.

    Open it once per process (on the process's event loop) and reuse it across shards:
    connection reuse is most of the speed of many small page requests.
    """

    def __init__(self, limiter: Limiter, *, timeout_s: float = 30.0, connections: int = 64):
        self.limiter = limiter
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=min(timeout_s, 10))
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._connections, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, raise_for_status=False
            )
        return self._session

    async def charge(self, exchange: str, group: str, weight: int, url: str) -> None:
        """Spend `weight` of the group's shared budget for a request to `url`, waiting as the
        limiter says (and while its host cools down)."""
        with mapped(url):
            await self.limiter.acquire(exchange, group, weight, host=urlsplit(url).netloc)

    async def cool_down(self, exchange: str, url: str, exc: RateLimited) -> None:
        """Stop the whole cluster from sending to `url`'s host for the time the answer said."""
        host = urlsplit(url).netloc
        log.warning("%s %s: %s; cooling down %.1fs", exchange, host, exc, exc.retry_after_s)
        with mapped(url):
            await self.limiter.cool_down(exchange, host, exc.retry_after_s)

    async def get(self, adapter: Adapter, request: PageRequest) -> bytes:
        """The body of a successful answer; otherwise the adapter's error for it.

        The weight the exchange reports used corrects the shared budget, and a rate-limit
        answer sets a cluster-wide cooldown on its host before it is raised.
        """
        await self.charge(adapter.name, request.group, request.weight, request.url)
        with mapped(request.url):
            async with self.session.get(request.url, params=request.params) as response:
                body = await response.read()
                status, headers = response.status, response.headers
        await self._observe(adapter, request, headers)
        try:
            adapter.check(status, headers, body)
        except RateLimited as exc:
            await self.cool_down(adapter.name, request.url, exc)
            raise
        return body

    async def _observe(self, adapter: Adapter, request: PageRequest, headers) -> None:
        """Take in the weight the exchange says this IP used. Advisory: with Redis out of
        reach the report is dropped, never the page (it would be fetched again)."""
        reported = adapter.usage(request, headers)
        if reported is None:
            return
        try:
            added = await self.limiter.observe(
                adapter.name, reported.group, reported.used, reported.window_s
            )
        except REDIS_DOWN as exc:
            log.info("%s: weight report dropped, Redis did not answer (%s)", adapter.name, exc)
            return
        if added:
            log.info(
                "%s %s: the exchange counts %d more weight than we spent; budget corrected",
                adapter.name,
                reported.group,
                added,
            )

    async def download(self, url: str, sink: Sink, *, read_timeout_s: float) -> int:
        """Stream `url`'s body into `sink(chunk)`; returns the status (the body of a non-2xx
        answer is read and dropped). Not charged: the caller charges what it counts.

        No total timeout: a big file may take minutes on a slow link; a stalled read fails.
        """
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=read_timeout_s)
        with mapped(url):
            async with self.session.get(url, timeout=timeout) as response:
                if response.status >= 300:
                    await response.read()
                    return response.status
                async for chunk in response.content.iter_chunked(CHUNK_BYTES):
                    sink(chunk)
                return 200

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
