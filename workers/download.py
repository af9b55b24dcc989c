"""Archive downloads: files and directory listings over the process's one HTTP session,
each charged to the cluster-wide limiter, retried as workers/edge.py says, and verified
before a row is read.

A file is verified by its published SHA-256 (`checksum_url`) or, where none is published,
by decoding it whole (gzip and zip carry a CRC of their content); either way the SHA-256 of
the bytes downloaded is what the shard records.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import re
import time
import zipfile
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from storage.errors import PermanentError, RateLimited, TransientError
from workers.edge import Retry
from workers.exchanges.base import ArchiveFile, check_http
from workers.http import CHUNK_BYTES, Http, Sink

LISTING_TTL_S = 300.0
_SHA256 = re.compile(rb"\s*([0-9a-fA-F]{64})\s")
T = TypeVar("T")


class ArchiveMissing(PermanentError):
    """The archive has no such file (HTTP 404, or its directory does not list it): not
    published yet, or never. Auto mode takes the rest of the shard from REST where REST
    reaches; otherwise the shard fails with this reason."""


class CorruptFile(PermanentError):
    """A download stayed unusable after every retry; nothing of it was stored."""


class ChecksumMismatch(CorruptFile):
    """A downloaded zip does not match its .CHECKSUM."""


class Undecodable(CorruptFile):
    """A file with no published checksum does not decode (truncated, garbled)."""


@dataclass(frozen=True)
class Downloaded:
    file: ArchiveFile
    path: Path
    sha256: str


def check_decodes(path: Path, packing: str, name: str) -> None:
    """Read the whole file through its decompressor, whose CRC catches a flipped byte."""
    try:
        if packing == "gzip":
            with gzip.open(path, "rb") as stream:
                while stream.read(CHUNK_BYTES):
                    pass
        else:
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
                if bad is not None:
                    raise zipfile.BadZipFile(f"bad CRC in {bad}")
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile) as exc:
        raise Undecodable(f"{name} does not decode as {packing}: {exc}") from None


class Downloader:
    """Downloads archive files for one process; `concurrency` is its polite per-process cap.

    Directory listings are kept `listing_ttl_s` per URL: every day of a symbol reads the
    same page.
    """

    def __init__(
        self,
        http: Http,
        *,
        concurrency: int = 4,
        attempts: int = 3,
        timeout_s: float = 60.0,
        listing_ttl_s: float = LISTING_TTL_S,
    ) -> None:
        self.http = http
        self.attempts = attempts
        self.timeout_s = timeout_s
        self.listing_ttl_s = listing_ttl_s
        self._gate = asyncio.Semaphore(concurrency)
        self._listings: dict[str, tuple[float, str]] = {}
        self._listing_locks: dict[str, asyncio.Lock] = {}

    async def _checked(self, exchange: str, group: str, what: str, url: str, sink: Sink) -> None:
        status = await self.http.download(url, sink, read_timeout_s=self.timeout_s)
        if status == 404:
            raise ArchiveMissing(f"{what} is missing (HTTP 404)", status=404)
        error = check_http(status, {}, b"") if status != 200 else None
        if isinstance(error, RateLimited):
            await self.http.cool_down(exchange, url, error)
        if error is not None:
            raise error

    async def _once(self, exchange: str, file: ArchiveFile, dest: Path) -> Downloaded:
        # One charge covers the file and its checksum: the budget counts files.
        await self.http.charge(exchange, file.group, file.weight, file.url)
        text = bytearray()
        digest = hashlib.sha256()
        with open(dest, "wb") as out:

            def sink(chunk: bytes) -> None:
                digest.update(chunk)
                out.write(chunk)

            # A missing checksum means a missing file: both are named by the file.
            what = f"archive file {file.name}"
            jobs = [self._checked(exchange, file.group, what, file.url, sink)]
            if file.checksum_url is not None:
                # Both at once: the checksum is tiny, and one round trip less per file adds up.
                checksum = self._checked(exchange, file.group, what, file.checksum_url, text.extend)
                jobs.insert(0, checksum)
            # All finish before the file closes; then the first failure, if any, is raised.
            outcomes = await asyncio.gather(*jobs, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        if file.checksum_url is None:
            check_decodes(dest, file.packing, file.name)
            return Downloaded(file, dest, digest.hexdigest())
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

    async def _retried(self, attempt_once: Callable[[], Awaitable[T]], key: str) -> T:
        """Transient faults and corrupt downloads are retried; the last one is raised."""
        policy = Retry(self.attempts, retry_on=(TransientError, CorruptFile))
        try:
            return await policy.run(attempt_once, key)
        except CorruptFile as exc:
            raise type(exc)(f"{exc} (after {self.attempts} attempts)") from None

    async def download(self, exchange: str, file: ArchiveFile, dest: Path, key: str) -> Downloaded:
        """One verified file at `dest`."""

        async def once() -> Downloaded:
            try:
                return await self._once(exchange, file, dest)
            except BaseException:
                dest.unlink(missing_ok=True)
                raise

        async with self._gate:
            return await self._retried(once, key)

    async def listing(self, exchange: str, group: str, url: str, key: str) -> str:
        """The text of a directory page, from this process's cache while it is fresh."""
        lock = self._listing_locks.setdefault(url, asyncio.Lock())
        async with lock:  # one fetch however many shards ask at once
            cached = self._listings.get(url)
            if cached is not None and time.monotonic() - cached[0] < self.listing_ttl_s:
                return cached[1]

            async def once() -> str:
                await self.http.charge(exchange, group, 1, url)
                page = bytearray()
                await self._checked(exchange, group, f"archive directory {url}", url, page.extend)
                return page.decode("utf-8", errors="replace")

            async with self._gate:
                text = await self._retried(once, key)
            self._listings[url] = (time.monotonic(), text)
            return text
