"""PostgreSQL's CPU per post for variants of parley_post: what each part of the function costs.

    python -m bench.post_parts --posts 3000 --group 1
    python -m bench.post_parts --posts 3000 --group 4 --no-fsync

On one embedded PostgreSQL (durable unless --no-fsync), the shipped function and copies of it
with one part cut out are installed under other names; one connection posts into 100
conversations through each in turn, 100 posts at a time (interleaved, so the cost's drift as
the tables grow falls on every variant alike), --group posts per statement. Prints the
cluster's CPU per post for each: `full` is parley_post as shipped, the others without the
sender's read-cursor upsert and/or the customer's name lookup.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.fleet import ROOT, embedded_services
from bench.procstat import tree_cpu_seconds
from server.store import conversations, customers
from server.store.db import create_pool

_MIGRATION = "0011_post_in_one_statement.sql"
_CONVERSATIONS = 100
_SLICE = 100


def _variants() -> dict[str, str]:
    text = (ROOT / "sql" / _MIGRATION).read_text()
    function = text[text.index("CREATE FUNCTION parley_post(") :]
    cursor = function[
        function.index("    -- The sender has received and read") : function.index(
            "    RETURN QUERY SELECT v_existing.id, v_existing.seq, v_existing.created_at,\n"
            "        true"
        )
    ]
    name = function[
        function.index(
            "    IF p_sender_kind = 'customer' THEN\n        SELECT cu.name"
        ) : function.index("    IF p_client_id IS NOT NULL THEN")
    ]
    return {
        "full": function,
        "no_cursor": function.replace(cursor, ""),
        "no_name": function.replace(name, ""),
        "no_cursor_no_name": function.replace(cursor, "").replace(name, ""),
    }


def _statement(function: str) -> str:
    return f"""
        SELECT p.id FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS x(c, u, k)
        CROSS JOIN LATERAL bench_{function}(
            x.c, 'customer', x.u, x.k, 'Hello, I have a question about my order.', 'public',
            '{{}}'::jsonb, '{{}}'::uuid[], NULL, NULL, x.u, NULL, NULL) AS p"""


async def run(args: argparse.Namespace) -> None:
    async with embedded_services(not args.no_fsync) as services:
        pool = await create_pool(services.dsn, min_size=1, max_size=1)
        async with pool.acquire() as conn:
            variants = _variants()
            for function, text in variants.items():
                await conn.execute(
                    text.replace(
                        "CREATE FUNCTION parley_post(", f"CREATE FUNCTION bench_{function}("
                    )
                )
            targets = []
            for _ in range(_CONVERSATIONS):
                customer_id = uuid.uuid4()
                await customers.upsert(conn, customer_id, name="V", email=None, attributes={})
                created = await conversations.create(
                    conn, customer_id=customer_id, team_id=None, metadata={}
                )
                targets.append((created.id, customer_id))
            statements = {name: await conn.prepare(_statement(name)) for name in variants}
            spent = dict.fromkeys(statements, 0.0)
            pids = [services.postgres_pid] if services.postgres_pid else []
            sent = 0
            for _ in range(max(1, args.posts // _SLICE)):
                for name, statement in statements.items():
                    cpu = tree_cpu_seconds(pids)
                    for _ in range(0, _SLICE, args.group):
                        chosen = [targets[(sent + j) % len(targets)] for j in range(args.group)]
                        await statement.fetch(
                            [conversation for conversation, _ in chosen],
                            [customer for _, customer in chosen],
                            [f"k{sent + j}" for j in range(args.group)],
                        )
                        sent += args.group
                    spent[name] += tree_cpu_seconds(pids) - cpu
            posts = max(1, args.posts // _SLICE) * _SLICE
            for name, seconds in spent.items():
                print(f"{name:>18}: {seconds * 1e6 / posts:6.0f} µs per post")
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=3000, help="posts per variant")
    parser.add_argument("--group", type=int, default=1, help="posts per statement (divides 100)")
    parser.add_argument("--no-fsync", action="store_true", help="PostgreSQL without fsync")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
