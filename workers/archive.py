"""Where a shard's rows come from: which public-archive files, and from when REST takes over.

Exchange-neutral: the adapter's `archive` declares which files cover a shard and its
`rest_reach` how far back REST serves; this module decides it for the plan and for the
worker, and has the worker's Downloader list, fetch and verify the files.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from storage.errors import PermanentError, TransientError
from storage.shards import Shard
from workers.download import (
    ArchiveMissing,
    ChecksumMismatch,
    CorruptFile,
    Downloaded,
    Downloader,
    Undecodable,
)
from workers.exchanges.base import Adapter, ArchiveFile

__all__ = [
    "SOURCES",
    "ArchiveMissing",
    "ChecksumMismatch",
    "CorruptFile",
    "Downloader",
    "Sourcing",
    "Undecodable",
    "planned_files",
    "rest_from_ms",
    "rest_serves",
    "source",
    "source_label",
]

log = logging.getLogger(__name__)

SOURCES = ("auto", "archive", "rest")


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


def rest_serves(adapter: Adapter, shard: Shard, from_ms: int, now_ms: int) -> bool:
    """Whether REST, judged at `now_ms`, reaches back to `from_ms` for the shard's data."""
    reach = adapter.rest_reach(shard.dtype, shard.interval, now_ms)
    return reach is None or from_ms >= reach.since_ms


def planned_files(adapter: Adapter, shard: Shard, now_ms: int, source: str) -> list[ArchiveFile]:
    """The archive files a shard would be read from under `source` (auto|archive|rest).

    auto leaves a shard to REST where the archive's files lack a column REST has (Binance's
    funding archive has no mark price, Gate's candles no base volume) and REST can serve the
    whole shard: where there is a choice, the default never stores less than REST would.
    Where REST cannot, the archive is the only source and is used, that column left null.
    """
    archive = adapter.archive
    if source == "rest" or archive is None:
        return []
    if (
        source == "auto"
        and archive.missing_columns(shard)
        and rest_serves(adapter, shard, shard.start_ms, now_ms)
    ):
        return []
    return archive.files(shard, now_ms)


def rest_from_ms(files: list[ArchiveFile], shard: Shard, until_ms: int) -> int | None:
    """Where REST must take over after `files` (at the shard's start without any); None when
    the files reach `until_ms` or there is nothing before it to fetch."""
    start_ms = files[-1].end_ms if files else shard.start_ms
    return start_ms if start_ms < until_ms else None


def source_label(files: list[ArchiveFile], until_ms: int) -> str:
    """archive, archive+rest or rest: what a shard planned with `files` is read from."""
    if not files:
        return "rest"
    return "archive" if files[-1].end_ms >= until_ms else "archive+rest"


def _utc(ms: int) -> str:
    return f"{datetime.fromtimestamp(ms / 1000, UTC):%Y-%m-%d %H:%M} UTC"


async def _listed(
    downloader: Downloader, adapter: Adapter, shard: Shard, now_ms: int, files: list[ArchiveFile]
) -> tuple[list[ArchiveFile], ArchiveMissing | None]:
    """The planned files as the archive's directory page lists them, and what it lacks."""
    archive = adapter.archive
    url = None if archive is None or not files else archive.listing_url(shard)
    if url is None:
        return files, None
    try:
        page = await downloader.listing(adapter.name, files[0].group, url, shard.key)
    except ArchiveMissing as exc:
        return [], exc
    listed = archive.files(shard, now_ms, page)
    listed_end = listed[-1].end_ms if listed else shard.start_ms
    if listed_end >= files[-1].end_ms:
        return listed, None
    lacking = f"archive directory {url} lists no file for {shard.symbol} from {_utc(listed_end)}"
    return listed, ArchiveMissing(lacking)


async def source(
    downloader: Downloader,
    adapter: Adapter,
    shard: Shard,
    now_ms: int,
    until_ms: int,
    mode: str,
    tmp: Path,
) -> Sourcing:
    """Download and verify the shard's archive files and say where REST must take over.

    auto: a missing or corrupt file, or one whose host keeps failing, hands it and everything
    after it to REST, if REST reaches that far back; otherwise a missing or corrupt file fails
    the shard with both reasons, and a failing host is a transient fault (retried later).
    archive: the same is a PermanentError with the reason, as is any part of the shard
    that the archive cannot have yet (a period that has not ended).
    """
    if mode not in SOURCES:
        raise PermanentError(f"unknown source {mode!r}: choose one of {', '.join(SOURCES)}")
    files, lacking = await _listed(
        downloader, adapter, shard, now_ms, planned_files(adapter, shard, now_ms, mode)
    )
    if mode == "archive" and (not files or files[-1].end_ms < shard.end_ms):
        raise lacking or PermanentError(
            f"{shard.key}: the archive has no file for this period yet (it has not ended"
            " or is not archived); use --source auto to take it from REST"
        )
    jobs = [
        downloader.download(adapter.name, f, tmp / f"{i:03d}-{f.name}", shard.key)
        for i, f in enumerate(files)
    ]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    out = Sourcing(rest_from_ms=rest_from_ms([], shard, until_ms))
    for file, result in zip(files, results, strict=True):
        if isinstance(result, ArchiveMissing | CorruptFile):
            if mode == "archive":
                raise result
            lacking = result
            break
        if isinstance(result, TransientError) and mode == "auto":
            lacking = result  # an archive host that keeps failing: REST, where it reaches
            break
        if isinstance(result, BaseException):
            raise result
        out.files.append(result)
        out.rest_from_ms = file.end_ms if file.end_ms < until_ms else None
    if lacking is None:
        return out
    out.note = str(lacking)
    if out.rest_from_ms is not None and not rest_serves(adapter, shard, out.rest_from_ms, now_ms):
        if isinstance(lacking, TransientError):
            raise lacking  # the archive is the only source: the task tries the shard later
        reach = adapter.rest_reach(shard.dtype, shard.interval, now_ms)
        why = reach.why if reach is not None else "REST does not reach"
        raise type(lacking)(
            f"{lacking}, and REST cannot serve it from {_utc(out.rest_from_ms)} either: {why}"
        )
    log.warning("%s: %s; taking the rest from REST", shard.key, lacking)
    return out
