"""The narrow interface every exchange adapter implements, and the values it exchanges."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import pyarrow as pa

from storage.errors import ExchangeUnavailable, PermanentError, RateLimited, ShardfetchError
from storage.shards import Shard
from workers.capabilities import Capabilities
from workers.sourceplan import Span


@dataclass(frozen=True)
class PageRequest:
    """One GET, with what the limiter must charge for it.

    `until_ms` and `context` are the adapter's own continuation context, never sent: the
    exclusive time bound of the window this request walks (cursor pages keep it when they
    hand out the next request), and facts an earlier page of the chain told (Gate's
    contract size).
    `descending` marks a chain that walks back in time (newest page first, as Bybit and MEXC
    hand out history): the fetcher stores its pages in reverse, so each page must be sorted.
    """

    url: str
    params: tuple[tuple[str, str], ...]
    group: str
    weight: int
    until_ms: int | None = None
    descending: bool = False
    context: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Usage:
    """What the exchange says this IP has spent: `used` weight of `group`'s budget in its
    own rolling `window_s` (Binance's X-MBX-USED-WEIGHT-1M)."""

    group: str
    used: int
    window_s: float


@dataclass(frozen=True)
class Page:
    batch: pa.RecordBatch
    next: PageRequest | None = None


@dataclass(frozen=True)
class ArchiveFile:
    """One compressed CSV of a public data archive, read for [start_ms, end_ms) of a shard.

    `packing` is "zip" (one CSV member) or "gzip". `checksum_url` names a `sha256sum` line to
    verify the download against; None where the archive publishes none: the file must then
    decode whole, and the SHA-256 of the bytes downloaded is recorded. Rows outside the
    window are dropped (a monthly dump read for one day). `group` and `weight` are what the
    cluster-wide limiter charges for the download.
    """

    url: str
    start_ms: int
    end_ms: int
    group: str
    weight: int = 1
    packing: str = "zip"
    checksum_url: str | None = None

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class CsvLayout:
    """How one archive CSV reads: every column in file order (names ours where kept), the
    type to read each kept column as (the others are skipped), and whether line one is a
    header to skip."""

    names: tuple[str, ...]
    types: Mapping[str, pa.DataType]
    header: bool


class Archive(Protocol):
    """An exchange's public archive of closed periods, as pure declarations.

    Which periods have files is the capability table's (workers/capabilities.py) and the
    source plan's; the archive names them and says how they read. An adapter that has one
    exposes it as its `archive` attribute; shared code lists, downloads, verifies and
    streams the files (workers/archive.py, workers/download.py, workers/archive_csv.py)
    and never sees the exchange.
    """

    def listing_url(self, shard: Shard) -> str | None:
        """A directory page to read before the shard's files are known; None: file names
        follow from the shard."""
        ...

    def file(self, shard: Shard, span: Span, listing: str | None = None) -> ArchiveFile | None:
        """The file holding `span` of the shard (a month or a day the plan asks for).

        With a `listing_url`, `listing` is that page's text: the file it lists for the span,
        or None if it lists none. Without the text (planning), the file the archive usually
        has.
        """
        ...

    def layout(self, shard: Shard, first_line: bytes) -> CsvLayout:
        """How the file whose first line this is reads; DataError if it is not a layout
        the archive has."""
        ...

    def to_batch(self, raw: pa.RecordBatch, shard: Shard, first_row: int = 0) -> pa.RecordBatch:
        """Rows read with `layout` as a batch in the dtype's schema (units normalised);
        `first_row` is the number of rows of the file read before this batch."""
        ...


class Adapter(Protocol):
    name: ClassVar[str]
    #: market -> default base URL (overridden by `<EXCHANGE>_<MARKET>_URL`)
    base_urls: ClassVar[dict[str, str]]
    #: endpoint group -> default budget "weight/seconds" (`<EXCHANGE>_<GROUP>_RATE_LIMIT`)
    rate_limits: ClassVar[dict[str, str]]
    #: "contiguous" (one id after another per market, so a skipped id is a gap), "sparse"
    #: (ids shared across markets) or "none" (no ids: agg_id is synthesised)
    trade_ids: ClassVar[str]

    def __init__(self, urls: Mapping[str, str]) -> None: ...

    #: the exchange's public archive of closed periods, or None
    archive: Archive | None
    #: what each market serves (workers/capabilities.py), as configured: without an
    #: archive URL, no archive
    capabilities: Capabilities

    def requests(
        self, shard: Shard, until_ms: int, start_ms: int | None = None
    ) -> list[PageRequest]:
        """The first request of each independent page chain covering [start_ms, until_ms);
        `start_ms` defaults to the shard's start (later only for a tail after archive files)."""
        ...

    def parse(self, body: bytes, request: PageRequest, shard: Shard) -> Page:
        """Rows of one response as a batch in the dtype's schema, sorted, within the request's
        window; and the next request of the chain, if the page was full."""
        ...

    def check(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        """Raise the right error for a response that carries no data."""
        ...

    def usage(self, request: PageRequest, headers: Mapping[str, str]) -> Usage | None:
        """The weight the exchange reports this IP used, from a response's headers; None
        where it reports none. The limiter takes it in when it is more than it counted."""
        ...

    def listing_request(self, market: str, dtype: str, symbol: str) -> PageRequest:
        """A cheap request whose answer says whether the symbol exists and when its data begins."""
        ...

    def parse_listing(self, body: bytes, dtype: str) -> int | None:
        """The first millisecond with data, or None if the exchange has none yet."""
        ...


def load_json(body: bytes) -> Any:
    """Decode a body; a body that is not JSON is a truncated or garbled answer, so transient."""
    try:
        return json.loads(body)
    except ValueError as exc:
        raise ExchangeUnavailable(f"invalid JSON body ({len(body)} bytes): {exc}") from None


def retry_after_s(headers: Mapping[str, str], default_s: float) -> float:
    try:
        return max(float(headers.get("Retry-After", default_s)), 0.0)
    except ValueError:
        return default_s


def check_http(status: int, headers: Mapping[str, str], body: bytes) -> ShardfetchError | None:
    """The part of error mapping every exchange shares: 429/418 back off, 5xx retry."""
    if status in (418, 429):
        return RateLimited(
            f"HTTP {status}: too many requests",
            retry_after_s=retry_after_s(headers, 60.0 if status == 418 else 5.0),
            status=status,
        )
    if status >= 500:
        return ExchangeUnavailable(f"HTTP {status} from the exchange", status=status)
    if status >= 400:
        return PermanentError(f"HTTP {status}: {body[:200]!r}", status=status)
    return None
