"""The README's data-type tables are the capability tables' own words: they cannot drift."""

from __future__ import annotations

from pathlib import Path

from workers.capability_table import BEGIN, END, generate, matrix

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_tables_are_written_from_the_capability_tables() -> None:
    text = README.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    assert text[start:end] == generate(), "run `python -m workers.capability_table` into it"


def test_every_market_and_data_type_has_a_row_and_every_exchange_a_column() -> None:
    rows = {
        tuple(cell.strip() for cell in line.split("|")[1:3]) for line in matrix().splitlines()[2:]
    }
    expected = {("spot", "klines"), ("spot", "aggtrades")}
    expected |= {("perp", d) for d in ("klines", "aggtrades", "funding", "markklines")}
    expected |= {("perp", d) for d in ("indexklines", "premiumklines", "openinterest")}
    assert rows == expected
    header = matrix().splitlines()[0]
    assert all(name in header for name in ("binance", "mexc", "gateio", "bybit"))
    assert "REST (last 30 days) + archive" in matrix(), "Binance open interest: both"
