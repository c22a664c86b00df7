"""Pooled connections are released without asyncpg's reset query (store/db.py), so no code
may leave session state on one: no session-level advisory lock, LISTEN, session SET or
set_config that outlives its transaction."""

from __future__ import annotations

import re
from pathlib import Path

SERVER = Path(__file__).resolve().parents[2] / "server"

_SESSION_STATE = re.compile(
    r"pg_(try_)?advisory_(un)?lock(_shared)?\s*\("  # session-level advisory locks
    r"|(?-i:\bLISTEN\s+[\w\"])|add_listener\("  # notifications
    r"|set_config\([^)]*\bfalse\s*\)"  # set_config(..., is_local => false)
    r"|\bSET\s+SESSION\b|execute\(\s*f?[\"']+\s*SET\s+(?!LOCAL\b)",  # a statement SET
    re.IGNORECASE | re.MULTILINE,
)


def _sources() -> list[tuple[str, str]]:
    files = sorted(SERVER.rglob("*.py")) + sorted((SERVER / "sql").glob("*.sql"))
    return [(str(path.relative_to(SERVER)), path.read_text()) for path in files]


def test_no_code_leaves_session_state_on_a_pooled_connection() -> None:
    found = [
        (name, match.group(0).strip())
        for name, text in _sources()
        for match in _SESSION_STATE.finditer(text)
    ]
    assert found == []


def test_the_pattern_sees_what_it_guards_against() -> None:
    leaks = [
        'await conn.execute("SELECT pg_advisory_lock($1)", key)',
        "SELECT pg_try_advisory_lock(1)",
        'await conn.add_listener("parley", callback)',
        "LISTEN parley",
        "SELECT set_config('statement_timeout', '5s', false)",
        'await conn.execute("SET statement_timeout = 5000")',
        "SET SESSION statement_timeout = 5000",
    ]
    fine = [
        "SELECT pg_advisory_xact_lock($1)",
        "SELECT pg_try_advisory_xact_lock($1)",
        "SELECT set_config('statement_timeout', '5s', true)",
        'await conn.execute("SET LOCAL statement_timeout = 5000")',
        "UPDATE conversations SET status = $2",
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ]
    assert [bool(_SESSION_STATE.search(text)) for text in leaks] == [True] * len(leaks)
    assert [bool(_SESSION_STATE.search(text)) for text in fine] == [False] * len(fine)
