"""A heal pass (workers/healer.py) over fakeredis, with the clock and the sending faked."""

from __future__ import annotations

import pytest
import redis

from storage.custody import Custody
from storage.ledger import Ledger
from storage.shards import Shard
from tests.unit.conftest import NAMESPACE
from workers import healer as module
from workers.healer import Healer
from workers.settings import Settings

JAN = Shard.parse("binance:spot:klines:1m:BTCUSDT:2024-01")
SETTINGS = Settings(namespace=NAMESPACE, lock_ttl_s=3.0)  # heartbeats and passes every 1 s


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world(ledger: Ledger, custody: Custody, monkeypatch: pytest.MonkeyPatch):
    clock, sent = Clock(), []
    monkeypatch.setattr(module.time, "monotonic", clock)
    monkeypatch.setattr(
        module, "send", lambda app, shards, sources, ns, out: sent.append((shards, sources))
    )
    ledger.claim([JAN], stale_ms=3_600_000, source="archive")
    custody.hold(JAN, "gone")  # a worker that never beat: gone
    return Healer(object(), custody, SETTINGS), clock, sent


def test_an_orphan_is_re_sent_with_its_source_once_the_healer_has_settled(world) -> None:
    healer, clock, sent = world
    assert healer.heal() == [], "just started: live workers get two heartbeats to show up"
    clock.now += 2.0
    assert healer.heal() == [JAN]
    assert sent == [([JAN], {JAN: "archive"})]


def test_one_pass_per_period_however_often_it_is_asked(world, custody) -> None:
    healer, clock, _ = world
    healer.heal()
    clock.now += 2.0
    assert healer.heal() == [JAN]
    custody.hold(JAN, "gone")  # orphaned again at once
    assert healer.heal() == [], "the cluster-wide turn of this period is taken"


def test_after_redis_was_out_of_reach_the_healer_settles_again(world, monkeypatch) -> None:
    healer, clock, _ = world
    healer.heal()
    clock.now += 2.0
    real = healer.custody.heal_turn

    def unreachable(period_ms: int) -> bool:
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(healer.custody, "heal_turn", unreachable)
    assert healer.heal() == []
    monkeypatch.setattr(healer.custody, "heal_turn", real)
    assert healer.heal() == [], "first answer after the outage: wait for heartbeats"
    clock.now += 2.0
    assert healer.heal() == [JAN]


def test_a_healer_that_did_not_see_redis_for_a_while_settles_again(world) -> None:
    healer, clock, _ = world
    healer.heal()
    clock.now += 30.0  # nobody asked it to heal meanwhile (a producer waiting out an outage)
    assert healer.heal() == []
    clock.now += 2.0
    assert healer.heal() == [JAN]
