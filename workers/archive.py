"""Public data archives: download a shard's zip files and their .CHECKSUM, verified by SHA-256.

Exchange-neutral: the adapter's `archive` declares which files cover a shard and how their
CSV reads; this module owns the downloads (over the process's one aiohttp session, through
the cluster-wide limiter, at most `concurrency` at once per process), and decides which part
of a shard comes from the archive and which from REST.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from storage.errors import ExchangeUnavailable, PermanentError, RateLimited, TransientError
from storage.shards import Shard
from workers.exchanges.base import Adapter, ArchiveFile, check_http
from workers.fetch import backoff_s
from workers.http import Http

log = logging.getLogger(__name__)

SOURCES = ("auto", "archive", "rest")
CHUNK_BYTES = 1 << 20
_SHA256 = re.compile(rb"\s*([0-9a-fA-F]{64})\s")
Sink = Callable[[bytes], object]


class ArchiveMissing(PermanentError):
    """The archive has no such file (HTTP 404): not published yet, or never. Auto mode takes
    the rest of the shard from REST; archive mode fails the shard."""


class ChecksumMismatch(PermanentError):
    """A downloaded zip does not match its .CHECKSUM after every retry; nothing was stored."""


@dataclass(frozen=True)
class Downloaded:
    file: ArchiveFile
    path: Path
    sha256: str


@dataclass
class Sourcing:
    """Where a shard's rows come from: verified files first, then REST from `rest_from_ms`."""

    files: list[Downloaded] = field(default_factory=list)
    rest_from_ms: int | None = None
    note: str = ""

    @property
    def label(self) -> str:
        if not self.files:
            return "rest"
        return "archive" if self.rest_from_ms is None else "archive+rest"


def planned_files(adapter: Adapter, shard: Shard, now_ms: int, source: str) -> list[ArchiveFile]:
    """The archive files a shard would be read from under `source` (auto|archive|rest).

    auto leaves a shard to REST where the archive's file lacks a column REST has (Binance's
    funding archive has no mark price): the default never stores less than REST would.
    """
    archive = adapter.archive
    if source == "rest" or archive is None:
        return []
    if source == "auto" and archive.missing_columns(shard):
        return []
    return archive.files(shard, now_ms)


def source_label(files: list[ArchiveFile], until_ms: int) -> str:
    """archive, archive+rest or rest: what a shard planned with `files` is read from."""
    if not files:
        return "rest"
    return "archive" if files[-1].end_ms >= until_ms else "archive+rest"


async def _get(http: Http, url: str, sink: Sink, timeout_s: float) -> int:
    """GET `url` into `sink(chunk)`; returns the status of a non-2xx answer, else 200.

    No total timeout: a big day may take minutes on a slow link; a stalled read still fails.
    """
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=timeout_s)
    try:
        async with http.session.get(url, timeout=timeout) as response:
            if response.status >= 300:
                await response.read()
                return response.status
            async for chunk in response.content.iter_chunked(CHUNK_BYTES):
                sink(chunk)
            return 200
    except TimeoutError:
        raise ExchangeUnavailable(f"timeout on {url}") from None
    except aiohttp.ClientError as exc:
        raise ExchangeUnavailable(f"{type(exc).__name__} on {url}: {exc}") from None


