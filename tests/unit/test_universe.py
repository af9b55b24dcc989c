"""The universe options as the producer validates them, and the summaries that keep the
dry run readable at hundreds of symbols."""

from __future__ import annotations

import asyncio

import pytest

from producer.listing import bounded
from producer.sources import _what, names, nothing_note
from producer.universe import Choice, read_symbols_file
from storage.errors import InputError
from storage.shards import Shard


def test_all_top_and_a_file_combine_into_one_choice(tmp_path) -> None:
    listed = tmp_path / "s.txt"
    listed.write_text("# majors\nbtcusdt\n\n  ETHUSDT   # second\nBTCUSDT\n")
    assert read_symbols_file(str(listed)) == ["BTCUSDT", "ETHUSDT", "BTCUSDT"]
    choice = Choice.from_options(["SOLUSDT"], symbols_file=str(listed), quote=" usdc ")
    assert choice == Choice(("SOLUSDT", "BTCUSDT", "ETHUSDT"), False, "USDC")
    assert Choice.from_options(["all"]).every
    assert Choice.from_options([], top=10) == Choice((), True, "USDT", 10), "--top alone: of all"


@pytest.mark.parametrize(
    ("content", "says"),
    [("BTCUSDT\nBTC/USDT\n", "line 2"), ("# nothing\n\n", "names no symbol")],
)
def test_a_bad_symbols_file_is_refused_naming_the_line(tmp_path, content, says) -> None:
    listed = tmp_path / "s.txt"
    listed.write_text(content)
    with pytest.raises(InputError, match=says):
        Choice.from_options([], symbols_file=str(listed))


def test_an_unreadable_file_and_no_symbol_at_all_are_refused(tmp_path) -> None:
    with pytest.raises(InputError, match="cannot read it"):
        read_symbols_file(str(tmp_path / "missing.txt"))
    with pytest.raises(InputError, match="give at least one --symbol"):
        Choice.from_options([])
    with pytest.raises(InputError, match="--top 0"):
        Choice.from_options(["all"], top=0)


def test_notes_name_a_few_symbols_and_count_the_rest() -> None:
    symbols = [f"S{i}USDT" for i in range(12)]
    assert names(symbols) == "S0USDT, S1USDT, S2USDT, S3USDT, S4USDT and 7 more"
    note = nothing_note("binance", "funding", symbols)
    assert "no funding in this window for 12 symbols" in note and "and 7 more" in note
    one = nothing_note("binance", "funding", ["BTCUSDT"])
    assert "has no funding for BTCUSDT in this window" in one
    shards = [Shard("binance", "spot", "aggtrades", s, "2024-01-01") for s in symbols]
    assert _what(shards).startswith("12 binance spot aggtrades shard(s) of 12 symbols (S0USDT")


def test_probes_run_at_most_the_limit_at_once_and_answer_in_order() -> None:
    running, peak = 0, 0

    def job(i: int):
        async def one() -> int:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            for _ in range(3):  # let the others start if the gate allowed them
                await asyncio.sleep(0)
            running -= 1
            return i

        return one

    assert asyncio.run(bounded([job(i) for i in range(500)], limit=16)) == list(range(500))
    assert peak == 16
