"""Which hosts a run reads from: REST pointed elsewhere never mixes in the real archive."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from producer.job import Job, run_enqueue
from storage.errors import InputError
from storage.shards import Shard, to_ms
from workers.archive import planned_files, source_label
from workers.exchanges.binance import Binance
from workers.settings import Settings

SIM = "http://127.0.0.1:9001"
NOW = datetime(2024, 6, 15, 12, tzinfo=UTC)
JANUARY = Shard("binance", "spot", "klines", "BTCUSDT", "2024-01", "1m")


def source_of(settings: Settings, shard: Shard = JANUARY) -> str:
    """What `--source auto` reads a closed shard from under these settings."""
    files = planned_files(settings.adapter("binance"), shard, to_ms(NOW), "auto")
    return source_label(files, shard.end_ms)


def test_rest_urls_of_a_simulator_without_an_archive_url_read_rest_only() -> None:
    # The walking skeleton's interface: only these variables; the rows must be the simulator's.
    settings = Settings.from_env(
        {
            "BINANCE_SPOT_URL": SIM,
            "BINANCE_USDM_URL": SIM,
            "BINANCE_SPOT_RATE_LIMIT": "6000/60",
            "BINANCE_USDM_RATE_LIMIT": "2400/60",
        }
    )
    assert settings.adapter("binance").archive is None
    assert ("binance", "archive") not in settings.urls
    assert source_of(settings) == "rest"


def test_one_rest_url_pointed_elsewhere_is_enough_to_leave_the_real_archive_alone() -> None:
    assert source_of(Settings.from_env({"BINANCE_USDM_URL": SIM})) == "rest"


def test_an_archive_url_named_beside_the_simulator_is_used() -> None:
    settings = Settings.from_env(
        {"BINANCE_SPOT_URL": SIM, "BINANCE_USDM_URL": SIM, "BINANCE_ARCHIVE_URL": SIM + "/"}
    )
    assert settings.urls[("binance", "archive")] == SIM
    assert source_of(settings) == "archive"


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"BINANCE_SPOT_URL": "", "BINANCE_USDM_URL": "", "BINANCE_ARCHIVE_URL": ""},
        {"BINANCE_SPOT_URL": Binance.base_urls["spot"] + "/"},
    ],
    ids=["unset", "empty-from-compose", "real-host-spelled-out"],
)
def test_the_real_hosts_use_the_real_archive(env: dict[str, str]) -> None:
    settings = Settings.from_env(env)
    assert settings.urls[("binance", "archive")] == Binance.base_urls["archive"]
    assert source_of(settings) == "archive"


def test_source_archive_without_an_archive_is_refused_before_anything_is_asked() -> None:
    job = Job.from_options(
        symbols=["BTCUSDT"],
        exchange="binance",
        dtypes=["klines"],
        interval="1m",
        now=NOW,
        source="archive",
        start="2024-01-01",
        end="2024-03-01",
    )
    settings = Settings.from_env({"BINANCE_SPOT_URL": SIM, "BINANCE_USDM_URL": SIM})
    with pytest.raises(
        InputError, match=r"no archive is configured for binance .*BINANCE_ARCHIVE_URL"
    ):
        # No ledger and no Redis: the refusal comes before the exchange or Redis is used.
        run_enqueue(job, settings, None, dry_run=False, block=False, timeout_s=None)
