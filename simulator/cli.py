"""The `exchange-sim` command: serve the simulator until SIGTERM or SIGINT."""

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from aiohttp import web

from simulator.limits import BudgetSpec
from simulator.server import SimConfig, make_app
from simulator.trades import DEFAULT_TRADES_PER_DAY
from simulator.universe import FIXED, MAX_SYMBOLS, anchor_from_date

log = logging.getLogger("simulator")


def _budget(text: str) -> tuple[int, int]:
    try:
        spec = BudgetSpec.parse(text)
    except ValueError as exc:
        message = f"expected WEIGHT/SECONDS such as 6000/60, not {text!r}"
        raise argparse.ArgumentTypeError(message) from exc
    return spec.limit, spec.seconds


def _venue_latency(text: str) -> tuple[str, float]:
    name, _, ms = text.partition("=")
    try:
        return name.strip(), float(ms)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected VENUE=MS such as bybit=200, not {text!r}"
        ) from None


def _rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a rate from 0 to 1 such as 0.05, not {text!r}")
    return rate


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0 such as 20, not {text!r}")
    return value


def _positive_seconds(text: str) -> float:
    try:
        seconds = _non_negative(text)
    except argparse.ArgumentTypeError:
        seconds = 0.0
    if seconds == 0:
        raise argparse.ArgumentTypeError(f"expected seconds > 0 such as 120, not {text!r}")
    return seconds


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0 such as 10, not {text!r}")
    return int(text)


