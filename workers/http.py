"""The process's one long-lived HTTP session, and the mapping of transport faults to our errors."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import aiohttp

from storage.errors import ExchangeUnavailable, RateLimited
from workers.exchanges.base import Adapter, PageRequest
from workers.ratelimit import Limiter

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

    async def get(self, adapter: Adapter, request: PageRequest) -> bytes:
        """The body of a successful answer; otherwise the adapter's error for it.

        The weight the exchange reports used corrects the shared budget, and a rate-limit
        answer sets a cluster-wide cooldown on its host before it is raised.
        """
        host = urlsplit(request.url).netloc
        await self.limiter.acquire(adapter.name, request.group, request.weight, host=host)
        try:
            async with self.session.get(request.url, params=request.params) as response:
                body = await response.read()
                status, headers = response.status, response.headers
        except TimeoutError:
            raise ExchangeUnavailable(f"timeout on {request.url}") from None
        except aiohttp.ClientError as exc:
            raise ExchangeUnavailable(f"{type(exc).__name__} on {request.url}: {exc}") from None
        reported = adapter.usage(request, headers)
        if reported is not None:
            added = await self.limiter.observe(
                adapter.name, reported.group, reported.used, reported.window_s
            )
            if added:
                log.info(
                    "%s %s: the exchange counts %d more weight than we spent; budget corrected",
                    adapter.name,
                    reported.group,
                    added,
                )
        try:
            adapter.check(status, headers, body)
        except RateLimited as exc:
            log.warning("%s %s: %s; cooling down %.1fs", adapter.name, host, exc, exc.retry_after_s)
            await self.limiter.cool_down(adapter.name, host, exc.retry_after_s)
            raise
        return body

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
