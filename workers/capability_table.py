"""The README's data-type tables, written from the capability tables so they cannot drift:
`python -m workers.capability_table` prints them; a unit test holds the README to them.

The first table says per market, data type and exchange where the rows come from; the
second, per exchange market and data type, the facts behind it (intervals, endpoint, page,
weight and budget, how far back REST reaches, the archive's files, the columns left null).
"""

from __future__ import annotations

from workers.capabilities import Capability, Files, Market, Reach
from workers.exchanges import ADAPTERS

BEGIN, END = "<!-- capabilities:begin -->", "<!-- capabilities:end -->"
ORDER = ("klines", "aggtrades", "funding", "markklines", "indexklines", "premiumklines")
ORDER += ("openinterest",)


def _reach(reach: Reach) -> str:
    if reach.kind == "points":
        return f"latest {reach.n:,} candles"
    if reach.kind == "days":
        return f"last {reach.n} days"
    if reach.kind == "latest":
        return f"latest {reach.n:,} rows only" if reach.n else "recent rows only"
    return "since listing"


def _files(files: Files) -> str:
    cadence = (
        "monthly, daily for the open month"
        if files.monthly and files.daily
        else ("monthly" if files.monthly else "daily")
    )
    check = "CHECKSUM" if files.checksum else "no checksum"
    lacks = f"; no {', '.join(files.lacks)}" if files.lacks else ""
    return f"{cadence} ({check}, ~{files.delay_h:g} h after the period, {files.time_unit}){lacks}"


def _cell(caps: list[Capability]) -> str:
    """REST, archive or both, for every interval group of one type on one market."""
    if not caps:
        return "—"
    rest = [c for c in caps if c.rest is not None and c.rest.reach.kind != "latest"]
    archived = [c for c in caps if c.archive is not None]
    parts = []
    if rest:
        reach = rest[0].rest.reach if rest[0].rest else None
        parts.append("REST" if reach is None or reach.kind == "all" else f"REST ({_reach(reach)})")
    if archived:
        some = len(archived) < len(caps) and caps[0].intervals
        intervals = " ".join(i for c in archived for i in c.intervals)
        parts.append(f"archive ({intervals})" if some else "archive")
    return " + ".join(parts) or "— (REST: latest rows only)"


def matrix() -> str:
    names = list(ADAPTERS)
    lines = [
        "| market | data type | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for kind in ("spot", "perp"):
        for dtype in ORDER:
            cells = []
            for name in names:
                markets = [m for m in ADAPTERS[name].capabilities.markets if m.kind == kind]
                caps = [c for m in markets for c in m.capabilities if c.dtype == dtype]
                cells.append(_cell(caps))
            if any(c != "—" for c in cells):
                lines.append(f"| {kind} | {dtype} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _row(market: Market, cap: Capability) -> str:
    rest = cap.rest
    endpoint = (
        f"`{rest.path}`, {rest.page:,}/page, weight {rest.weight} of `{rest.group}`, "
        f"{_reach(rest.reach)}"
        if rest is not None
        else "—"
    )
    archive = _files(cap.archive) if cap.archive is not None else "—"
    step = f"; every {cap.snapshot_ms // 60_000} min" if cap.snapshot_ms else ""
    nulls = ", ".join(cap.nulls) or "—"
    intervals = " ".join(cap.intervals) or "—"
    return (
        f"| {market.exchange} | {market.name} ({market.times}) | {cap.dtype}{step} | "
        f"{intervals} | {endpoint} | {archive} | {nulls} |"
    )


def details() -> str:
    lines = [
        "| exchange | market (REST times) | data type | intervals | REST | archive | null |",
        "|---|---|---|---|---|---|---|",
    ]
    for adapter in ADAPTERS.values():
        for market in adapter.capabilities.markets:
            caps = sorted(market.capabilities, key=lambda c: ORDER.index(c.dtype))
            lines += [_row(market, cap) for cap in caps]
    return "\n".join(lines)


def generate() -> str:
    """The text between the README's BEGIN and END markers."""
    return f"{BEGIN}\n{matrix()}\n\n{details()}\n{END}"


if __name__ == "__main__":
    print(generate())
