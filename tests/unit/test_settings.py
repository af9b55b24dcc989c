"""Settings from the environment: budgets, URLs, the limiter's key and margin."""

from __future__ import annotations

import pytest

from storage.errors import ConfigError
from workers.settings import Budget, Settings

SPOT = ("binance", "spot")
USDM = ("binance", "usdm")


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
