"""The /_sim/... control routes: stats, reset, the request log, and faults at run time."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aiohttp import web

from simulator.faults import KINDS, FaultSettingError

if TYPE_CHECKING:
    from simulator.server import Simulation

STATS_PATH = "/_sim/stats"
RESET_PATH = "/_sim/reset"
LOG_PATH = "/_sim/log"
FAULTS_PATH = "/_sim/faults"
ARCHIVE_FAULTS_PATH = "/_sim/archive"
UNIVERSE_PATH = "/_sim/universe"


def _json(value: object, status: int = 200) -> web.Response:
    body = json.dumps(value, separators=(",", ":"))
    return web.Response(status=status, text=body, content_type="application/json")


def _refuse(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


def stats(sim: Simulation) -> dict[str, object]:
    traffic, config = sim.traffic, sim.config
    return {
        "requests": dict(traffic.requests),
        "requests_total": sum(traffic.requests.values()),
        "weight": sim.limits.spent(),
        "peak_window_weight": sim.limits.peaks(),
        "budgets": {name: [s.limit, s.seconds] for name, s in sim.budgets.items()},
        "rejected_429": sum(traffic.rejected.values()),  # every rate refusal, whatever its status
        "rejected": dict(traffic.rejected),
        "status_429": traffic.statuses[429],
        "status_418": traffic.statuses[418],
        "status_403": traffic.statuses[403],
        "statuses": {str(status): n for status, n in sorted(traffic.statuses.items())},
        "faults": {kind: sim.faults.counts[kind] for kind in KINDS},
        "bans": [{"venue": b.venue, "ip": b.ip, "seconds": b.seconds} for b in sim.bans.started],
        "archive_bytes": sim.archive_bytes,
        "archive_faults": {"omit": sim.archive.omit, "corrupt": sim.archive.corrupt},
        "config": {
            "seed": config.seed,
            "trades_per_day": config.trades_per_day,
            "latency_ms": config.latency_ms,
            "venue_latency_ms": dict(config.venue_latency_ms),
            "binance_ban_s": config.binance_ban_s,
            "binance_ban_after": config.binance_ban_after,
            "fault_seed": config.fault_seed,
        },
    }


async def _body(request: web.Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        raise _refuse("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise _refuse("the body must be a JSON object")
    return body


def routes(sim: Simulation) -> list[web.RouteDef]:
    """The control routes of one simulation."""

    async def get_stats(request: web.Request) -> web.Response:
        return _json(stats(sim))

    async def reset(request: web.Request) -> web.Response:
        sim.reset()
        return _json({})

    async def get_log(request: web.Request) -> web.Response:
        since = request.query.get("since_ms")
        try:
            since_ms = None if since is None else float(since)
        except ValueError:
            raise _refuse(f"since_ms must be a number of milliseconds, not {since!r}") from None
        return _json(sim.traffic.since(since_ms))

    async def get_universe(request: web.Request) -> web.Response:
        """The settings that rebuild the ground truth's universe (simulator.universe.Universe)."""
        return _json(sim.universe.describe())

    async def get_faults(request: web.Request) -> web.Response:
        return _json(sim.faults.state())

    async def set_faults(request: web.Request) -> web.Response:
        """Body: any of "5xx", "truncate", "reset", "poison", "latency_ms", "down", "force_429"."""
        try:
            sim.faults.update(await _body(request), venues=[v.name for v in sim.venues])
        except FaultSettingError as exc:
            raise _refuse(str(exc)) from None
        return _json(sim.faults.state())

    async def archive_faults(request: web.Request) -> web.Response:
        """Body `{"omit": [patterns], "corrupt": [patterns]}`; a key left out is left as it was."""
        store = sim.archive
        faults = await _body(request)
        store.omit = list(faults.get("omit", store.omit))
        store.corrupt = list(faults.get("corrupt", store.corrupt))
        return _json({"omit": store.omit, "corrupt": store.corrupt})

    return [
        web.get(STATS_PATH, get_stats),
        web.post(RESET_PATH, reset),
        web.get(LOG_PATH, get_log),
        web.get(UNIVERSE_PATH, get_universe),
        web.get(FAULTS_PATH, get_faults),
        web.post(FAULTS_PATH, set_faults),
        web.post(ARCHIVE_FAULTS_PATH, archive_faults),
    ]
