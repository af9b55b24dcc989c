"""Asking an in-process simulator app over HTTP: one app per call, answers in order."""

from __future__ import annotations

import asyncio
import json

from aiohttp.test_utils import TestClient, TestServer

from simulator.server import SimConfig, make_app

Request = tuple[str, dict[str, object]]


def fetch(config: SimConfig, *requests: Request, raw: bool = False) -> list[tuple[int, object]]:
    """(status, JSON body, or bytes with raw=True) of each GET, sent one after another."""

    async def main():
        answers = []
        async with TestClient(TestServer(make_app(config))) as client:
            for path, params in requests:
                response = await client.get(path, params={k: str(v) for k, v in params.items()})
                body = await response.read()
                answers.append((response.status, body if raw else json.loads(body)))
        return answers

    return asyncio.run(main())


def fetch_one(config: SimConfig, path: str, **params: object) -> object:
    """The JSON body of one GET that must succeed."""
    [(status, body)] = fetch(config, (path, params))
    assert status == 200, body
    return body
