"""The exchange-sim command: flags, the one 'listening' line, and a clean stop on SIGTERM."""

import signal
import subprocess
import sys
import urllib.request

import pytest

from simulator.cli import parse_args, sim_config
from simulator.server import SimConfig


def test_flags_have_binance_defaults():
    args = parse_args(["--port", "0"])
    assert (args.host, args.seed, args.trades_per_day) == ("127.0.0.1", 0, 20_000)
    assert args.spot_weight == (6000, 60)
    assert args.usdm_weight == (2400, 60)
    assert args.usdm_funding == (500, 300)
    assert args.latency_ms == 0.0 and args.verbose is False


def test_budget_flags_take_weight_per_seconds():
    args = parse_args(["--port", "1", "--spot-weight", "10/60", "--usdm-funding", "3/5"])
    assert args.spot_weight == (10, 60)
    assert args.usdm_funding == (3, 5)
    with pytest.raises(SystemExit):
        parse_args(["--port", "1", "--spot-weight", "lots"])


def test_ban_and_fault_flags_default_to_no_faults_and_binance_bans():
    args = parse_args(["--port", "0"])
    assert (args.binance_ban_s, args.binance_ban_after) == (120.0, 10)
    assert (args.fault_seed, args.fault_5xx, args.fault_truncate, args.fault_reset) == (0, 0, 0, 0)
    ban = ["--binance-ban-s", "2", "--binance-ban-after", "0", "--fault-seed", "4"]
    rates = ["--fault-5xx", "0.1", "--fault-truncate", "0.2", "--fault-reset", "0.05"]
    args = parse_args(["--port", "0", *ban, *rates])
    assert (args.binance_ban_s, args.binance_ban_after, args.fault_seed) == (2.0, 0, 4)
    assert (args.fault_5xx, args.fault_truncate, args.fault_reset) == (0.1, 0.2, 0.05)
    config = sim_config(args)
    assert (config.binance_ban_s, config.binance_ban_after, config.fault_seed) == (2.0, 0, 4)
    assert (config.fault_5xx, config.fault_truncate, config.fault_reset) == (0.1, 0.2, 0.05)
    assert sim_config(parse_args(["--port", "0"])) == SimConfig()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--fault-5xx", "1.5"], "argument --fault-5xx: expected a rate from 0 to 1"),
        (["--fault-reset", "-0.1"], "argument --fault-reset: expected a rate from 0 to 1"),
        (["--fault-truncate", "lots"], "argument --fault-truncate: expected a rate"),
        (["--binance-ban-s", "-5"], "argument --binance-ban-s: expected seconds > 0"),
        (["--binance-ban-after", "-1"], "argument --binance-ban-after: expected a whole number"),
        (["--latency-ms", "-1"], "argument --latency-ms: expected a number >= 0"),
        (["--fault-5xx", "0.6", "--fault-reset", "0.5"], "add up to more than 1"),
    ],
)
def test_bad_ban_and_fault_values_are_refused_in_one_line(flags, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse_args(["--port", "0", *flags])
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("exchange-sim: error: ") and message in error


def test_prints_its_address_serves_and_exits_cleanly_on_sigterm():
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", "0", "--seed", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline().strip()  # blocks until the server is listening
        assert line.startswith("exchange-sim listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[1]
        with urllib.request.urlopen(f"{url}/api/v3/ping", timeout=5) as response:
            assert response.read() == b"{}"
            assert response.headers["X-MBX-USED-WEIGHT-1M"] == "1"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert process.stdout.read() == ""  # nothing logged per request without --verbose
        assert process.stderr.read() == ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
