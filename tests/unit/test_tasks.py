"""The fetch_shard task called as a plain function: every way out leaves the ledger right."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.custody import Custody
from storage.errors import ExchangeUnavailable, PermanentError
from storage.ledger import Ledger
from storage.shards import Shard
from tests.unit.conftest import NAMESPACE
from workers import runtime, tasks
from workers.settings import Settings

JAN = Shard.parse("binance:spot:klines:1m:BTCUSDT:2024-01")


class Runtime:
    def __init__(self, ledger: Ledger, data_dir: Path) -> None:
        self.ledger = ledger
        self.custody = Custody(ledger.client, NAMESPACE)
        self.settings = Settings(data_dir=data_dir, namespace=NAMESPACE, redis_wait_s=1)

    def interrupt(self, exc: BaseException) -> None:
        pass

    def clear_interrupt(self) -> None:
        pass


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


@pytest.fixture
def real_rt(tmp_path: Path) -> Iterator[runtime.Runtime]:
    """A worker process's runtime (its loop); nothing in these tests reaches Redis."""
    rt = runtime.Runtime(Settings(data_dir=tmp_path, namespace=NAMESPACE))
    yield rt
    rt.close()


def test_sigterm_between_steps_of_a_fetch_raises_handback_at_the_next(real_rt) -> None:
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(tasks.Handback), tasks._sigterm_hands_back(real_rt):
        os.kill(os.getpid(), signal.SIGTERM)  # in synchronous code: a lock taken, say
        real_rt.run(asyncio.sleep(0))
    assert signal.getsignal(signal.SIGTERM) == previous, "the pool's own handler is back"


def test_sigterm_landing_in_a_callback_of_the_loop_still_hands_back(real_rt) -> None:
    """asyncio logs and swallows what a plain callback raises (a protocol's data_received,
    a timer): the signal must stop the fetch all the same, not be lost there."""

    async def fetching() -> None:
        asyncio.get_running_loop().call_soon(os.kill, os.getpid(), signal.SIGTERM)
        await asyncio.sleep(30)

    started = time.monotonic()
    with pytest.raises(tasks.Handback), tasks._sigterm_hands_back(real_rt):
        real_rt.run(fetching())
    assert time.monotonic() - started < 10, "the fetch ran on after the signal"
    assert real_rt.run(asyncio.sleep(0, "usable")) == "usable", "the next shard's loop works"


def test_another_datasets_shard_is_passed_on_not_written(rt, monkeypatch) -> None:
    passed = []
    monkeypatch.setattr(tasks, "pass_on", lambda app, shard, source, ns: passed.append(ns))
    raising(monkeypatch, AssertionError("must not be fetched here"))
    result = tasks.fetch_shard.run(JAN.key, "rest", "other-dataset")
    assert result["state"] == "passed on" and passed == ["other-dataset"]
    assert rt.ledger.states([JAN])[0].state == "queued", "this dataset's ledger is untouched"
