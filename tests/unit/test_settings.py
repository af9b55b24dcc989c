"""Settings from the environment: budgets, the limiter's key and margin, and which hosts a run
reads from (REST pointed elsewhere never mixes in the real archive)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from producer.job import Job, run_enqueue
from storage.errors import ConfigError, InputError
from storage.shards import Shard, to_ms
from workers.exchanges.binance import Binance
from workers.settings import Budget, Settings
from workers.sourceplan import plan_sources

SPOT = ("binance", "spot")
USDM = ("binance", "usdm")
SIM = "http://127.0.0.1:9001"
NOW = datetime(2024, 6, 15, 12, tzinfo=UTC)
JANUARY = Shard("binance", "spot", "klines", "BTCUSDT", "2024-01", "1m")


def source_of(settings: Settings, shard: Shard = JANUARY) -> str:
    """What `--source auto` reads a closed shard from under these settings."""
    market = settings.adapter("binance").capabilities.market(shard.market)
    return plan_sources(shard, market, to_ms(NOW), "auto").origin


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
        mode="archive",
        start="2024-01-01",
        end="2024-03-01",
    )
    settings = Settings.from_env({"BINANCE_SPOT_URL": SIM, "BINANCE_USDM_URL": SIM})
    with pytest.raises(
        InputError, match=r"no archive is configured for binance .*BINANCE_ARCHIVE_URL"
    ):
        # No ledger and no Redis: the refusal comes before the exchange or Redis is used.
        run_enqueue(job, settings, None, dry_run=False, block=False, timeout_s=None)


@pytest.mark.parametrize(
    ("text", "weight", "seconds"),
    [("6000/60", 6000, 60.0), ("475/300", 475, 300.0), ("10/0.5", 10, 0.5), (" 5 / 1 ", 5, 1.0)],
)
def test_budget_parses_weight_per_seconds(text: str, weight: int, seconds: float) -> None:
    assert Budget.parse(text) == Budget(weight, seconds)


@pytest.mark.parametrize(
    "text",
    [
        "6000",
        "6000/60/1",
        "",
        "/60",
        "6000/",
        "abc/60",
        "6000/a minute",
        "60.5/60",
        "0/60",
        "-5/60",
        "6000/0",
        "6000/-60",
        "6000/inf",
        "6000/nan",
    ],
)
def test_budget_refuses_bad_text_and_shows_the_right_form(text: str) -> None:
    with pytest.raises(ConfigError, match="6000/60") as caught:
        Budget.parse(text, "BINANCE_SPOT_RATE_LIMIT")
    assert "BINANCE_SPOT_RATE_LIMIT" in str(caught.value)


def test_settings_default_to_the_real_exchange() -> None:
    settings = Settings.from_env({})
    assert settings.urls[SPOT] == "https://api.binance.com"
    assert settings.urls[USDM] == "https://fapi.binance.com"
    assert settings.budgets[SPOT] == Budget(5700, 60)
    assert settings.budgets[("binance", "usdm_funding")] == Budget(475, 300)
    assert settings.redis_url == "redis://localhost:6379/0"


def test_settings_read_url_and_rate_limit_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "BINANCE_SPOT_URL": "http://127.0.0.1:8900/",
            "BINANCE_SPOT_RATE_LIMIT": "600/10",
            "BINANCE_USDM_FUNDING_RATE_LIMIT": "50/30",
            "REDIS_URL": "redis://127.0.0.1:6390/2",
        }
    )
    assert settings.urls[SPOT] == "http://127.0.0.1:8900"  # trailing slash dropped
    assert settings.budgets[SPOT] == Budget(600, 10)
    assert settings.budgets[("binance", "usdm_funding")] == Budget(50, 30)
    assert settings.urls[USDM] == "https://fapi.binance.com"  # untouched
    assert settings.redis_url == "redis://127.0.0.1:6390/2"
    adapter = settings.adapter("binance")
    assert adapter.urls["spot"] == "http://127.0.0.1:8900"


def test_a_bad_rate_limit_in_the_environment_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="BINANCE_SPOT_RATE_LIMIT='6000 per minute'"):
        Settings.from_env({"BINANCE_SPOT_RATE_LIMIT": "6000 per minute"})


def test_settings_read_the_limit_key_and_margin() -> None:
    settings = Settings.from_env(
        {"SHARDFETCH_LIMIT_KEY": " eu-1 ", "SHARDFETCH_LIMIT_MARGIN_MS": "0"}
    )
    assert (settings.limit_key, settings.limit_margin_ms) == ("eu-1", 0)
    assert (Settings.from_env({}).limit_key, Settings.from_env({}).limit_margin_ms) == ("", 500)
    with pytest.raises(ConfigError, match="SHARDFETCH_LIMIT_MARGIN_MS must be zero or more"):
        Settings.from_env({"SHARDFETCH_LIMIT_MARGIN_MS": "-1"})


def test_the_namespace_derives_from_data_dir_unless_set() -> None:
    from storage.keys import namespace_of

    assert Settings.from_env({"DATA_DIR": "/srv/data"}).namespace == namespace_of("/srv/data")
    assert Settings.from_env({}).namespace == namespace_of("./data")
    given = {"DATA_DIR": "/mnt/a/data", "SHARDFETCH_NAMESPACE": "btc"}
    assert Settings.from_env(given).namespace == "btc"
    with pytest.raises(ConfigError, match="SHARDFETCH_NAMESPACE"):
        Settings.from_env({"SHARDFETCH_NAMESPACE": "a:b"})


def test_healing_periods_follow_the_lock_ttl() -> None:
    settings = Settings.from_env({"SHARDFETCH_LOCK_TTL_S": "3"})
    assert (settings.heartbeat_s, settings.heal_period_s, settings.lost_after_s) == (1, 1, 6)
