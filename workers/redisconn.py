"""Our synchronous Redis clients: every call fails within seconds when Redis is gone.

A module of its own so that a command that only reads the ledger (`producer status`,
`producer --help`) does not import the fetching stack (aiohttp, pyarrow's compute) that
workers/runtime.py brings.
"""

from __future__ import annotations

import redis

# Every Redis call of ours fails within seconds when Redis is gone (never hangs), and is
# retried by workers/edge.py's policy: a Redis error is a transient fault like any other.
REDIS_TIMEOUTS = {
    "socket_timeout": 10.0,
    "socket_connect_timeout": 5.0,
    "health_check_interval": 15,
}


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, **REDIS_TIMEOUTS)
