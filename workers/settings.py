"""Settings from the environment: one frozen dataclass, read only by entry points."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from storage.errors import ConfigError
from storage.keys import check_namespace, namespace_of
from storage.stores import S3Options, check_location, open_store
from workers.exchanges.venues import BASE_URLS, RATE_LIMITS
from workers.ratelimit import Budget

if TYPE_CHECKING:
    from storage.store import Store
    from workers.exchanges.base import Adapter

#: The base-URL "market" of an exchange's public archive (`BINANCE_ARCHIVE_URL`). Unset, it
#: defaults to the real archive only while the exchange's REST URLs are the real hosts too.
ARCHIVE = "archive"


def url_var(exchange: str, market: str) -> str:
    return "_".join(p for p in (exchange, market, "URL") if p).upper()


def budget_var(exchange: str, group: str) -> str:
    return f"{exchange}_{group}_RATE_LIMIT".upper()


@dataclass(frozen=True)
class Settings:
    redis_url: str = "redis://localhost:6379/0"
    #: a local folder or s3://bucket/prefix (see storage.stores)
    data_dir: str = "./data"
    #: the dataset's key prefix in Redis (storage/keys.py); "" derives it from `data_dir`
    namespace: str = ""
    #: endpoint and credentials for an s3:// DATA_DIR (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID ...)
    s3: S3Options = field(default_factory=S3Options)
    #: base URL per (exchange, market), e.g. ("binance", "spot") -> "https://api.binance.com"
    urls: Mapping[tuple[str, str], str] = field(default_factory=dict)
    #: budget per (exchange, endpoint group)
    budgets: Mapping[tuple[str, str], Budget] = field(default_factory=dict)
    #: hosts that share an egress IP share a key; "" is one budget for the whole cluster
    limit_key: str = ""
    #: how much longer than its window the limiter holds each spend (send-to-arrival delay)
    limit_margin_ms: int = 500
    #: pages of one shard in flight per worker process; on 2 cores the two-year REST job took
    #: 3.0 s at 8, 2.5 s at 16 and 2.3-2.4 s at 32 (bench/shard_fetch.py)
    page_concurrency: int = 16
    page_attempts: int = 5
    archive_concurrency: int = 4
    archive_attempts: int = 3
    shard_attempts: int = 6
    http_timeout_s: float = 30.0
    lock_ttl_s: float = 60.0
    visibility_timeout_s: float = 6 * 3600.0
    #: how long a task waits for an unreachable Redis before it gives the shard up to healing
    redis_wait_s: float = 300.0

    def __post_init__(self) -> None:
        name = self.namespace or namespace_of(str(self.data_dir))
        object.__setattr__(self, "namespace", check_namespace(name))

    # Healing runs on the lock's clock: a dead worker's shards are re-sent within about two
    # lock TTLs, and every period below follows SHARDFETCH_LOCK_TTL_S.
    @property
    def heartbeat_s(self) -> float:
        """How often a worker says it is alive (it counts as gone `lock_ttl_s` after)."""
        return self.lock_ttl_s / 3

    @property
    def heal_period_s(self) -> float:
        """How often one heal pass runs, cluster-wide."""
        return self.lock_ttl_s / 3

    @property
    def lost_after_s(self) -> float:
        """A message nobody received for this long, while its queue is empty, was lost."""
        return 2 * self.lock_ttl_s

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        urls, budgets = {}, {}
        for name, base_urls in BASE_URLS.items():
            # Empty counts as unset, so compose files can pass a variable through as "".
            given = {m: (env.get(url_var(name, m)) or "").rstrip("/") for m in base_urls}
            rest_elsewhere = any(
                url and url != base_urls[m].rstrip("/") for m, url in given.items() if m != ARCHIVE
            )
            for market, default in base_urls.items():
                if market == ARCHIVE and not given[market] and rest_elsewhere:
                    # REST points at a simulator or a mirror and no archive was named: read
                    # REST only, rather than mix the real archive's rows with another host's.
                    continue
                urls[(name, market)] = given[market] or default.rstrip("/")
            for group, default in RATE_LIMITS[name].items():
                var = budget_var(name, group)
                budgets[(name, group)] = Budget.parse(env.get(var) or default, var)
        data_dir = env.get("DATA_DIR") or str(cls.data_dir)
        namespace = (env.get("SHARDFETCH_NAMESPACE") or "").strip()
        return cls(
            redis_url=env.get("REDIS_URL", cls.redis_url),
            data_dir=check_location(data_dir),
            namespace=check_namespace(namespace) if namespace else namespace_of(data_dir),
            s3=S3Options(
                endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
                access_key_id=env.get("AWS_ACCESS_KEY_ID") or None,
                secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
                region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            ),
            urls=urls,
            budgets=budgets,
            limit_key=env.get("SHARDFETCH_LIMIT_KEY", cls.limit_key).strip(),
            limit_margin_ms=_int(env, "SHARDFETCH_LIMIT_MARGIN_MS", cls.limit_margin_ms, zero=True),
            page_concurrency=_int(env, "SHARDFETCH_PAGE_CONCURRENCY", cls.page_concurrency),
            page_attempts=_int(env, "SHARDFETCH_PAGE_ATTEMPTS", cls.page_attempts),
            archive_concurrency=_int(
                env, "SHARDFETCH_ARCHIVE_CONCURRENCY", cls.archive_concurrency
            ),
            archive_attempts=_int(env, "SHARDFETCH_ARCHIVE_ATTEMPTS", cls.archive_attempts),
            shard_attempts=_int(env, "SHARDFETCH_SHARD_ATTEMPTS", cls.shard_attempts),
            http_timeout_s=_float(env, "SHARDFETCH_HTTP_TIMEOUT_S", cls.http_timeout_s),
            lock_ttl_s=_float(env, "SHARDFETCH_LOCK_TTL_S", cls.lock_ttl_s),
            visibility_timeout_s=_float(
                env, "SHARDFETCH_VISIBILITY_TIMEOUT_S", cls.visibility_timeout_s
            ),
            redis_wait_s=_float(env, "SHARDFETCH_REDIS_WAIT_S", cls.redis_wait_s),
        )

    def store(self) -> Store:
        """The dataset's store; S3 clients inside it connect on first use."""
        return open_store(self.data_dir, self.s3)

    def adapter(self, exchange: str) -> Adapter:
        from workers.exchanges import ADAPTERS

        cls = ADAPTERS[exchange]
        return cls({m: u for (x, m), u in self.urls.items() if x == exchange})


def _int(env: Mapping[str, str], name: str, default: int, *, zero: bool = False) -> int:
    return int(_float(env, name, default, zero=zero))


def _float(env: Mapping[str, str], name: str, default: float, *, zero: bool = False) -> float:
    try:
        value = float(env.get(name, default))
    except ValueError:
        raise ConfigError(f"{name}={env[name]!r} is not a number") from None
    if value < 0 or (value == 0 and not zero) or not math.isfinite(value):
        raise ConfigError(f"{name} must be {'zero or more' if zero else 'positive'}")
    return value
