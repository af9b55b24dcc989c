"""Where a shard's rows come from, decided in one pure function of the shard, the market's
capabilities, the time and the mode.

The plan lists the archive files (as spans of the shard, from its start), where REST takes
over, and what neither can serve (an *unreachable* span, with the reason): the layout is
always [archive files][unreachable][REST] within [shard start, min(shard end, now)). The
planner, `--dry-run` and the worker all read it; the worker's only departure is at run
time, when a planned file turns out missing: `handing_over` then moves the rest to REST.

Three different things are called "source" around it, so they are kept apart by name:
the *mode* a user picks (`--source auto|archive|rest`, MODES), the *origin* a stored shard
records (`archive`, `archive+rest`, `rest`: SourcePlan.origin, the file's `source`
metadata), and the plan itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from storage.errors import InputError
from storage.shards import Shard
from workers.capabilities import Capability, Market, interval_ms

DAY_MS = 86_400_000

MODES = ("auto", "archive", "rest")


@dataclass(frozen=True)
class Span:
    """[start_ms, end_ms) of one archive file within a shard; `cadence` month or day."""

    start_ms: int
    end_ms: int
    cadence: str


@dataclass(frozen=True)
class SourcePlan:
    """Archive `files` first, then REST for [rest_from_ms, until_ms).

    `unreachable` is the part neither source can serve, `why` says why; a shard with one is
    stored *incomplete*. `fails` (archive mode only) is why the shard fails: the archive
    cannot have all of it. `rest_since_ms` is how far back REST reaches (None: to the
    listing) and `reach` says so in words, kept for a run-time hand-over. `nulls` are the
    columns the exchange never fills, `archive_lacks` those its files lack (both stored null).
    `snapshot_ms` is the step of snapshot rows (open interest), as the market declares it.
    """

    shard: Shard
    mode: str
    until_ms: int
    files: tuple[Span, ...] = ()
    rest_from_ms: int | None = None
    rest_since_ms: int | None = None
    reach: str = ""
    unreachable: tuple[int, int] | None = None
    why: str = ""
    fails: str | None = None
    nulls: tuple[str, ...] = ()
    archive_lacks: tuple[str, ...] = ()
    snapshot_ms: int | None = None

    def of(self, shard: Shard) -> SourcePlan:
        """This plan, for another symbol's shard of the same market, data type and period
        (planning a universe; `dataclasses.replace` re-runs `__init__` and costs 5x more)."""
        twin = object.__new__(SourcePlan)
        twin.__dict__.update(self.__dict__, shard=shard)
        return twin

    @property
    def origin(self) -> str:
        """archive, archive+rest, rest, or none (nothing can be fetched)."""
        if self.files:
            return "archive" if self.rest_from_ms is None else "archive+rest"
        return "rest" if self.rest_from_ms is not None else "none"

    @property
    def incomplete(self) -> bool:
        return self.unreachable is not None

    @property
    def fetches_nothing(self) -> bool:
        """Nothing of the shard can be read: the planner skips it (unless it is to fail)."""
        return not self.files and self.rest_from_ms is None and self.fails is None

    def handing_over(self, index: int) -> SourcePlan:
        """The plan once file `index` (and so every later one) cannot be read: REST from
        that file's start, as far as it reaches (the rest is then unreachable)."""
        start_ms = self.files[index].start_ms
        rest = _rest_part(start_ms, self.until_ms, self.rest_since_ms, self.reach)
        return replace(self, files=self.files[:index], **rest)


def capability_of(shard: Shard, market: Market) -> Capability:
    """The market's capability for the shard; InputError if it serves none (a bad key)."""
    cap = market.capability(shard.dtype, shard.interval)
    if cap is None:
        what = f"{shard.dtype} {shard.interval}" if shard.interval else shard.dtype
        raise InputError(f"{market.exchange} {market.name} serves no {what}")
    return cap


