"""The fetch_shard task called as a plain function: every way out leaves the ledger right."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from storage.custody import Custody
from storage.errors import ExchangeUnavailable, PermanentError
from storage.ledger import Ledger
from storage.shards import Shard
from tests.unit.conftest import NAMESPACE
from workers import tasks
from workers.settings import Settings

JAN = Shard.parse("binance:spot:klines:1m:BTCUSDT:2024-01")


class Runtime:
    def __init__(self, ledger: Ledger, data_dir: Path) -> None:
        self.ledger = ledger
        self.custody = Custody(ledger.client, NAMESPACE)
        self.settings = Settings(data_dir=data_dir, namespace=NAMESPACE, redis_wait_s=1)


@pytest.fixture
def rt(ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    runtime = Runtime(ledger, tmp_path)
    monkeypatch.setattr(tasks, "runtime", lambda: runtime)
    ledger.claim([JAN], stale_ms=3_600_000)
    return runtime


def raising(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    def backfill(shard, rt, source):
        raise error

    monkeypatch.setattr(tasks, "backfill", backfill)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (KeyError("open"), "KeyError: 'open'"),
        (TypeError("float() argument must be a string"), "TypeError: float() argument must"),
        (MemoryError(), "MemoryError: "),
        (PermanentError("binance: Invalid symbol."), "binance: Invalid symbol."),
    ],
)
def test_any_exception_fails_the_shard_with_its_reason(rt, monkeypatch, error, reason) -> None:
    raising(monkeypatch, error)
    result = tasks.fetch_shard.run(JAN.key, "rest", NAMESPACE)
    assert result["state"] == "failed"
    (state,) = rt.ledger.states([JAN])
    assert state.state == "failed" and state.reason.startswith(reason), state.reason


def test_a_transient_fault_past_its_attempts_fails_with_how_many(rt, monkeypatch) -> None:
    raising(monkeypatch, ExchangeUnavailable("HTTP 503"))
    monkeypatch.setattr(tasks.fetch_shard.request, "retries", 5, raising=False)
    tasks.fetch_shard.run(JAN.key, "rest", NAMESPACE)
    assert rt.ledger.states([JAN])[0].reason == "gave up after 6 attempts: HTTP 503"


def test_a_stopping_worker_hands_the_shard_back_to_the_queue(rt, monkeypatch) -> None:
    sent = []
    monkeypatch.setattr(tasks, "send", lambda app, shards, source, ns: sent.append((shards, ns)))
    custody = Custody(rt.ledger.client, NAMESPACE)
    custody.hold(JAN, "me")
    raising(monkeypatch, tasks.Handback("the worker is stopping"))
    assert tasks.fetch_shard.run(JAN.key, "rest", NAMESPACE)["state"] == "handed back"
    assert sent == [([JAN], NAMESPACE)]
    assert rt.ledger.states([JAN])[0].state == "queued" and custody.held_by("me") == []
    assert custody.healed() == 1, "counted as re-sent without a person"


def test_sigterm_while_a_shard_is_fetched_raises_handback() -> None:
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(tasks.Handback), tasks._sigterm_hands_back():
        os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) == previous, "the pool's own handler is back"


def test_another_datasets_shard_is_passed_on_not_written(rt, monkeypatch) -> None:
    passed = []
    monkeypatch.setattr(tasks, "pass_on", lambda app, shard, source, ns: passed.append(ns))
    raising(monkeypatch, AssertionError("must not be fetched here"))
    result = tasks.fetch_shard.run(JAN.key, "rest", "other-dataset")
    assert result["state"] == "passed on" and passed == ["other-dataset"]
    assert rt.ledger.states([JAN])[0].state == "queued", "this dataset's ledger is untouched"
