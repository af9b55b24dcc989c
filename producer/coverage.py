"""The coverage picture: per symbol and data type, a calendar strip of what is stored.

Each shard is a cell on a common day axis (a day for trades, a month for candles and
funding), coloured by what the files and the ledger say: done, partial, empty at the
exchange, failed, or planned and not stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from storage.ledger import Ledger
from storage.shards import Shard
from storage.store import Store

COLOURS = {
    "done": (46, 157, 79),
    "partial": (122, 190, 230),
    "empty": (190, 170, 120),
    "failed": (214, 39, 40),
    "missing": (205, 205, 205),
}
LEGEND = {
    "done": "done",
    "partial": "partial (period not over)",
    "empty": "empty at the exchange",
    "failed": "failed",
    "missing": "planned, not stored",
}
ROW_H, LABEL_W, PAD, AXIS_H, LEGEND_H = 20, 330, 10, 40, 30


@dataclass(frozen=True)
class Cell:
    first: date
    last: date  # inclusive
    state: str


@dataclass(frozen=True)
class Strip:
    label: str
    cells: tuple[Cell, ...]


def cell_state(ledger_state: str, rows: int | None, complete: bool) -> str:
    """A file decides (files are the truth); without one the ledger says failed or missing."""
    if rows is not None:
        if rows == 0 and complete:
            return "empty"
        return "done" if complete else "partial"
    return "failed" if ledger_state == "failed" else "missing"


def strips(ledger: Ledger, store: Store, keep: Callable[[Shard], bool]) -> list[Strip]:
    files = {f.shard: f for f in store.stored() if keep(f.shard)}
    planned = [s for s in ledger.planned() if keep(s)]
    states = {st.shard: st.state for st in ledger.states(planned)}
    groups: dict[tuple, list[Cell]] = {}
    for shard in sorted(set(planned) | set(files)):
        f = files.get(shard)
        state = cell_state(
            states.get(shard, "missing"),
            None if f is None else f.rows,
            True if f is None else f.complete,
        )
        name = f"{shard.dtype} {shard.interval}" if shard.interval else shard.dtype
        label = f"{shard.exchange} {shard.market} {shard.symbol} {name}"
        end = shard.end.date() - timedelta(days=1)
        groups.setdefault((shard.exchange, shard.market, shard.symbol, name, label), []).append(
            Cell(shard.start.date(), end, state)
        )
    return [Strip(key[-1], tuple(cells)) for key, cells in sorted(groups.items())]


def draw(rows: Sequence[Strip], out: Path, title: str = "shardfetch coverage") -> Counter:
    """Write the PNG and return how many cells of each state it shows."""
    font = ImageFont.load_default(size=13)
    first = min((c.first for r in rows for c in r.cells), default=date.today())
    last = max((c.last for r in rows for c in r.cells), default=date.today())
    days = (last - first).days + 1
    px = max(1, min(12, 1400 // days))
    width = LABEL_W + days * px + 2 * PAD
    height = AXIS_H + len(rows) * ROW_H + LEGEND_H + 2 * PAD + 16
    image = Image.new("RGB", (width, height), "white")
    pen = ImageDraw.Draw(image)
    pen.text((PAD, PAD), title, fill="black", font=ImageFont.load_default(size=15))
    x0, y0 = LABEL_W + PAD, PAD + AXIS_H
    _axis(pen, font, first, last, x0, y0, px)
    counts: Counter = Counter()
    for i, row in enumerate(rows):
        top = y0 + i * ROW_H
        pen.text((PAD, top + 2), row.label, fill="black", font=font)
        for cell in row.cells:
            left = x0 + (cell.first - first).days * px
            right = x0 + ((cell.last - first).days + 1) * px - 1
            gap = 1 if right - left >= 3 else 0  # a hairline between cells wide enough for one
            pen.rectangle([left, top + 2, right - gap, top + ROW_H - 3], fill=COLOURS[cell.state])
            counts[cell.state] += 1
    _legend(pen, font, counts, PAD, y0 + len(rows) * ROW_H + 12)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out, format="PNG")
    return counts


def _axis(pen, font, first: date, last: date, x0: int, y0: int, px: int) -> None:
    month = first.replace(day=1)
    while month <= last:
        x = x0 + max((month - first).days, 0) * px
        major = month.month == 1 or month == first.replace(day=1)
        pen.line([x, y0 - (10 if major else 5), x, y0 - 1], fill="black" if major else "grey")
        if major:
            pen.text((x + 2, y0 - 30), f"{month.year}", fill="black", font=font)
        elif px * 28 >= 26:
            pen.text((x + 2, y0 - 16), month.strftime("%b"), fill="grey", font=font)
        month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def _legend(pen, font, counts: Counter, x: int, y: int) -> None:
    for state, colour in COLOURS.items():
        pen.rectangle([x, y, x + 12, y + 12], fill=colour)
        text = f"{LEGEND[state]} ({counts.get(state, 0)})"
        pen.text((x + 16, y), text, fill="black", font=font)
        x += 16 + int(pen.textlength(text, font=font)) + 18
