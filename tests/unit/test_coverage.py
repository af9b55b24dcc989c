"""The coverage picture: cell states from files and ledger, and the colours drawn for them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from PIL import Image

from producer.coverage import AXIS_H, COLOURS, LABEL_W, PAD, ROW_H, draw, strips
from storage.ledger import Ledger
from storage.local import LocalStore
from storage.shards import Shard
from tests.unit.dataset_helpers import truth, write


def month(m: int) -> Shard:
    return Shard("binance", "spot", "klines", "BTCUSDT", f"2024-{m:02d}", "1h")


def day(d: int) -> Shard:
    return Shard("binance", "spot", "aggtrades", "BTCUSDT", f"2024-03-{d:02d}")


def test_states_come_from_the_files_first_then_the_ledger(tmp_path: Path, ledger: Ledger) -> None:
    ledger.claim([month(m) for m in range(1, 6)] + [day(1), day(2)], stale_ms=3_600_000)
    write(tmp_path, month(1))
    write(tmp_path, month(2), truth(month(2)).iloc[:5], complete=False)
    write(tmp_path, month(3), truth(month(3)).iloc[:0])
    ledger.mark_failed(month(4), "HTTP 400")
    write(tmp_path, day(1))
    rows = strips(ledger, LocalStore(tmp_path), lambda s: True)
    by_label = {r.label: [c.state for c in r.cells] for r in rows}
    assert by_label == {
        "binance spot BTCUSDT aggtrades": ["done", "missing"],
        "binance spot BTCUSDT klines 1h": ["done", "partial", "empty", "failed", "missing"],
    }


def test_the_png_shows_a_failed_day_in_red_where_it_belongs(tmp_path: Path, ledger: Ledger) -> None:
    days = [day(d) for d in range(1, 11)]
    ledger.claim(days, stale_ms=3_600_000)
    for shard in days:
        if shard != days[6]:
            write(tmp_path, shard)
    ledger.mark_failed(days[6], "gave up after 6 attempts")
    out = tmp_path / "coverage.png"
    counts = draw(strips(ledger, LocalStore(tmp_path), lambda s: True), out)
    assert counts == Counter(done=9, failed=1)
    image = Image.open(out).convert("RGB")
    px = max(1, min(12, 1400 // 10))
    y = PAD + AXIS_H + ROW_H // 2
    colour_at = [image.getpixel((LABEL_W + PAD + i * px + px // 2, y)) for i in range(10)]
    assert colour_at == [COLOURS["failed"] if i == 6 else COLOURS["done"] for i in range(10)]
