"""The simulator's aiohttp app: mounts each venue's routes, enforces budgets, counts requests."""

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from aiohttp import web
from multidict import MultiDict

from simulator import archive_host, binance, bybit, bybit_archive, gate_archive, gateio, mexc
from simulator.archive import PREFIX as ARCHIVE_PREFIX
from simulator.archive import ArchiveStore, NotFound
from simulator.limits import BudgetSpec, Limits, retry_after_header
from simulator.trades import DEFAULT_TRADES_PER_DAY
from simulator.venue import ApiError, Context, Endpoint, Venue

STATS_PATH = "/_sim/stats"
RESET_PATH = "/_sim/reset"
ARCHIVE_FAULTS_PATH = "/_sim/archive"
ARCHIVE_COUNTER = "/data (archive)"
_JSON = "application/json;charset=UTF-8"

Handler = Callable[[web.Request], Awaitable[web.Response]]


@dataclass(frozen=True)
class SimConfig:
    """Settings of one simulator. Budgets are (weight, seconds); funding counts requests."""

    seed: int = 0
    trades_per_day: int = DEFAULT_TRADES_PER_DAY
    spot_weight: tuple[int, int] = (6000, 60)
    usdm_weight: tuple[int, int] = (2400, 60)
    usdm_funding: tuple[int, int] = (500, 300)
    latency_ms: float = 0.0
    #: per venue name, replaces latency_ms (e.g. {"bybit": 200.0} for a slow exchange)
    venue_latency_ms: Mapping[str, float] = field(default_factory=dict)
    bybit_ban_s: float = bybit.BAN_S
    #: archive file names (glob patterns) to answer 404 for, or to serve corrupted
    archive_omit: tuple[str, ...] = ()
    archive_corrupt: tuple[str, ...] = ()


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class Simulation:
    """The mutable state behind one app: venues, per-IP budgets and request counters."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.venues: tuple[Venue, ...] = (
            binance.venue(
                BudgetSpec(*config.spot_weight),
                BudgetSpec(*config.usdm_weight),
                BudgetSpec(*config.usdm_funding),
            ),
            mexc.venue(),
            gateio.venue(),
            bybit.venue(ban_s=config.bybit_ban_s),
        )
        self.budgets: dict[str, BudgetSpec] = {}
        for venue in self.venues:
            self.budgets.update(venue.budgets)
        self.limits = Limits(self.budgets)
        self.requests: Counter[str] = Counter()
        self.rejected_429 = 0  # every refusal for being over budget, whatever its status
        self.rejected: Counter[str] = Counter()  # the same, per venue
        self._banned_until: dict[tuple[str, str], float] = {}
        self.archive = ArchiveStore(
            seed=config.seed,
            trades_per_day=config.trades_per_day,
            omit=list(config.archive_omit),
            corrupt=list(config.archive_corrupt),
        )
        # Gate's and Bybit's archive hosts, each under its prefix, with the same faults.
        self.archive_hosts: tuple[archive_host.Host, ...] = (
            gate_archive.GateArchive(config.seed, faults=self.archive),
            bybit_archive.BybitArchive(config.seed, config.trades_per_day, faults=self.archive),
        )
        self.archive_bytes = 0

    def reset(self) -> None:
        self.limits.reset()
        self.requests.clear()
        self.rejected_429 = 0
        self.rejected.clear()
        self._banned_until.clear()
        self.archive_bytes = 0

    def stats(self) -> dict[str, object]:
        return {
            "requests": dict(self.requests),
            "requests_total": sum(self.requests.values()),
            "weight": self.limits.spent(),
            "peak_window_weight": self.limits.peaks(),
            "budgets": {name: [s.limit, s.seconds] for name, s in self.budgets.items()},
            "rejected_429": self.rejected_429,
            "rejected": dict(self.rejected),
            "archive_bytes": self.archive_bytes,
            "archive_faults": {"omit": self.archive.omit, "corrupt": self.archive.corrupt},
            "config": {
                "seed": self.config.seed,
                "trades_per_day": self.config.trades_per_day,
                "latency_ms": self.config.latency_ms,
                "venue_latency_ms": dict(self.config.venue_latency_ms),
            },
        }

    def route(self, venue: Venue, endpoint: Endpoint) -> Handler:
        """The aiohttp handler: count, charge the budget (429 if over), run, add usage header."""
        latency_s = self.config.venue_latency_ms.get(venue.name, self.config.latency_ms) / 1000

        async def handle(request: web.Request) -> web.Response:
            self.requests[endpoint.path] += 1
            if latency_s > 0:
                await asyncio.sleep(latency_s)
            ip = request.remote or "unknown"
            query = request.query
            if request.match_info:
                query = MultiDict(query)
                query.extend(request.match_info)
            now_s = time.monotonic()
            budget = self.limits.budget(ip, endpoint.budget)
            usage = self.limits.budget(ip, endpoint.usage_budget)
            banned_s = self._banned_until.get((ip, venue.name), 0.0) - now_s
            wait_s = banned_s if banned_s > 0 else budget.spend(endpoint.weight(query), now_s)
            if wait_s > 0:
                self.rejected_429 += 1
                self.rejected[venue.name] += 1
                if venue.ban_s > 0 and banned_s <= 0:
                    self._banned_until[(ip, venue.name)] = now_s + venue.ban_s
                    wait_s = venue.ban_s
                headers = {
                    venue.usage_header: str(usage.used(now_s)),
                    "Retry-After": retry_after_header(wait_s),
                }
                body = _dumps(dict(venue.too_many_requests(ip, budget.spec)))
                return _response(venue.limit_status, body, headers)
            ctx = Context(
                seed=self.config.seed,
                trades_per_day=self.config.trades_per_day,
                now_ms=time.time_ns() // 1_000_000,
                budgets=venue.budgets,
            )
            try:
                status, body = 200, endpoint.handler(query, ctx)
            except ApiError as exc:
                status, body = exc.status, _dumps(dict(exc.body))
            return _response(status, body, {venue.usage_header: str(usage.used(now_s))})

        return handle

    async def archive_file(self, request: web.Request) -> web.Response:
        """A zip or its .CHECKSUM from the archive host's layout; 404 if it does not exist."""
        self.requests[ARCHIVE_COUNTER] += 1
        if self.config.latency_ms > 0:
            await asyncio.sleep(self.config.latency_ms / 1000)
        try:
            body = await self.archive.body(request.path, time.time_ns() // 1_000_000)
        except NotFound:
            return web.Response(status=404, text="Not Found")
        self.archive_bytes += len(body)
        kind = "text/plain" if request.path.endswith(".CHECKSUM") else "application/zip"
        return web.Response(body=body, content_type=kind)


def _response(status: int, body: bytes, headers: Mapping[str, str]) -> web.Response:
    return web.Response(status=status, body=body, headers={"Content-Type": _JSON, **headers})


SIMULATION = web.AppKey("simulation", Simulation)


async def _stats(request: web.Request) -> web.Response:
    return _response(200, _dumps(request.app[SIMULATION].stats()), {})


async def _reset(request: web.Request) -> web.Response:
    request.app[SIMULATION].reset()
    return _response(200, b"{}", {})


async def _archive_faults(request: web.Request) -> web.Response:
    """Body `{"omit": [patterns], "corrupt": [patterns]}`; a key left out is left as it was."""
    store = request.app[SIMULATION].archive
    faults = await request.json()
    store.omit = list(faults.get("omit", store.omit))
    store.corrupt = list(faults.get("corrupt", store.corrupt))
    return _response(200, _dumps({"omit": store.omit, "corrupt": store.corrupt}), {})


def make_app(config: SimConfig | None = None) -> web.Application:
    """A fresh simulator app; its Simulation is at app[SIMULATION]."""
    simulation = Simulation(config or SimConfig())
    app = web.Application()
    app[SIMULATION] = simulation
    for venue in simulation.venues:
        for endpoint in venue.endpoints:
            app.router.add_get(endpoint.path, simulation.route(venue, endpoint))
    app.router.add_get(STATS_PATH, _stats)
    app.router.add_post(RESET_PATH, _reset)
    app.router.add_get(ARCHIVE_PREFIX + "{path:.+}", simulation.archive_file)
    for host in simulation.archive_hosts:
        app.router.add_get(host.prefix + "/{path:.*}", archive_host.route(simulation, host))
    app.router.add_post(ARCHIVE_FAULTS_PATH, _archive_faults)
    return app
