"""The universe flags of exchange-sim: --symbols, --delisted, --anchor, and their refusals."""

from __future__ import annotations

import pytest

from simulator.catalog import utc_ms
from simulator.cli import parse_args, sim_config
from simulator.server import SimConfig


def test_the_universe_defaults_to_todays_four_symbols():
    args = parse_args(["--port", "0"])
    assert (args.symbols, args.delisted, args.anchor) == (None, 0, None)
    assert sim_config(args) == SimConfig()


def test_universe_flags_reach_the_config_and_rebuild_the_same_universe():
    args = parse_args(
        [
            "--port",
            "0",
            "--symbols",
            "500",
            "--delisted",
            "10",
            "--anchor",
            "2026-12-01",
            "--seed",
            "3",
        ]
    )
    config = sim_config(args)
    assert (config.symbols, config.delisted, config.anchor_ms) == (500, 10, utc_ms(2026, 12, 1))
    universe = config.universe()
    assert (universe.size, universe.delisted, universe.seed) == (500, 10, 3)
    assert len({x.symbol for x in universe.listings}) == 500


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--symbols", "0"], "argument --symbols: expected a number of symbols from 1 to 2000"),
        (["--symbols", "lots"], "argument --symbols: expected a number of symbols"),
        (["--symbols", "10", "--delisted", "5"], "--delisted 5 needs --symbols 11 or more"),
        (["--delisted", "1"], "--delisted 1 needs --symbols 7 or more"),
        (["--anchor", "2026-13-01"], "argument --anchor: expected a date YYYY-MM-DD"),
    ],
)
def test_bad_universe_flags_are_refused_in_one_line(flags, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse_args(["--port", "0", *flags])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_help_describes_the_universe_flags(capsys):
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    text = capsys.readouterr().out
    for flag in ("--symbols N", "--delisted K", "--anchor YYYY-MM-DD"):
        assert flag in text