def plan_sources(shard: Shard, market: Market, now_ms: int, mode: str = "auto") -> SourcePlan:
    """The source plan of `shard` on `market` (capabilities as configured: without an
    archive URL the market declares none) at `now_ms`, for mode auto, archive or rest.

    auto: archive files for the closed periods they cover, then REST; where the files lack
    a column REST has and REST can serve the whole shard, REST alone (the default never
    stores less than REST would where it has the choice). archive: the files only; any part
    they cannot cover makes the plan `fails`. rest: REST only.
    """
    if mode not in MODES:
        raise InputError(f"unknown source mode {mode!r}: choose one of {', '.join(MODES)}")
    cap = capability_of(shard, market)
    until_ms = min(shard.end_ms, now_ms)
    if cap.rest is None:
        since_ms: int | None = now_ms  # no REST: it serves nothing of the past
        reach = f"{market.exchange} serves no {shard.dtype} over REST"
    else:
        since_ms = cap.rest.reach.since_ms(shard.interval, now_ms)
        reach = cap.rest.reach.reason(shard.interval)
        step_ms = interval_ms(shard.interval) if shard.interval else cap.snapshot_ms
        if since_ms is not None and step_ms:
            since_ms = -(-since_ms // step_ms) * step_ms  # the first whole row REST has
    whole_by_rest = since_ms is None or since_ms <= shard.start_ms
    # Where the files lack a column and REST has the whole shard, auto leaves it to REST.
    prefer_rest = mode == "auto" and cap.archive is not None and cap.archive.lacks
    files: tuple[Span, ...] = ()
    if mode != "rest" and not (prefer_rest and whole_by_rest):
        files = archive_spans(shard, cap, now_ms)
    lacks = cap.archive.lacks if files and cap.archive else ()
    plan = SourcePlan(
        shard,
        mode,
        until_ms,
        files,
        rest_since_ms=since_ms,
        reach=reach,
        nulls=cap.nulls,
        archive_lacks=lacks,
        snapshot_ms=cap.snapshot_ms,
    )
    archived_to = files[-1].end_ms if files else shard.start_ms
    if mode == "archive":
        if archived_to >= shard.end_ms:
            return plan
        return replace(plan, fails=_archive_lacks(shard, archived_to, cap))
    if archived_to >= until_ms:
        return plan
    return replace(plan, **_rest_part(archived_to, until_ms, since_ms, reach))


def _rest_part(from_ms: int, until_ms: int, since_ms: int | None, why: str) -> dict[str, object]:
    """REST from `from_ms`, or from `since_ms` with [from_ms, since_ms) unreachable."""
    if since_ms is None or since_ms <= from_ms:
        return {"rest_from_ms": from_ms, "rest_since_ms": since_ms}
    unreachable = (from_ms, min(since_ms, until_ms))
    rest_from = since_ms if since_ms < until_ms else None
    return {
        "rest_from_ms": rest_from,
        "rest_since_ms": since_ms,
        "unreachable": unreachable,
        "why": why,
    }


def archive_spans(shard: Shard, cap: Capability, now_ms: int) -> tuple[Span, ...]:
    """The archive files of the shard whose periods have closed by `now_ms`, from its start
    (a month's file, or one per day), as the capability declares them."""
    files = cap.archive
    if files is None:
        return ()
    if files.monthly and shard.kind.period == "month" and shard.end_ms <= now_ms:
        return (Span(shard.start_ms, shard.end_ms, "month"),)
    if not files.daily:
        return ()
    until_ms = min(now_ms, shard.end_ms)
    days = range(shard.start_ms, until_ms - DAY_MS + 1, DAY_MS)  # periods start at midnight UTC
    return tuple(Span(day, day + DAY_MS, "day") for day in days)


def _archive_lacks(shard: Shard, from_ms: int, cap: Capability) -> str:
    if cap.archive is None:
        return f"{shard.key}: the archive has no {shard.dtype} files; use --source auto or rest"
    return (
        f"{shard.key}: the archive has no file for it from {utc(from_ms)} (its files hold "
        f"closed periods, published about {cap.archive.delay_h:g} h after they end); use "
        "--source auto to take that part from REST"
    )


def utc(ms: int) -> str:
    return f"{datetime.fromtimestamp(ms / 1000, UTC):%Y-%m-%d %H:%M} UTC"
