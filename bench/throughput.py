"""Message throughput: Parley against a bare python-socketio room server, in the same run.

    python -m bench.throughput --pairs 50 --rates 100,200 --duration 3
    python -m bench.throughput --pairs 500 --rates 250,500,1000,2000 --processes 2
    python -m bench.throughput --pairs 500 --rates 500 --idle 9000 --storm 5000

N customer/agent pairs, each customer in its own conversation, are spread over separate load
generator processes (bench/load.py, raw Socket.IO frames). For each offered rate the customers
send open-loop for --duration seconds; latency runs from a message's scheduled send to its
agent's `message` event. CPU comes from /proc: the server processes, every process of the
embedded PostgreSQL cluster, and each generator (a generator near 100% of a core means the
bench, not the server, is the limit). Parley runs as real `python -m server serve` processes
on an embedded, durable (fsync on) PostgreSQL and Valkey; customers connect to one process and
their agents to another when there are several. The bare server runs as one process.

A storm (--storm N) runs one more point at the first rate: N more sockets connect at once
while the pairs keep talking, then all N drop at once; it reports how long connecting took,
errors in the server logs after the drop, and how long the live pairs stalled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.fleet import (
    ROOT,
    Generator,
    Server,
    Services,
    embedded_services,
    raise_descriptor_limit,
    rss_mb,
    seed_agents,
    start_bare,
    start_parley,
    stop,
    wait_ready,
)
from bench.procstat import tree_cpu_seconds
from bench.storm_probes import (
    gc_pauses,
    lag_between,
    loop_lag,
    pauses_between,
    presence_connections,
    seconds_until,
    start_profiler,
    stop_profiler,
)

TARGET_P99_MS = 50.0
SETUP_TIMEOUT = 600.0


@dataclass(frozen=True)
class Options:
    pairs: int = 50
    rates: tuple[float, ...] = (100.0, 200.0)
    duration: float = 3.0
    processes: int = 1
    generators: int = 2
    idle: int = 0
    storm: int = 0
    storm_generators: int = 0  # processes of their own for the storm's sockets (0: the pairs')
    server_tree: str = ""  # another checkout whose server is measured (this one's by default)
    server_open_files: int = 0  # the servers' open-files limit (0: this process's)
    profile_storm: str = ""  # a speedscope file: py-spy samples the server while the storm connects
    servers: tuple[str, ...] = ("bare", "parley")
    durable: bool = True
    bare_backlog: int = 128  # the bare server's listen queue (aiohttp's default)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def measure(options: Options, services: Services) -> dict[str, Any]:
    """Every server kind in `options.servers`, one after the other, on the same services."""
    raise_descriptor_limit()
    return {kind: await _measure_one(kind, options, services) for kind in options.servers}


async def _measure_one(kind: str, options: Options, services: Services) -> dict[str, Any]:
    if kind == "parley":
        agents = await seed_agents(services.dsn, options.pairs)
        servers = start_parley(
            services,
            options.processes,
            Path(options.server_tree or ROOT),
            open_files=options.server_open_files,
        )
    else:
        agents = [(f"load{index}@example.test", "") for index in range(options.pairs)]
        servers = start_bare(services.data_dir, options.bare_backlog)
    generators: list[Generator] = []
    stormers: list[Generator] = []
    try:
        await wait_ready(servers)
        generators = [await Generator.start() for _ in range(options.generators)]
        stormers = [await Generator.start() for _ in range(options.storm_generators)]
        urls = [server.url for server in servers]
        no_pauses = await gc_pauses([])
        setup = await _setup(generators, servers, agents, options, routed=kind == "parley")
        after_setup = await gc_pauses(urls)
        setup["gc_pauses"] = pauses_between(no_pauses, after_setup)
        points = [
            await _point(generators, servers, services, rate, options.duration)
            for rate in options.rates
        ]
        steady = pauses_between(after_setup, await gc_pauses(urls))
        storm = (
            await _storm(generators, stormers or generators, servers, services, options)
            if options.storm
            else None
        )
        passing = [p["rate"] for p in points if p["p99_ms"] < TARGET_P99_MS and not p["errors"]]
        return {
            "servers": len(servers),
            "setup": setup,
            "points": points,
            "gc_pauses_during_points": steady,
            "storm": storm,
            "best_rate_p99_under_50ms": max(passing, default=None),
        }
    finally:
        await asyncio.gather(*(generator.quit() for generator in generators + stormers))
        stop(servers)


async def _setup(
    generators: list[Generator],
    servers: list[Server],
    agents: list[tuple[str, str]],
    options: Options,
    routed: bool,
) -> dict[str, Any]:
    urls = [server.url for server in servers]
    shares: list[list[dict[str, str]]] = [[] for _ in generators]
    for index, (email, team) in enumerate(agents):
        shares[index % len(generators)].append(
            {
                "customer_url": urls[index % len(urls)],
                "agent_url": urls[(index + 1) % len(urls)],
                "email": email,
                "team": team,
            }
        )
    idle = [options.idle // len(generators)] * len(generators)
    idle[0] += options.idle - sum(idle)
    answers = await asyncio.gather(
        *(
            generator.ask(
                "setup",
                SETUP_TIMEOUT,
                pairs=share,
                idle=count,
                idle_url=urls[index % len(urls)],
                routed=routed,
            )
            for index, (generator, share, count) in enumerate(
                zip(generators, shares, idle, strict=True)
            )
        )
    )
    errors = [error for answer in answers for error in answer["errors"]]
    return {
        "pairs": sum(answer["pairs"] for answer in answers),
        "idle": sum(answer["idle"] for answer in answers),
        "errors": len(errors) + sum(answer["idle_errors"] for answer in answers),
        "first_errors": errors[:3],
        "seconds": max(answer["seconds"] for answer in answers),
        "server_rss_mb": [rss_mb(server.process.pid) for server in servers],
    }


async def _point(
    generators: list[Generator],
    servers: list[Server],
    services: Services,
    rate: float,
    duration: float,
) -> dict[str, Any]:
    server_pids = [server.process.pid for server in servers]
    postgres_pids = [services.postgres_pid] if services.postgres_pid else []
    commits = await _commits(services.dsn)
    server_cpu, postgres_cpu = tree_cpu_seconds(server_pids), tree_cpu_seconds(postgres_pids)
    answers = await asyncio.gather(
        *(
            generator.ask("point", duration + 60, rate=rate / len(generators), duration=duration)
            for generator in generators
        )
    )
    server_cpu = tree_cpu_seconds(server_pids) - server_cpu
    postgres_cpu = tree_cpu_seconds(postgres_pids) - postgres_cpu
    point = summarise(rate, answers, server_cpu, postgres_cpu)
    # Transactions per message sent: how many posts shared a statement, roughly (every other
    # statement of the point counts too; statistics reach the view within about a second).
    commits = await _commits(services.dsn) - commits
    point["postgres_commits_per_msg"] = round(commits / max(point["sent"], 1), 2)
    return point


async def _commits(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval(
                "SELECT sum(xact_commit) FROM pg_stat_database WHERE datname = current_database()"
            )
        )
    finally:
        await conn.close()


def summarise(
    rate: float, answers: list[dict[str, Any]], server_cpu: float, postgres_cpu: float
) -> dict[str, Any]:
    latencies = [value for answer in answers for value in answer["latencies_ms"]]
    delivered = sum(answer["delivered"] for answer in answers)
    sent = sum(answer["sent"] for answer in answers)
    active = max(answer["active_seconds"] for answer in answers)
    wall = max(answer["wall_seconds"] for answer in answers)
    counts = {
        key: sum(answer[key] for answer in answers)
        for key in ("missing", "duplicates", "out_of_order", "strays", "unacked")
    }
    ack_errors, other_events = _added(answers, "ack_errors"), _added(answers, "agent_other_events")
    return {
        "rate": rate,
        "sent": sent,
        "delivered": delivered,
        "achieved": round(delivered / active, 1) if active > 0 else 0.0,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(max(latencies, default=float("nan")), 1),
        **counts,
        "ack_errors": ack_errors,
        "agent_other_events": other_events,
        "errors": sum(counts.values()) + sum(ack_errors.values()),
        "server_us_per_msg": round(server_cpu / max(sent, 1) * 1e6),
        "postgres_us_per_msg": round(postgres_cpu / max(sent, 1) * 1e6),
        "server_cpu_pct": round(server_cpu / wall * 100) if wall else 0,
        "generator_cpu_pct": [round(a["cpu_seconds"] / a["wall_seconds"] * 100) for a in answers],
        "send_lag_ms_max": max(answer["send_lag_ms_max"] for answer in answers),
        "longest_gap_ms": max(answer["longest_gap_ms"] for answer in answers),
        "stalled_after_drop_ms": max(
            (a["stalled_after_drop_ms"] for a in answers if a["stalled_after_drop_ms"] is not None),
            default=None,
        ),
    }


def _added(answers: list[dict[str, Any]], key: str) -> dict[str, int]:
    total: dict[str, int] = {}
    for answer in answers:
        for name, count in answer[key].items():
            total[name] = total.get(name, 0) + count
    return total


async def _storm(
    generators: list[Generator],
    stormers: list[Generator],
    servers: list[Server],
    services: Services,
    options: Options,
) -> dict[str, Any]:
    """The live pairs talk at the first rate (from `generators`) while the storm connects and
    then drops (from `stormers`); presence (Parley) is watched until it counts the storm's
    sockets in, then out again."""
    rate = options.rates[0]
    # Long enough for the storm to connect and drop inside the point at >= 500 connects/s.
    duration = options.duration + options.storm / 500
    urls = [server.url for server in servers]
    prefix = servers[0].redis_prefix
    gc_before = await gc_pauses(urls)
    baseline = await presence_connections(services.redis_url, prefix) if prefix else None
    live = asyncio.create_task(_point(generators, servers, services, rate, duration))
    share = options.storm // len(stormers)
    server_pids = [server.process.pid for server in servers]
    profiler = None
    if options.profile_storm:
        profiler = start_profiler(options.profile_storm, server_pids[0])
    server_cpu = tree_cpu_seconds(server_pids)
    lag_before = await loop_lag(urls)
    started = time.monotonic()
    connected = await asyncio.gather(
        *(
            generator.ask("storm", SETUP_TIMEOUT, count=share, url=urls[index % len(urls)])
            for index, generator in enumerate(stormers)
        )
    )
    server_cpu = tree_cpu_seconds(server_pids) - server_cpu
    lag_connecting = lag_between(lag_before, await loop_lag(urls))
    if profiler is not None:
        stop_profiler(profiler)
    total = sum(answer["connected"] for answer in connected)
    presence_in = None
    if baseline is not None:
        presence_in = await seconds_until(
            services.redis_url, prefix, baseline + total, started, rising=True
        )
    offsets = [server.log_size() for server in servers]
    lag_before_drop = await loop_lag(urls)
    dropped_at = time.monotonic()
    dropped = await asyncio.gather(
        *(generator.ask("drop", SETUP_TIMEOUT) for generator in stormers)
    )
    presence_out = None
    if baseline is not None:
        presence_out = await seconds_until(
            services.redis_url, prefix, baseline, dropped_at, rising=False
        )
    lag_dropping = lag_between(lag_before_drop, await loop_lag(urls))
    point = await live
    seconds = max(answer["seconds"] for answer in connected)
    return {
        "clients": share * len(stormers),
        "connected": total,
        "connect_failures": sum(answer["failed"] for answer in connected),
        # Why, over all generators: a documented refusal ("refused: 503 ...") or a close.
        "connect_failure_kinds": dict(
            sum((Counter(answer.get("failures", {})) for answer in connected), Counter())
        ),
        "seconds_to_all_connected": seconds,
        "connect_ms": _percentiles(sorted(ms for a in connected for ms in a.get("connect_ms", []))),
        "connects_per_second": round(total / seconds) if seconds else None,
        # While the storm connected (the live pairs' work included): the servers' CPU in % of
        # one core and per connect, and each generator's: near 100% means it was the limit.
        "server_cpu_pct_connecting": round(server_cpu / seconds * 100) if seconds else None,
        "server_us_per_connect": round(server_cpu / max(total, 1) * 1e6),
        "generator_cpu_pct_connecting": [
            round(answer["cpu_seconds"] / answer["seconds"] * 100) if answer["seconds"] else None
            for answer in connected
        ],
        # How late the servers' event loops ran a 25 ms timer while the storm connected.
        "loop_lag_connecting": lag_connecting,
        "drop_seconds": max(answer["seconds"] for answer in dropped),
        # The same from the drop until presence was back to its baseline.
        "loop_lag_dropping": lag_dropping,
        "server_log_errors_after_drop": sum(
            server.errors_since(offset) for server, offset in zip(servers, offsets, strict=True)
        ),
        # From the first connect (the drop) until presence counted every storm socket in
        # (out again): None when it did not within 30 s, or for the bare server (no presence).
        "presence_in_seconds": presence_in,
        "presence_back_to_baseline_seconds": presence_out,
        "gc_pauses": pauses_between(gc_before, await gc_pauses(urls)),
        "server_rss_mb_after": [rss_mb(server.process.pid) for server in servers],
        "live": point,
    }


def _percentiles(values: list[int]) -> dict[str, int] | None:
    """p50 / p90 / p99 / max of sorted values (None when there are none)."""
    if not values:
        return None
    last = len(values) - 1
    return {
        "p50": values[min(last, len(values) // 2)],
        "p90": values[min(last, len(values) * 9 // 10)],
        "p99": values[min(last, len(values) * 99 // 100)],
        "max": values[last],
    }


GENERATOR_CPU_LIMIT_PCT = 80
SEND_LAG_LIMIT_MS = 20.0


def bench_limits(point: dict[str, Any]) -> list[str]:
    """Signs that the load generators, not the server, limited a point."""
    warnings = []
    if max(point["generator_cpu_pct"]) > GENERATOR_CPU_LIMIT_PCT:
        warnings.append(
            f"a load generator used over {GENERATOR_CPU_LIMIT_PCT}% of a core: add --generators"
        )
    if point["send_lag_ms_max"] > SEND_LAG_LIMIT_MS:
        warnings.append(
            f"a generator sent up to {point['send_lag_ms_max']} ms late "
            "(a busy machine or a busy generator)"
        )
    return warnings


def table(report: dict[str, Any]) -> str:
    lines = []
    header = (
        f"{'server':<8} {'rate':>6} {'achieved':>8} {'p50 ms':>7} {'p99 ms':>8} "
        f"{'errors':>6} {'srv us/msg':>10} {'pg us/msg':>9} {'srv cpu%':>8} {'gen cpu%':>9}"
    )
    for kind, result in report.items():
        lines.append(f"{kind}: {result['servers']} process(es); setup {result['setup']}")
        lines.append(header)
        for p in result["points"]:
            lines.append(
                f"{kind:<8} {p['rate']:>6g} {p['achieved']:>8g} {p['p50_ms']:>7g} "
                f"{p['p99_ms']:>8g} {p['errors']:>6} {p['server_us_per_msg']:>10} "
                f"{p['postgres_us_per_msg']:>9} {p['server_cpu_pct']:>8} "
                f"{'/'.join(map(str, p['generator_cpu_pct'])):>9}"
            )
        lines.append(
            f"{kind}: highest rate with p99 < 50 ms and no errors: "
            f"{result['best_rate_p99_under_50ms']}"
        )
        lines.append(f"{kind}: GC pauses during the points: {result['gc_pauses_during_points']}")
        lines.append(
            f"{kind}: PostgreSQL commits per message sent: "
            + ", ".join(
                f"{p.get('postgres_commits_per_msg', '-')} at {p['rate']:g}"
                for p in result["points"]
            )
        )
        lines += [
            f"{kind} at {p['rate']:g}: WARNING {warning}"
            for p in result["points"]
            for warning in bench_limits(p)
        ]
        if result["storm"]:
            storm = {k: v for k, v in result["storm"].items() if k != "live"}
            live = result["storm"]["live"]
            lines.append(f"{kind} storm: {storm}")
            lines.append(
                f"{kind} storm, live pairs: p99 {live['p99_ms']} ms, max "
                f"{live['max_ms']} ms, longest delivery gap "
                f"{live['longest_gap_ms']} ms, slower than 50 ms until "
                f"{live['stalled_after_drop_ms']} ms after the drop, errors {live['errors']}"
            )
    return "\n".join(lines)


_SERVER_KINDS = ("bare", "parley")


def _server_kinds(value: str) -> tuple[str, ...]:
    """`--servers`: a typo must not silently run the bare server under another name."""
    kinds = tuple(kind.strip() for kind in value.split(",") if kind.strip())
    unknown = [kind for kind in kinds if kind not in _SERVER_KINDS]
    if not kinds or unknown:
        raise argparse.ArgumentTypeError(
            f"server kinds are {', '.join(_SERVER_KINDS)}: got {value!r}"
        )
    return kinds


def parse(argv: list[str] | None = None) -> tuple[Options, bool]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=50)
    parser.add_argument("--rates", default="100,200", help="messages/s in total, comma-separated")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per rate")
    parser.add_argument("--processes", type=int, choices=(1, 2, 4), default=1)
    parser.add_argument("--generators", type=int, default=2, help="load generator processes")
    parser.add_argument("--idle", type=int, default=0, help="extra idle connections")
    parser.add_argument("--storm", type=int, default=0, help="clients connecting/dropping at once")
    parser.add_argument(
        "--storm-generators",
        type=int,
        default=0,
        help="load generator processes of their own for the storm (0: the pairs' generators)",
    )
    parser.add_argument(
        "--servers",
        type=_server_kinds,
        default="bare,parley",
        help="comma-separated server kinds: bare, parley (default: both, bare first)",
    )
    parser.add_argument(
        "--server-tree", default="", help="run Parley from this checkout (before/after runs)"
    )
    parser.add_argument(
        "--profile-storm", default="", help="py-spy speedscope file of the first server's storm"
    )
    parser.add_argument(
        "--server-open-files",
        type=int,
        default=0,
        help="the servers' open-files limit, soft and hard (a storm past it, reproduced small)",
    )
    parser.add_argument(
        "--bare-backlog",
        type=int,
        default=128,
        help="the bare server's listen queue (default aiohttp's 128; Parley's starts at 4,096)",
    )
    parser.add_argument("--no-fsync", action="store_true", help="PostgreSQL without fsync")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    args = parser.parse_args(argv)
    options = replace(
        Options(),
        pairs=args.pairs,
        duration=args.duration,
        processes=args.processes,
        generators=args.generators,
        idle=args.idle,
        storm=args.storm,
        storm_generators=args.storm_generators,
        profile_storm=args.profile_storm,
        server_tree=args.server_tree,
        server_open_files=args.server_open_files,
        rates=tuple(float(rate) for rate in args.rates.split(",")),
        servers=args.servers,
        durable=not args.no_fsync,
        bare_backlog=args.bare_backlog,
    )
    return options, args.json


async def main() -> None:
    options, as_json = parse()
    async with embedded_services(options.durable) as services:
        report = await measure(options, services)
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        print(table(report))


if __name__ == "__main__":
    asyncio.run(main())
