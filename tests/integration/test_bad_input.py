"""Bad input is refused before anything is queued, with one line that says what to do."""

from __future__ import annotations

import pytest

from bench.cluster import free_port, run_producer

CASES = {
    "unknown symbol": (
        ["--symbol", "NOPEUSDT", "--data", "klines", "--days", "2"],
        "Invalid symbol",
    ),
    "bad interval": (
        ["--symbol", "BTCUSDT", "--data", "klines", "--interval", "7m", "--days", "2"],
        "interval '7m'",
    ),
    "zero years": (["--symbol", "BTCUSDT", "--years", "0"], "--years 0"),
    "start after end": (
        ["--symbol", "BTCUSDT", "--start", "2024-03-01", "--end", "2024-02-01"],
        "must be before --end",
    ),
    "start equals end": (
        ["--symbol", "BTCUSDT", "--start", "2024-03-01", "--end", "2024-03-01"],
        "must be before --end",
    ),
    "path in symbol": (["--symbol", "../x", "--days", "2"], "'../x' is not a symbol"),
    "unknown data type": (
        ["--symbol", "BTCUSDT", "--data", "candles", "--days", "2"],
        "choose from klines, aggtrades, funding",
    ),
    "bad date": (["--symbol", "BTCUSDT", "--start", "2024-13-01"], "YYYY-MM-DD"),
    "unknown exchange": (
        ["--exchange", "nasdaq", "--symbol", "BTCUSDT", "--days", "2"],
        "unknown exchange",
    ),
}


def assert_nothing_queued(cluster) -> None:
    assert cluster.redis.scard(cluster.keys.planned) == 0, "nothing planned"
    assert cluster.redis.hlen(cluster.keys.queued) == 0, "nothing claimed"
    assert cluster.redis.llen(cluster.keys.queue("binance")) == 0, "no message on the queue"


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_with_one_line_and_nothing_queued(make_cluster, case):
    cluster = make_cluster()
    args, expected = CASES[case]
    result = run_producer(cluster.env, "enqueue", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert_nothing_queued(cluster)


def test_unreachable_redis_is_refused_with_how_to_fix_and_no_password(make_cluster):
    cluster = make_cluster()
    url = f"redis://:pa55-w0rd@127.0.0.1:{free_port()}/0"
    env = {**cluster.env, "REDIS_URL": url}
    result = run_producer(env, "enqueue", "--symbol", "BTCUSDT", "--days", "2")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "cannot reach Redis" in line and "REDIS_URL" in line
    assert "pa55-w0rd" not in result.stdout + result.stderr, "the password stays secret"
    assert "redis://:***@127.0.0.1" in line
    assert cluster.sim.stats()["requests_total"] == 0, "the exchange is not asked either"


@pytest.mark.parametrize(
    "command", [["status"], ["reconcile"], ["enqueue", "--symbol", "BTCUSDT", "--days", "2"]]
)
def test_a_data_dir_of_an_unsupported_scheme_is_refused_never_made_a_folder(
    make_cluster, tmp_path, command
):
    cluster = make_cluster(DATA_DIR="gs://bucket/data")
    here = tmp_path / "cwd"
    here.mkdir()
    result = run_producer(cluster.env, *command, cwd=here)
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "gs:// is not supported" in line and "s3://" in line
    assert list(here.iterdir()) == [], "no folder named gs:"
    assert_nothing_queued(cluster)


def test_an_s3_data_dir_without_its_bucket_is_refused_before_anything_is_queued(
    make_cluster, s3_env
):
    cluster = make_cluster(**{**s3_env, "DATA_DIR": "s3://no-such-bucket/data"})
    result = run_producer(cluster.env, "enqueue", "--symbol", "BTCUSDT", "--days", "2")
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "s3://no-such-bucket/data: no such bucket" in line and "AWS_ENDPOINT_URL" in line
    assert_nothing_queued(cluster)
    assert cluster.sim.stats()["requests_total"] == 0, "the exchange is not asked either"
