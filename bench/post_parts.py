"""PostgreSQL's CPU per post for variants of parley_post: what each part of the function costs.

    python -m bench.post_parts --posts 3000 --group 1
    python -m bench.post_parts --posts 3000 --group 4 --no-fsync

On one embedded PostgreSQL (durable unless --no-fsync), the shipped function and copies of it
with one part cut out are installed under other names; one connection posts into 100
conversations through each in turn, 100 posts at a time (interleaved, so the cost's drift as
the tables grow falls on every variant alike), --group posts per statement. Prints the
cluster's CPU per post for each: `full` is parley_post as shipped (sql/0014), `0011` as
migration 0011 made it (its retry lookup not by index), the others without the sender's
read-cursor upsert and/or the customer's name lookup. `set` is the group as one set-based
statement (parley_post_group, sql/0014), `set_no_lock` the same without its separate FOR UPDATE
of the conversations (what letting the UPDATE take the row lock would save),
`set_custom_plans` planned for each call's arrays, `set_no_windows` without the window
functions (which only these groups, one post per conversation and no repeated client id,
can do without).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.fleet import ROOT, embedded_services
from bench.procstat import tree_cpu_seconds
from server.store import conversations, customers
from server.store.db import create_pool

_CONVERSATIONS = 100
_SLICE = 100


def _function(migration: str, name: str) -> str:
    """A function's CREATE statement as a migration wrote it, created under its own name."""
    text = (ROOT / "sql" / migration).read_text()
    match = re.search(rf"^CREATE (OR REPLACE )?FUNCTION {name}\(.*?^\$\$;", text, re.S | re.M)
    assert match is not None, f"{name} not found in {migration}"
    return match.group(0).replace("CREATE OR REPLACE FUNCTION", "CREATE FUNCTION", 1)


def _variants() -> dict[str, str]:
    function = _function("0014_post_groups_set_based.sql", "parley_post")
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
    group = _function("0014_post_groups_set_based.sql", "parley_post_group")
    lock = group[group.index("    PERFORM 1 FROM conversations") : group.index("    RETURN QUERY")]
    return {
        "0011": _function("0011_post_in_one_statement.sql", "parley_post"),
        "full": function,
        "no_cursor": function.replace(cursor, ""),
        "no_name": function.replace(name, ""),
        "no_cursor_no_name": function.replace(cursor, "").replace(name, ""),
        "set": group,
        "set_no_lock": group.replace(lock, ""),
        "set_custom_plans": group.replace("SET plan_cache_mode = force_generic_plan", ""),
        # The bench's groups hold one post per conversation and no repeated client id.
        "set_no_windows": group.replace(
            "row_number() OVER (PARTITION BY x.conversation_id ORDER BY x.n) AS k", "1::bigint AS k"
        ).replace(
            "count(*) OVER (PARTITION BY x.sender_kind, x.sender_id, x.client_id) AS uses",
            "1::bigint AS uses",
        ),
    }


def _statement(function: str) -> str:
    if function.startswith("set"):
        return f"""
            SELECT s.id FROM bench_{function}(
                $1::uuid[], array_fill('customer'::text, ARRAY[cardinality($1)]), $2::uuid[],
                $3::text[], array_fill('Hello, I have a question about my order.'::text,
                                       ARRAY[cardinality($1)]),
                array_fill('public'::text, ARRAY[cardinality($1)]),
                array_fill('{{}}'::jsonb, ARRAY[cardinality($1)]), $2::uuid[],
                array_fill(NULL::uuid, ARRAY[cardinality($1)]),
                array_fill(NULL::text, ARRAY[cardinality($1)])) AS s"""
    return f"""
        SELECT p.id FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS x(c, u, k)
        CROSS JOIN LATERAL bench_{function}(
            x.c, 'customer', x.u, x.k, 'Hello, I have a question about my order.', 'public',
            '{{}}'::jsonb, '{{}}'::uuid[], NULL, NULL, x.u, NULL, NULL) AS p"""


async def run(args: argparse.Namespace) -> None:
    async with embedded_services(not args.no_fsync) as services:
        pool = await create_pool(services.dsn, min_size=1, max_size=1)
        async with pool.acquire() as conn:
            variants = {
                name: text for name, text in _variants().items() if name in args.variants.split(",")
            }
            for function, text in variants.items():
                await conn.execute(
                    re.sub(
                        r"CREATE FUNCTION parley_post(_group)?\(",
                        f"CREATE FUNCTION bench_{function}(",
                        text,
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
            stored = await conn.fetchval("SELECT count(*) FROM messages")
            print(f"{stored} messages stored of {sent} posted")
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=3000, help="posts per variant")
    parser.add_argument("--group", type=int, default=1, help="posts per statement (divides 100)")
    parser.add_argument("--no-fsync", action="store_true", help="PostgreSQL without fsync")
    parser.add_argument(
        "--variants",
        default="0011,full,no_cursor,no_name,no_cursor_no_name,set,set_no_lock,set_custom_plans,set_no_windows",
        help="which, comma-separated",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