class Downloader:
    """Downloads archive files for one process; `concurrency` is its polite per-process cap."""

    def __init__(
        self, http: Http, *, concurrency: int = 4, attempts: int = 3, timeout_s: float = 60.0
    ) -> None:
        self.http = http
        self.attempts = attempts
        self.timeout_s = timeout_s
        self._gate = asyncio.Semaphore(concurrency)

    async def _checked(self, exchange: str, file: ArchiveFile, url: str, sink: Sink) -> None:
        status = await _get(self.http, url, sink, self.timeout_s)
        if status == 404:
            raise ArchiveMissing(f"archive file {file.name} is missing (HTTP 404)", status=404)
        error = check_http(status, {}, b"") if status != 200 else None
        if isinstance(error, RateLimited):
            await self.http.limiter.cool_down(exchange, urlsplit(url).netloc, error.retry_after_s)
        if error is not None:
            raise error

    async def _once(self, exchange: str, file: ArchiveFile, dest: Path) -> Downloaded:
        # One charge covers the zip and its .CHECKSUM: the budget counts files.
        await self.http.limiter.acquire(
            exchange, file.group, file.weight, host=urlsplit(file.url).netloc
        )
        text = bytearray()
        digest = hashlib.sha256()
        with open(dest, "wb") as out:

            def sink(chunk: bytes) -> None:
                digest.update(chunk)
                out.write(chunk)

            # Both at once: the checksum is tiny, and one round trip less per file adds up.
            # Both finish before the file closes; then the first failure, if any, is raised.
            outcomes = await asyncio.gather(
                self._checked(exchange, file, file.url + ".CHECKSUM", text.extend),
                self._checked(exchange, file, file.url, sink),
                return_exceptions=True,
            )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        match = _SHA256.match(bytes(text) + b"\n")
        if match is None:
            raise ChecksumMismatch(f"{file.name}.CHECKSUM is not sha256sum output: {text[:80]!r}")
        expected = match.group(1).decode().lower()
        if digest.hexdigest() != expected:
            raise ChecksumMismatch(
                f"{file.name}: SHA-256 {digest.hexdigest()[:12]}… does not match its "
                f".CHECKSUM {expected[:12]}…"
            )
        return Downloaded(file, dest, expected)

    async def download(self, exchange: str, file: ArchiveFile, dest: Path, key: str) -> Downloaded:
        """One verified file at `dest`; transient faults and checksum mismatches are retried."""
        async with self._gate:
            for attempt in range(self.attempts):
                try:
                    return await self._once(exchange, file, dest)
                except (TransientError, ChecksumMismatch) as exc:
                    dest.unlink(missing_ok=True)
                    if attempt + 1 >= self.attempts:
                        if isinstance(exc, ChecksumMismatch):
                            raise ChecksumMismatch(
                                f"{exc} (after {self.attempts} attempts)"
                            ) from None
                        raise
                    delay = 0.0 if isinstance(exc, RateLimited) else backoff_s(attempt)
                    log.warning("%s: %s; retry %d in %.2fs", key, exc, attempt + 1, delay)
                    await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def source(
        self, adapter: Adapter, shard: Shard, now_ms: int, until_ms: int, mode: str, tmp: Path
    ) -> Sourcing:
        """Download and verify the shard's archive files and say where REST must take over.

        auto: a missing or corrupt file hands it and everything after it to REST.
        archive: the same is a PermanentError with the reason, as is any part of the shard
        that the archive cannot have yet (a period that has not ended).
        """
        if mode not in SOURCES:
            raise PermanentError(f"unknown source {mode!r}: choose one of {', '.join(SOURCES)}")
        files = planned_files(adapter, shard, now_ms, mode)
        if mode == "archive" and (not files or files[-1].end_ms < shard.end_ms):
            raise PermanentError(
                f"{shard.key}: the archive has no file for this period yet (it has not ended"
                " or is not archived); use --source auto to take it from REST"
            )
        jobs = [
            self.download(adapter.name, f, tmp / f"{i:03d}-{f.name}", shard.key)
            for i, f in enumerate(files)
        ]
        results = await asyncio.gather(*jobs, return_exceptions=True)
        out = Sourcing(rest_from_ms=shard.start_ms if until_ms > shard.start_ms else None)
        for file, result in zip(files, results, strict=True):
            if isinstance(result, ArchiveMissing | ChecksumMismatch):
                if mode == "archive":
                    raise result
                log.warning("%s: %s; taking the rest from REST", shard.key, result)
                out.note = str(result)
                break
            if isinstance(result, BaseException):
                raise result
            out.files.append(result)
            out.rest_from_ms = file.end_ms if file.end_ms < until_ms else None
        return out
