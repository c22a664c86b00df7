"""PostgreSQL's cost of the message write alone, path by path, window by window.

    python -m bench.message_db --conversations 100 --rate 500 --duration 20
    python -m bench.message_db --paths before,one-statement-hot --duration 60

Posts go straight to the database from --workers tasks sharing a pool, open loop at --rate
messages per second over --conversations conversations, on an embedded PostgreSQL (a fresh
one per path) that is durable (fsync on) unless --no-fsync. The paths, one after another:

- `before`: what `actions.posting` did before migration 0011: the visibility read
  (`store.conversations.get_context`), the 0005 `parley_post_message` (which sets the indexed
  `updated_at` on every message), and asyncpg's reset query on every release, with the
  `conversations_updated` index that 0011 drops;
- `no-reset`: the same, released without the reset query (`store/db.py` now);
- `one-statement`: `parley_post` with the view scope (one round trip), but still setting
  `updated_at` per message, so no update can be HOT;
- `one-statement-hot`: `parley_post` as shipped (`store.messages.post`);
- `grouped`: group commit, not in the server (yet): one task sends whatever posts arrived
  while its previous statement ran as one statement (`parley_post` per row, in order), so
  they share one transaction and one WAL flush.

Every --window seconds it prints the messages stored, PostgreSQL's CPU per message (the whole
cluster, from /proc; `backends`: the part spent in the connections' own processes), the p99
of a post (from the moment it was due), and the window's conversation updates and how many
were HOT (PostgreSQL's statistics, reported by each backend about once a second).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg

from bench.fleet import ROOT, embedded_services
from bench.procstat import tree_cpu_seconds
from server.core.models import CustomerPrincipal, SenderKind, Visibility
from server.core.policies import view_scope
from server.store import conversations, customers
from server.store import messages as message_store
from server.store.db import _init_connection, create_pool

PATHS = ("before", "no-reset", "one-statement", "one-statement-hot", "grouped")
# One statement, one transaction, one WAL flush for several posts (group commit), in order.
_GROUPED = """
    SELECT p.id FROM unnest($1::uuid[], $2::uuid[], $3::text[]) WITH ORDINALITY
                     AS x(conversation_id, customer_id, client_id, n)
    CROSS JOIN LATERAL parley_post(x.conversation_id, 'customer', x.customer_id, x.client_id,
                                   'Hello, I have a question about my order.', 'public',
                                   '{}'::jsonb, '{}'::uuid[], NULL, NULL, x.customer_id)
                       AS p
     ORDER BY x.n
