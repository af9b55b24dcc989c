"""The exchange-sim command: flags, the one 'listening' line, and a clean stop on SIGTERM."""

import signal
import subprocess
import sys
import urllib.request

import pytest

from simulator.cli import parse_args


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