def _anchor(text: str) -> int:
    try:
        return anchor_from_date(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, not {text!r}") from None


def _symbol_count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_SYMBOLS:
        raise argparse.ArgumentTypeError(
            f"expected a number of symbols from 1 to {MAX_SYMBOLS}, not {text!r}"
        )
    return int(text)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="exchange-sim",
        description="Serve the public market-data REST APIs of Binance, MEXC, Gate.io and Bybit, "
        "and Binance's data archive, over deterministic data (MEXC spot under /mexc).",
    )
    parser.add_argument("--port", type=int, required=True, help="TCP port; 0 picks a free one")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="data seed (default %(default)s)")
    parser.add_argument(
        "--trades-per-day",
        type=int,
        default=DEFAULT_TRADES_PER_DAY,
        help="aggregate trades per symbol per day (default %(default)s)",
    )
    parser.add_argument(
        "--spot-weight", type=_budget, default="6000/60", help="spot weight per seconds"
    )
    parser.add_argument(
        "--usdm-weight", type=_budget, default="2400/60", help="USD-M weight per seconds"
    )
    parser.add_argument(
        "--usdm-funding",
        type=_budget,
        default="500/300",
        help="USD-M fundingRate requests per seconds",
    )
    parser.add_argument(
        "--latency-ms",
        type=_non_negative,
        default=0.0,
        help="delay added to every API and archive response",
    )
    parser.add_argument(
        "--venue-latency",
        type=_venue_latency,
        action="append",
        default=[],
        metavar="VENUE=MS",
        help="delay for one venue's responses instead of --latency-ms (repeatable), e.g. bybit=200",
    )
    parser.add_argument(
        "--bybit-ban-s",
        type=_positive_seconds,
        default=600.0,
        help="how long Bybit refuses an IP after a breach (default %(default)s)",
    )
    parser.add_argument(
        "--binance-ban-s",
        type=_positive_seconds,
        default=120.0,
        metavar="SECONDS",
        help="Binance's first 418 ban of an IP; each further ban doubles, up to 3 days "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--binance-ban-after",
        type=_count,
        default=10,
        metavar="N",
        help="requests Binance answers 429 while a Retry-After is in force before it bans the "
        "IP (default %(default)s)",
    )
    parser.add_argument(
        "--binance-ban-grace-s",
        type=_non_negative,
        default=1.0,
        metavar="SECONDS",
        help="requests arriving this soon after a 429 were already on their way: refused but "
        "not counted towards a ban (default %(default)s)",
    )
    parser.add_argument(
        "--archive-omit",
        action="append",
        default=[],
        metavar="PATTERN",
        help="answer 404 for archive files whose name matches (glob; repeatable)",
    )
    parser.add_argument(
        "--archive-corrupt",
        action="append",
        default=[],
        metavar="PATTERN",
        help="serve archive files whose name matches with a flipped byte (glob; repeatable)",
    )
    parser.add_argument(
        "--fault-seed",
        type=int,
        default=0,
        help="seed of the fault decisions (default %(default)s)",
    )
    parser.add_argument(
        "--fault-5xx",
        type=_rate,
        default=0.0,
        metavar="RATE",
        help="share of data requests answered 503 (0 to 1, default %(default)s)",
    )
    parser.add_argument(
        "--fault-truncate",
        type=_rate,
        default=0.0,
        metavar="RATE",
        help="share of data requests answered 200 with the body cut short (0 to 1)",
    )
    parser.add_argument(
        "--fault-reset",
        type=_rate,
        default=0.0,
        metavar="RATE",
        help="share of data requests whose connection is dropped without an answer (0 to 1)",
    )
    parser.add_argument(
        "--symbols",
        type=_symbol_count,
        default=None,
        metavar="N",
        help="list N USDT symbols on every venue, spot and perpetual: BTC, ETH, BNB and NEW "
        "first, then generated ones with staggered listings and volumes (default: those four; "
        "BNB has no perpetual)",
    )
    parser.add_argument(
        "--delisted",
        type=_count,
        default=0,
        metavar="K",
        help="how many of the N symbols stopped trading within the last two months; their "
        "history stays served (default %(default)s)",
    )
    parser.add_argument(
        "--anchor",
        type=_anchor,
        default=None,
        metavar="YYYY-MM-DD",
        help="the day generated listings and delistings count back from (default: today, UTC); "
        "pass the same to simulator.universe.Universe to get the same ground truth",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    room = max(0, (args.symbols or 0) - 4 - FIXED)
    if args.delisted > room:
        parser.error(
            f"--delisted {args.delisted} needs --symbols {args.delisted + 4 + FIXED} or more "
            f"(today's four and the first {FIXED} generated symbols are never delisted)"
        )
    if args.trades_per_day < 1:
        parser.error("--trades-per-day must be at least 1")
    if args.fault_5xx + args.fault_truncate + args.fault_reset > 1:
        parser.error("--fault-5xx, --fault-truncate and --fault-reset add up to more than 1")
    return args


async def serve(config: SimConfig, host: str, port: int, verbose: bool) -> None:
    """Listen, print the one 'listening' line, and run until a stop signal arrives."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(
        make_app(config),
        access_log=logging.getLogger("aiohttp.access") if verbose else None,
        handle_signals=False,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = runner.addresses[0][1]
        print(f"exchange-sim listening on http://{host}:{bound_port}", flush=True)
        await stop.wait()
        log.info("stopping")
    finally:
        await runner.cleanup()


def sim_config(args: argparse.Namespace) -> SimConfig:
    return SimConfig(
        seed=args.seed,
        trades_per_day=args.trades_per_day,
        spot_weight=args.spot_weight,
        usdm_weight=args.usdm_weight,
        usdm_funding=args.usdm_funding,
        latency_ms=args.latency_ms,
        venue_latency_ms=dict(args.venue_latency),
        bybit_ban_s=args.bybit_ban_s,
        binance_ban_s=args.binance_ban_s,
        binance_ban_after=args.binance_ban_after,
        binance_ban_grace_s=args.binance_ban_grace_s,
        archive_omit=tuple(args.archive_omit),
        archive_corrupt=tuple(args.archive_corrupt),
        fault_seed=args.fault_seed,
        fault_5xx=args.fault_5xx,
        fault_truncate=args.fault_truncate,
        fault_reset=args.fault_reset,
        symbols=args.symbols,
        delisted=args.delisted,
        anchor_ms=args.anchor,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    asyncio.run(serve(sim_config(args), args.host, args.port, args.verbose))
    return 0