"""
_GROUP_LIMIT = 200
BODY = "Hello, I have a question about my order."
Post = Callable[[asyncpg.Connection, uuid.UUID, CustomerPrincipal, str], Awaitable[object]]


def _function_from(migration: str, name: str, renamed: str, edit: Callable[[str], str]) -> str:
    text = (ROOT / "sql" / migration).read_text()
    match = re.search(rf"^CREATE FUNCTION {name}\(.*?^\$\$;", text, re.S | re.M)
    assert match is not None, f"{name} not found in {migration}"
    return edit(match.group(0).replace(f"FUNCTION {name}(", f"FUNCTION {renamed}(", 1))


async def _install_earlier_paths(conn: asyncpg.Connection) -> None:
    """The 0005 post function, and parley_post setting updated_at, under bench names."""
    await conn.execute(
        _function_from(
            "0005_assistant_participant.sql",
            "parley_post_message",
            "bench_0005_post",
            lambda sql: sql,
        )
    )
    bump = "SET last_seq = c.last_seq + 1,"
    await conn.execute(
        _function_from(
            "0011_post_in_one_statement.sql",
            "parley_post",
            "bench_post_touching_updated_at",
            lambda sql: sql.replace(bump, bump + " updated_at = now(),", 1),
        )
    )


async def _post_before(
    conn: asyncpg.Connection, conversation_id: uuid.UUID, customer: CustomerPrincipal, cid: str
) -> object:
    await conversations.get_context(conn, conversation_id, None)
    return await conn.fetchrow(
        "SELECT * FROM bench_0005_post($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        conversation_id, "customer", customer.customer_id, cid, BODY, "public", {}, [],
        None, None,
    )  # fmt: skip


async def _post_one_statement_touching(
    conn: asyncpg.Connection, conversation_id: uuid.UUID, customer: CustomerPrincipal, cid: str
) -> object:
    return await conn.fetchrow(
        "SELECT * FROM bench_post_touching_updated_at("
        "$1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, $9, NULL, NULL)",
        conversation_id, "customer", customer.customer_id, cid, BODY, "public", {}, [],
        customer.customer_id,
    )  # fmt: skip


async def _post_shipped(
    conn: asyncpg.Connection, conversation_id: uuid.UUID, customer: CustomerPrincipal, cid: str
) -> object:
    return await message_store.post(
        conn,
        conversation_id=conversation_id,
        sender_kind=SenderKind.CUSTOMER,
        sender_id=customer.customer_id,
        client_id=cid,
        body=BODY,
        visibility=Visibility.PUBLIC,
        metadata={},
        attachment_ids=[],
        scope=view_scope(customer),
    )


async def _pool(dsn: str, path: str, workers: int) -> asyncpg.Pool:
    if path != "before":
        return await create_pool(dsn, min_size=workers, max_size=workers)
    # As store/db.py created it before: asyncpg's default reset on every release.
    pool = await asyncpg.create_pool(
        dsn, min_size=workers, max_size=workers, init=_init_connection, statement_cache_size=256
    )
    assert pool is not None
    return pool


def _backend_cpu_seconds(postmaster: int | None) -> float:
    """CPU of the cluster's client backends (their titles name the client's address), so
    that what is left of the cluster's CPU is its background work (WAL writer, checkpointer,
    autovacuum, I/O workers)."""
    if postmaster is None:
        return 0.0
    backends = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            title = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == postmaster and "(" in title:
            backends.append(int(entry.name))
    return tree_cpu_seconds(backends)


async def _hot_counts(conn: asyncpg.Connection) -> tuple[int, int]:
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    row = await conn.fetchrow(
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'conversations'"
    )
    assert row is not None
    return row["n_tup_upd"], row["n_tup_hot_upd"]


async def _run_path(
    args: argparse.Namespace, dsn: str, pg_pids: list[int], observer: asyncpg.Connection, path: str
) -> None:
    post: Post = {
        "before": _post_before,
        "no-reset": _post_before,
        "one-statement": _post_one_statement_touching,
        "one-statement-hot": _post_shipped,
        "grouped": _post_shipped,
    }[path]
    pool = await _pool(dsn, path, args.workers)
    targets: list[tuple[uuid.UUID, CustomerPrincipal]] = []
    async with pool.acquire() as conn:
        for _ in range(args.conversations):
            customer = CustomerPrincipal(uuid.uuid4())
            await customers.upsert(
                conn, customer.customer_id, name="Visitor", email=None, attributes={}
            )
            created = await conversations.create(
                conn, customer_id=customer.customer_id, team_id=None, metadata={}
            )
            targets.append((created.id, customer))
    queue: asyncio.Queue[tuple[int, float]] = asyncio.Queue()
    latencies: list[float] = []

    async def worker() -> None:
        while True:
            number, queued_at = await queue.get()
            conversation_id, customer = targets[number % len(targets)]
            async with pool.acquire() as conn:
                await post(conn, conversation_id, customer, f"{path}-{number}")
            latencies.append(time.perf_counter() - queued_at)
            queue.task_done()

    async def grouper() -> None:
        """Whatever arrived while the previous statement ran goes in the next one."""
        while True:
            batch = [await queue.get()]
            while not queue.empty() and len(batch) < _GROUP_LIMIT:
                batch.append(queue.get_nowait())
            chosen = [targets[number % len(targets)] for number, _ in batch]
            async with pool.acquire() as conn:
                await conn.fetch(
                    _GROUPED,
                    [conversation_id for conversation_id, _ in chosen],
                    [customer.customer_id for _, customer in chosen],
                    [f"{path}-{number}" for number, _ in batch],
                )
            done = time.perf_counter()
            latencies.extend(done - queued_at for _, queued_at in batch)
            for _ in batch:
                queue.task_done()

    if path == "grouped":
        workers = [asyncio.create_task(grouper())]
    else:
        workers = [asyncio.create_task(worker()) for _ in range(args.workers)]
    print(f"\n{path}")
    print(
        f"{'second':>6} {'msgs':>6} {'pg us/msg':>9} {'backends':>8} {'p99 ms':>7}"
        f" {'updates':>7} {'hot':>6}"
    )
    sent = 0
    start = time.perf_counter()
    for window in range(max(1, round(args.duration / args.window))):
        latencies.clear()
        cpu, (updates, hot) = tree_cpu_seconds(pg_pids), await _hot_counts(observer)
        backends_cpu = _backend_cpu_seconds(pg_pids[0] if pg_pids else None)
        window_end = start + (window + 1) * args.window
        while (now := time.perf_counter()) < window_end:
            due = int((now - start) * args.rate)
            while sent < due:
                queue.put_nowait((sent, now))
                sent += 1
            await asyncio.sleep(0.002)
        await queue.join()
        stored = len(latencies)
        cpu = tree_cpu_seconds(pg_pids) - cpu
        backends_cpu = _backend_cpu_seconds(pg_pids[0] if pg_pids else None) - backends_cpu
        done_updates, done_hot = await _hot_counts(observer)
        ordered = sorted(latencies)
        p99 = ordered[int(len(ordered) * 0.99)] * 1000 if ordered else 0.0
        print(
            f"{(window + 1) * args.window:>6.0f} {stored:>6} "
            f"{cpu * 1e6 / max(stored, 1):>9.0f} {backends_cpu * 1e6 / max(stored, 1):>8.0f}"
            f" {p99:>7.1f} "
            f"{done_updates - updates:>7} {done_hot - hot:>6}",
            flush=True,
        )
    for task in workers:
        task.cancel()
    await pool.close()


async def run(args: argparse.Namespace) -> None:
    paths = [p for p in args.paths.split(",") if p]
    unknown = set(paths) - set(PATHS)
    if unknown:
        raise SystemExit(f"unknown paths: {sorted(unknown)}; known: {', '.join(PATHS)}")
    for path in paths:
        # A fresh cluster per path: what one path left behind (dead rows, autovacuum's work
        # on them) must not be charged to the next.
        async with embedded_services(durable=not args.no_fsync) as services:
            observer = await asyncpg.connect(services.dsn)
            await _install_earlier_paths(observer)
            if path in ("before", "no-reset"):
                # The index 0011 dropped is there for the paths before it.
                await observer.execute(
                    "CREATE INDEX conversations_updated ON conversations (updated_at DESC, id DESC)"
                )
            pg_pids = [services.postgres_pid] if services.postgres_pid else []
            await _run_path(args, services.dsn, pg_pids, observer, path)
            await observer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paths", default=",".join(PATHS), help=", ".join(PATHS))
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--rate", type=float, default=500.0, help="messages/s")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per path")
    parser.add_argument("--window", type=float, default=5.0, help="seconds per printed line")
    parser.add_argument("--workers", type=int, default=10, help="pool size and posting tasks")
    parser.add_argument("--no-fsync", action="store_true", help="PostgreSQL without fsync")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
