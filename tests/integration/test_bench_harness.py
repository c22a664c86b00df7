"""The throughput bench (bench/throughput.py) at a tiny size against both servers: it keeps the
harness honest, and proves it counts every message exactly once and in order per conversation."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from bench.fleet import Services
from bench.throughput import Options, measure
from server.embedded import EmbeddedPostgres

PAIRS, RATE, SECONDS = 5, 20.0, 2.0
SENT = int(RATE * SECONDS)


async def test_both_servers_deliver_every_message_once_in_order(
    clean_database: str, redis_url: str, embedded_postgres: EmbeddedPostgres, tmp_path: Path
) -> None:
    services = Services(clean_database, redis_url, embedded_postgres.pid, tmp_path)
    options = Options(pairs=PAIRS, rates=(RATE,), duration=SECONDS, generators=2)

    report = await measure(options, services)

    assert set(report) == {"bare", "parley"}
    for kind, result in report.items():
        assert result["setup"]["pairs"] == PAIRS, kind
        assert result["setup"]["errors"] == 0, (kind, result["setup"]["first_errors"])
        [point] = result["points"]
        delivery = {
            key: point[key]
            for key in (
                "sent",
                "delivered",
                "missing",
                "duplicates",
                "out_of_order",
                "strays",
                "unacked",
                "ack_errors",
                "errors",
            )
        }
        assert delivery == {
            "sent": SENT,
            "delivered": SENT,
            "missing": 0,
            "duplicates": 0,
            "out_of_order": 0,
            "strays": 0,
            "unacked": 0,
            "ack_errors": {},
            "errors": 0,
        }, kind
        assert point["server_us_per_msg"] > 0, kind
        assert len(point["generator_cpu_pct"]) == 2, kind
    # Parley stored what the agents heard: each customer message once, in sending order (the
    # generator numbers its client ids in the order it sends).
    conn = await asyncpg.connect(clean_database)
    try:
        rows = await conn.fetch(
            "SELECT conversation_id, array_agg(client_id ORDER BY seq) AS client_ids "
            "FROM messages WHERE sender_kind = 'customer' GROUP BY conversation_id"
        )
    finally:
        await conn.close()
    assert len(rows) == PAIRS
    assert sum(len(row["client_ids"]) for row in rows) == SENT
    assert len({client_id for row in rows for client_id in row["client_ids"]}) == SENT
    for row in rows:
        sent_order = [int(client_id.rsplit("-", 1)[1]) for client_id in row["client_ids"]]
        assert sent_order == sorted(sent_order)
