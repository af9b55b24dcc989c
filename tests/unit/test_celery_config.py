"""The Celery settings that make delivery safe (DESIGN.md), read back from a configured app."""

from __future__ import annotations

from pathlib import Path

from celery import Celery

from storage.keys import Keys, namespace_of
from workers.celery import configure
from workers.exchanges import ADAPTERS
from workers.routing import FETCH_TASK, route_shard
from workers.settings import Settings


def configured(**settings) -> Celery:
    app = Celery("test")
    configure(app, Settings(**settings))
    return app


def test_delivery_survives_a_killed_worker_and_takes_one_message_at_a_time() -> None:
    conf = configured().conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1


def test_only_json_is_sent_or_accepted() -> None:
    conf = configured().conf
    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"
    assert list(conf.accept_content) == ["json"]


def test_visibility_timeout_comes_from_settings_and_outlasts_the_shard_lock() -> None:
    conf = configured(visibility_timeout_s=7200.0, lock_ttl_s=60.0).conf
    assert conf.broker_transport_options["visibility_timeout"] == 7200.0
    default = Settings()
    assert default.visibility_timeout_s >= 3600 > default.lock_ttl_s


def test_events_are_on_for_flower() -> None:
    conf = configured().conf
    assert conf.worker_send_task_events is True
    assert conf.task_send_sent_event is True


def test_each_exchange_has_a_queue_and_a_shard_goes_to_its_own() -> None:
    conf = configured().conf
    names = [q.name for q in conf.task_queues]
    assert sorted(names) == sorted(ADAPTERS)
    assert route_shard(FETCH_TASK, ("binance:spot:aggtrades:BTCUSDT:2024-01-15",), {}, {}) == {
        "queue": "binance"
    }
    assert route_shard(FETCH_TASK, ("bybit:spot:klines:1m:BTCUSDT:2024-01",), {}, {}) == {
        "queue": "bybit"
    }


def test_the_fetch_task_has_no_per_worker_rate_limit() -> None:
    from workers.tasks import fetch_shard

    assert fetch_shard.name == FETCH_TASK
    assert fetch_shard.rate_limit is None, "Celery's rate_limit is per worker; ours is shared"


def test_each_dataset_has_its_own_broker_keys_under_its_namespace() -> None:
    one = configured(data_dir=Path("/srv/one/data")).conf.broker_transport_options
    two = configured(data_dir=Path("/srv/two/data")).conf.broker_transport_options
    assert one["global_keyprefix"] == Keys(namespace_of("/srv/one/data")).broker
    assert one["global_keyprefix"] != two["global_keyprefix"]
    named = configured(namespace="prod").conf.broker_transport_options
    assert named["global_keyprefix"] == "shardfetch:prod:broker:"


def test_workers_reconnect_to_the_broker_however_long_it_is_gone() -> None:
    conf = configured().conf
    assert conf.broker_connection_max_retries is None
    assert conf.worker_cancel_long_running_tasks_on_connection_loss is False


def test_every_worker_runs_the_presence_step_that_heartbeats_and_heals() -> None:
    from workers.celery import app
    from workers.presence import Presence

    assert Presence in app.steps["consumer"]


def test_kombu_leaves_unacknowledged_messages_to_the_ledger() -> None:
    from kombu.transport import redis as kombu_redis

    import workers.celery  # noqa: F401 - configures the transport

    assert kombu_redis.Channel.do_restore is False
