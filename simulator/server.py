"""The simulator's aiohttp app: mounts each venue's routes, applies faults and limits, counts."""

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from aiohttp import web
from multidict import MultiDict

from simulator import (
    archive_host,
    binance,
    bybit,
    bybit_archive,
    control,
    gate_archive,
    gateio,
    mexc,
)
from simulator.archive import PREFIX as ARCHIVE_PREFIX
from simulator.archive import ArchiveStore, NotFound
from simulator.bans import BanPolicy, Bans
from simulator.faults import ERROR_BODY, Fault, Faults
from simulator.limits import BudgetSpec, Limits, retry_after_header
from simulator.throttle import Throttle
from simulator.trades import DEFAULT_TRADES_PER_DAY
from simulator.traffic import Entry, Traffic
from simulator.universe import Universe, today_ms
from simulator.venue import ApiError, Context, Endpoint, Venue

ARCHIVE_COUNTER = "/data (archive)"
ARCHIVE_VENUE = "binance_archive"
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
    #: Binance's first 418 ban, and how many requests during a Retry-After it tolerates
    binance_ban_s: float = 120.0
    binance_ban_after: int = 10
    #: requests arriving this soon after a Retry-After was given were already on their way
    binance_ban_grace_s: float = 1.0
    #: archive file names (glob patterns) to answer 404 for, or to serve corrupted
    archive_omit: tuple[str, ...] = ()
    archive_corrupt: tuple[str, ...] = ()
    #: share of data requests answered 503, cut short, or dropped without an answer
    fault_seed: int = 0
    fault_5xx: float = 0.0
    fault_truncate: float = 0.0
    fault_reset: float = 0.0
    #: the universe: None lists today's four symbols; N lists N, `delisted` of them delisted,
    #: with listing dates relative to `anchor_ms` (a UTC midnight; None: today's)
    symbols: int | None = None
    delisted: int = 0
    anchor_ms: int | None = None

    def universe(self) -> Universe:
        anchor_ms = today_ms() if self.anchor_ms is None else self.anchor_ms
        return Universe(self.symbols, self.delisted, self.seed, anchor_ms)


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class Simulation:
    """The mutable state behind one app: venues, budgets, bans, faults and traffic.

    `clock` gives the seconds that budgets, Retry-Afters and bans run on; tests replace it.
    """

    def __init__(self, config: SimConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        # The universe is process-wide: every venue and ground-truth function reads it.
        self.universe = config.universe().activate()
        ban = BanPolicy(
            first_s=config.binance_ban_s,
            after=config.binance_ban_after,
            grace_s=config.binance_ban_grace_s,
        )
        self.venues: tuple[Venue, ...] = (
            binance.venue(
                BudgetSpec(*config.spot_weight),
                BudgetSpec(*config.usdm_weight),
                BudgetSpec(*config.usdm_funding),
                ban,
            ),
            mexc.venue(),
            gateio.venue(),
            bybit.venue(ban_s=config.bybit_ban_s),
        )
        self.budgets: dict[str, BudgetSpec] = {}
        for venue in self.venues:
            self.budgets.update(venue.budgets)
        self.limits = Limits(self.budgets)
        self.bans = Bans()
        self.throttle = Throttle(self.limits, self.bans)
        rates = {"5xx": config.fault_5xx, "truncate": config.fault_truncate}
        rates["reset"] = config.fault_reset
        self.faults = Faults(config.fault_seed, rates, config.latency_ms)
        self.traffic = Traffic()
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
        """Forget all traffic, spent budgets, bans and fault counts; keep every setting."""
        self.limits.reset()
        self.bans.reset()
        self.faults.reset()
        self.traffic.reset()
        self.archive_bytes = 0

    async def _arrive(
        self, request: web.Request, venue: str, route: str
    ) -> tuple[Entry, Fault | None]:
        """Log the request, decide its fault, then wait out the latency."""
        entry = self.traffic.arrive(venue, route, request.path, _wall_ms())
        fault = self.faults.decide(route, request.path)
        latency_ms = self.config.venue_latency_ms.get(venue, self.faults.latency_ms)
        if latency_ms > 0:
            await asyncio.sleep(latency_ms / 1000)
        return entry, fault

    def _fail(self, request: web.Request, entry: Entry, fault: Fault) -> web.Response:
        """The answer to a request struck by a 5xx, a down route or a reset."""
        self.traffic.answer(entry, fault.status, fault=fault.kind)
        if fault.kind == "reset":
            if request.transport is not None:
                request.transport.abort()  # closed at once: not a byte of a response is sent
            # Ends the handler; with the transport gone aiohttp has nowhere to send it.
            raise web.HTTPServiceUnavailable()
        return _response(fault.status, ERROR_BODY, {})

    def route(self, venue: Venue, endpoint: Endpoint) -> Handler:
        """The aiohttp handler: faults, then bans and Retry-Afters, then the budget, then data."""
        usage_header = venue.usage_header_name(self.budgets[endpoint.usage_budget])

        async def handle(request: web.Request) -> web.Response:
            entry, fault = await self._arrive(request, venue.name, endpoint.path)
            if fault is not None and fault.kind not in ("truncate", "poison"):
                return self._fail(request, entry, fault)
            ip = request.remote or "unknown"
            query = request.query
            if request.match_info:
                query = MultiDict(query)
                query.extend(request.match_info)
            now_s, now_ms = self.clock(), _wall_ms()
            usage = self.limits.budget(ip, endpoint.usage_budget)
            weight = 0
            if fault is None:  # a faulted request spends nothing and is never refused
                weight = endpoint.weight(query)
                refusal = self.throttle.in_force(venue, endpoint.budget, ip, now_s, now_ms)
                forced_s = None
                if refusal is None:
                    forced_s = self.faults.take_forced(venue.name)
                    refusal = self.throttle.charge(
                        venue, endpoint.budget, ip, weight, now_s, now_ms, forced_s
                    )
                if refusal is not None:
                    kind = None if forced_s is None else "forced_429"
                    self.traffic.answer(entry, refusal.status, fault=kind, refused=True)
                    headers = {
                        usage_header: str(usage.used(now_s)),
                        "Retry-After": retry_after_header(refusal.wait_s),
                    }
                    return _response(refusal.status, _dumps(dict(refusal.body)), headers)
            ctx = Context(
                seed=self.config.seed,
                trades_per_day=self.config.trades_per_day,
                now_ms=now_ms,
                budgets=venue.budgets,
            )
            try:
                status, body = 200, endpoint.handler(query, ctx)
            except ApiError as exc:
                status, body = exc.status, _dumps(dict(exc.body))
            if fault is not None:
                status, body = fault.status, fault.alter(body)
            self.traffic.answer(entry, status, weight, None if fault is None else fault.kind)
            return _response(status, body, {usage_header: str(usage.used(now_s))})

        return handle

    async def archive_file(self, request: web.Request) -> web.Response:
        """A zip or its .CHECKSUM from Binance's archive layout; 404 if it does not exist."""

        async def body() -> tuple[bytes, str]:
            kind = "text/plain" if request.path.endswith(".CHECKSUM") else "application/zip"
            return await self.archive.body(request.path, _wall_ms()), kind

        return await self._serve_file(request, ARCHIVE_VENUE, ARCHIVE_COUNTER, body)

    def hosted_file(self, host: archive_host.Host) -> Handler:
        """The handler of a gzip-CSV archive host (Gate's, Bybit's) under its prefix: files
        and directory pages, counted apart in the stats."""

        async def handle(request: web.Request) -> web.Response:
            path = "/" + request.match_info["path"]
            counter = f"{host.prefix} ({'listing' if path.endswith('/') else 'archive'})"

            async def body() -> tuple[bytes, str]:
                return await host.body(path, _wall_ms())

            return await self._serve_file(request, f"{host.venue}_archive", counter, body)

        return handle

    async def _serve_file(
        self,
        request: web.Request,
        venue: str,
        counter: str,
        body: Callable[[], Awaitable[tuple[bytes, str]]],
    ) -> web.Response:
        """An archive host's answer: faults first, then the file (or 404), logged."""
        entry, fault = await self._arrive(request, venue, counter)
        if fault is not None and fault.kind not in ("truncate", "poison"):
            return self._fail(request, entry, fault)
        try:
            status, (data, kind) = 200, await body()
        except (NotFound, archive_host.NotFound):
            status, data, kind = 404, b"Not Found", "text/plain"
        if fault is not None:
            status, data = fault.status, fault.alter(data)
        if status == 200:
            self.archive_bytes += len(data)
        self.traffic.answer(entry, status, fault=None if fault is None else fault.kind)
        return web.Response(status=status, body=data, content_type=kind)


def _response(status: int, body: bytes, headers: Mapping[str, str]) -> web.Response:
    return web.Response(status=status, body=body, headers={"Content-Type": _JSON, **headers})


SIMULATION = web.AppKey("simulation", Simulation)


def make_app(
    config: SimConfig | None = None, clock: Callable[[], float] = time.monotonic
) -> web.Application:
    """A fresh simulator app; its Simulation is at app[SIMULATION]."""
    simulation = Simulation(config or SimConfig(), clock)
    app = web.Application()
    app[SIMULATION] = simulation
    for venue in simulation.venues:
        for endpoint in venue.endpoints:
            app.router.add_get(endpoint.path, simulation.route(venue, endpoint))
    app.router.add_get(ARCHIVE_PREFIX + "{path:.+}", simulation.archive_file)
    for host in simulation.archive_hosts:
        app.router.add_get(host.prefix + "/{path:.*}", simulation.hosted_file(host))
    app.add_routes(control.routes(simulation))
    return app
