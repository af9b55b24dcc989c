"""The universe flags of exchange-sim: --symbols, --delisted, --anchor, and their refusals."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request

import pytest

from simulator.catalog import utc_ms
from simulator.cli import parse_args, sim_config
from simulator.server import SimConfig
from simulator.universe import Universe


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


def test_a_started_simulator_serves_the_universe_its_flags_describe():
    flags = ["--symbols", "300", "--delisted", "5", "--anchor", "2026-12-01", "--seed", "2"]
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", "0", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().strip().rsplit(" ", 1)[1]  # once it is listening
        with urllib.request.urlopen(f"{url}/_sim/universe", timeout=10) as response:
            settings = json.loads(response.read())
        with urllib.request.urlopen(f"{url}/fapi/v1/exchangeInfo", timeout=10) as response:
            contracts = json.loads(response.read())["symbols"]
        assert settings == {
            "symbols": 300,
            "delisted": 5,
            "seed": 2,
            "anchor": "2026-12-01",
            "anchor_ms": utc_ms(2026, 12, 1),
        }
        universe = Universe(300, 5, 2, utc_ms(2026, 12, 1))
        expected = {x.symbol: x.listed_ms for x in universe.listings if x.market == "usdm"}
        assert {c["symbol"]: c["onboardDate"] for c in contracts} == expected
        assert sum(c["status"] == "SETTLING" for c in contracts) == 5
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
