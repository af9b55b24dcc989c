"""Reading a source plan's archive files: list, download and verify them, and hand the rest of
the shard to REST when a file turns out missing or corrupt.

Exchange-neutral: the plan (workers/sourceplan.py) says which spans of the shard come from
the archive, the adapter's `archive` names their files; the worker's Downloader lists,
fetches and verifies them.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from storage.errors import PermanentError, ShardfetchError, TransientError
from workers.download import (
    ArchiveMissing,
    ChecksumMismatch,
    CorruptFile,
    Downloaded,
    Downloader,
    Undecodable,
)
from workers.exchanges.base import Adapter, ArchiveFile
from workers.sourceplan import SourcePlan, utc

__all__ = [
    "ArchiveMissing",
    "ChecksumMismatch",
    "CorruptFile",
    "Downloader",
    "Gathered",
    "Undecodable",
    "gather_files",
    "planned_files",
]

log = logging.getLogger(__name__)


@dataclass
class Gathered:
    """The verified files, and the plan as it stands after them (REST from where they stop);
    `note` says why a planned file was handed to REST."""

    plan: SourcePlan
    files: list[Downloaded] = field(default_factory=list)
    note: str = ""


def planned_files(adapter: Adapter, plan: SourcePlan) -> list[ArchiveFile]:
    """The archive files the plan's spans name, as the archive usually has them."""
    if adapter.archive is None:
        return []
    named = (adapter.archive.file(plan.shard, span) for span in plan.files)
    return [f for f in named if f is not None]


async def _listed(
    downloader: Downloader, adapter: Adapter, plan: SourcePlan
) -> tuple[list[ArchiveFile], ArchiveMissing | None]:
    """The plan's files as the archive's directory page lists them (all of them where the
    archive has no such page), up to the first it lacks, and what it lacks."""
    archive, shard = adapter.archive, plan.shard
    files = planned_files(adapter, plan)
    url = None if archive is None or not files else archive.listing_url(shard)
    if url is None:
        return files, None
    try:
        page = await downloader.listing(adapter.name, files[0].group, url, shard.key)
    except ArchiveMissing as exc:
        return [], exc
    listed: list[ArchiveFile] = []
    for span in plan.files:
        found = archive.file(shard, span, page)
        if found is None:
            lacking = f"archive directory {url} lists no file for {shard.symbol} from "
            return listed, ArchiveMissing(lacking + utc(span.start_ms))
        listed.append(found)
    return listed, None


async def gather_files(
    downloader: Downloader, adapter: Adapter, plan: SourcePlan, tmp: Path
) -> Gathered:
    """Download and verify the plan's archive files into `tmp`.

    archive mode: a part the archive cannot have (`plan.fails`), a missing file or a corrupt
    one is a PermanentError with the reason. auto: a missing or corrupt file, or one whose
    host keeps failing, hands it and everything after it to REST as far as REST reaches;
    where that leaves a part unreachable, a missing or corrupt file fails the shard with
    both reasons, and a failing host is a transient fault (retried later).
    """
    files, lacking = await _listed(downloader, adapter, plan)
    if plan.mode == "archive" and (lacking is not None or plan.fails):
        raise lacking or PermanentError(plan.fails or "")
    jobs = [
        downloader.download(adapter.name, f, tmp / f"{i:03d}-{f.name}", plan.shard.key)
        for i, f in enumerate(files)
    ]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    out = Gathered(plan)
    problem: ShardfetchError | None = lacking
    for result in results:
        if isinstance(result, ArchiveMissing | CorruptFile):
            if plan.mode == "archive":
                raise result
            problem = result
            break
        if isinstance(result, TransientError) and plan.mode == "auto":
            problem = result  # an archive host that keeps failing: REST, where it reaches
            break
        if isinstance(result, BaseException):
            raise result
        out.files.append(result)
    if problem is None:
        return out
    out.plan = plan.handing_over(len(out.files))
    out.note = str(problem)
    if out.plan.unreachable != plan.unreachable:
        if isinstance(problem, TransientError):
            raise problem  # the archive is the only source: the task tries the shard later
        start_ms = out.plan.unreachable[0] if out.plan.unreachable else plan.shard.start_ms
        raise type(problem)(
            f"{problem}, and REST cannot serve it from {utc(start_ms)} either: {out.plan.reach}"
        )
    log.warning("%s: %s; taking the rest from REST", plan.shard.key, problem)
    return out
