"""Which planned shards an exchange can serve at all, decided before anything is queued:
archive files for closed periods, REST within its reach; the warning for what neither can
serve, and the note on columns the archive leaves null."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from producer.plan import split_by_reach
from storage.shards import Shard
from workers.archive import planned_files, rest_from_ms
from workers.exchanges.base import Adapter, RestReach


@dataclass(frozen=True)
class Reachable:
    served: tuple[Shard, ...]
    #: shards neither source can serve: skipped, with `unreachable_warning`
    beyond: tuple[Shard, ...]
    reach: RestReach | None
    #: columns left null -> the served shards read from an archive that lacks them
    nulls: dict[tuple[str, ...], list[Shard]] = field(default_factory=dict)


def split_sources(
    adapter: Adapter, shards: tuple[Shard, ...], now_ms: int, source: str
) -> Reachable:
    """Split one data type's shards by whether `source` (auto|archive|rest) can serve them.

    A shard needs REST from where its archive files stop (its start without any); it is
    served when REST reaches back that far. `--source archive` never asks REST: a shard the
    archive cannot cover is planned anyway and fails with the reason, as the plan shows.
    """
    if not shards:
        return Reachable((), (), None)
    reach = adapter.rest_reach(shards[0].dtype, shards[0].interval, now_ms)
    files = {s: planned_files(adapter, s, now_ms, source) for s in shards}

    def rest_from(shard: Shard) -> int | None:
        if source == "archive":
            return None
        return rest_from_ms(files[shard], shard, min(shard.end_ms, now_ms))

    served, beyond = split_by_reach(shards, None if reach is None else reach.since_ms, rest_from)
    nulls: dict[tuple[str, ...], list[Shard]] = {}
    for shard in served:
        lacking = adapter.archive.missing_columns(shard) if files[shard] else ()
        if lacking:
            nulls.setdefault(lacking, []).append(shard)
    return Reachable(served, beyond, reach, nulls)


def _what(shards: tuple[Shard, ...] | list[Shard], exchange: str) -> str:
    first = shards[0]
    what = f"{first.dtype} {first.interval}" if first.interval else first.dtype
    span = first.period if len(shards) == 1 else f"{first.period} .. {shards[-1].period}"
    return f"{len(shards)} {exchange} {what} {first.symbol} shard(s) {span}"


def unreachable_warning(
    exchange: str, beyond: tuple[Shard, ...], reach: RestReach, archived: bool = False
) -> str:
    """One line naming the shards skipped because neither the exchange's REST API nor (when
    `archived`) its archive can serve them."""
    since = datetime.fromtimestamp(reach.since_ms / 1000, UTC)
    if archived:
        why = (
            "neither source has them: the archive has no file for them (it holds closed "
            "periods only, and not every data type or interval), and REST reaches back only "
            f"to {since:%Y-%m-%d %H:%M} UTC ({reach.why})"
        )
    else:
        why = f"they start before {since:%Y-%m-%d %H:%M} UTC and {reach.why}"
    what = _what(beyond, exchange)
    return f"[yellow]warning[/yellow]: skipping {what}: {why}; nothing was queued for them"


def null_note(shards: list[Shard], columns: tuple[str, ...], source: str) -> str:
    """One line saying which columns shards read from the archive will store as null."""
    why = "--source archive" if source == "archive" else "REST cannot serve them whole"
    return (
        f"[yellow]note[/yellow]: {_what(shards, shards[0].exchange)} come from the archive, "
        f"which has no "
        f"{', '.join(columns)}: stored null ({why})"
    )
