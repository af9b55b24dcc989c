"""Rolling weight budgets: what is accepted, what is refused, and how long to wait."""

import pytest

from simulator.limits import BudgetSpec, Limits, RollingBudget, retry_after_header, window_label


def test_accepts_up_to_the_limit_and_a_refusal_spends_nothing():
    budget = RollingBudget(BudgetSpec(10, 60))
    assert budget.spend(6, now_s=0.0) == 0.0
    assert budget.spend(4, now_s=1.0) == 0.0
    assert budget.spend(1, now_s=2.0) > 0
    assert budget.used(2.0) == 10
    assert budget.spent == 10


def test_window_rolls_instead_of_resetting_on_the_minute():
    budget = RollingBudget(BudgetSpec(10, 60))
    budget.spend(6, now_s=0.0)
    budget.spend(4, now_s=30.0)
    assert budget.spend(1, now_s=59.0) == pytest.approx(1.0)
    assert budget.spend(6, now_s=60.0) == 0.0  # the weight from t=0 has left the window
    assert budget.spend(1, now_s=61.0) == pytest.approx(29.0)  # t=30's 4 must leave first
    assert budget.used(90.0) == 6


def test_retry_after_waits_until_enough_weight_has_left():
    budget = RollingBudget(BudgetSpec(10, 60))
    for t in (0.0, 10.0, 20.0, 30.0, 40.0):
        budget.spend(2, now_s=t)
    # 10 used + 5 asked - 10 allowed: 6 weight (t=0, 10 and 20) must leave; t=20 leaves at 80.
    assert budget.spend(5, now_s=45.0) == pytest.approx(35.0)


def test_a_request_heavier_than_the_whole_budget_waits_a_full_window():
    budget = RollingBudget(BudgetSpec(10, 60))
    assert budget.spend(11, now_s=0.0) == 60.0
    assert budget.used(0.0) == 0


def test_peak_is_the_largest_rolling_sum_ever_reached():
    budget = RollingBudget(BudgetSpec(100, 60))
    budget.spend(30, now_s=0.0)
    budget.spend(30, now_s=50.0)
    budget.spend(30, now_s=100.0)  # t=0 has left: the window holds 60
    budget.spend(5, now_s=200.0)
    assert budget.peak == 60
    assert budget.spent == 95


@pytest.mark.parametrize(("wait_s", "header"), [(0.01, "1"), (1.0, "1"), (1.2, "2"), (59.5, "60")])
def test_retry_after_header_is_whole_seconds_rounded_up(wait_s, header):
    assert retry_after_header(wait_s) == header


def test_each_ip_has_its_own_budgets():
    limits = Limits({"spot": BudgetSpec(10, 60), "usdm": BudgetSpec(5, 60)})
    assert limits.budget("10.0.0.1", "spot").spend(10, now_s=0.0) == 0.0
    assert limits.budget("10.0.0.2", "spot").spend(10, now_s=0.0) == 0.0
    assert limits.budget("10.0.0.1", "usdm").spend(5, now_s=0.0) == 0.0
    assert limits.spent() == {"spot": 20, "usdm": 5}
    assert limits.peaks() == {"spot": 10, "usdm": 5}
    limits.reset()
    assert limits.spent() == {"spot": 0, "usdm": 0}


@pytest.mark.parametrize("text", ["6000", "0/60", "10/0", "a/b"])
def test_budget_spec_rejects_malformed_text(text):
    with pytest.raises(ValueError):
        BudgetSpec.parse(text)


def test_budget_spec_parses_weight_per_seconds():
    assert BudgetSpec.parse("2400/60") == BudgetSpec(2400, 60)


@pytest.mark.parametrize(
    ("seconds", "label"),
    [
        (1, "1S"),
        (5, "5S"),
        (10, "10S"),
        (90, "90S"),
        (60, "1M"),
        (120, "2M"),
        (5400, "90M"),
        (3600, "1H"),
        (7200, "2H"),
        (86_400, "1D"),
        (259_200, "3D"),
    ],
)
def test_window_label_uses_the_largest_unit_that_divides_evenly(seconds, label):
    assert window_label(seconds) == label
