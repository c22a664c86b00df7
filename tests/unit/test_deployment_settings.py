"""Deployment settings: which database URLs go through a transaction-mode pooler, and the
Supabase options that are checked when read."""

from __future__ import annotations

import pytest

from server.config import ConfigError, load_settings
from server.store.pooler import resolve_pooler

SUPABASE = "postgresql://postgres.abc:pw@aws-0-eu-central-1.pooler.supabase.com"


@pytest.mark.parametrize(
    ("dsn", "mode", "expected"),
    [
        (f"{SUPABASE}:6543/postgres", "auto", (f"{SUPABASE}:6543/postgres", True)),
        (f"{SUPABASE}:5432/postgres", "auto", (f"{SUPABASE}:5432/postgres", False)),
        (
            "postgresql://db.abc.supabase.co/postgres",
            "auto",
            ("postgresql://db.abc.supabase.co/postgres", False),
        ),
        (
            "postgresql://u@h:6432/d?pgbouncer=true&sslmode=require",
            "auto",
            ("postgresql://u@h:6432/d?sslmode=require", True),
        ),
        ("postgresql://u@h:6432/d?pgbouncer=false", "auto", ("postgresql://u@h:6432/d", False)),
        ("postgresql://u@h1:6543,h2:6543/d", "auto", ("postgresql://u@h1:6543,h2:6543/d", True)),
        ("postgresql://u@h1:6543,h2:5432/d", "auto", ("postgresql://u@h1:6543,h2:5432/d", False)),
        ("postgresql://u@[::1]:6543/d", "auto", ("postgresql://u@[::1]:6543/d", True)),
        ("postgresql://u@[::1]/d", "auto", ("postgresql://u@[::1]/d", False)),
        (f"{SUPABASE}:6543/postgres", "none", (f"{SUPABASE}:6543/postgres", False)),
        ("postgresql://u@h:6432/d", "transaction", ("postgresql://u@h:6432/d", True)),
    ],
)
def test_resolve_pooler(dsn: str, mode: str, expected: tuple[str, bool]) -> None:
    assert resolve_pooler(dsn, mode) == expected


def test_the_setting_is_read_and_checked() -> None:
    assert load_settings(environ={}).db_pooler == "auto"
    assert load_settings(environ={"PARLEY_DB_POOLER": "transaction"}).db_pooler == "transaction"
    with pytest.raises(ConfigError, match="PARLEY_DB_POOLER"):
        load_settings(environ={"PARLEY_DB_POOLER": "session"})
    with pytest.raises(ValueError, match="pooler mode"):
        resolve_pooler("postgresql://h/d", "session")


def test_the_optional_admin_read_claim() -> None:
    assert load_settings(environ={}).supabase_admin_claim is None
    on = load_settings(environ={"PARLEY_SUPABASE_ADMIN_READ": "true"})
    assert on.supabase_admin_claim == ("app_metadata", "parley_role")
    custom = {
        "PARLEY_SUPABASE_ADMIN_READ": "1",
        "PARLEY_SUPABASE_ROLE_CLAIM": "app_metadata.team.role",
    }
    assert load_settings(environ=custom).supabase_admin_claim == ("app_metadata", "team", "role")
    with pytest.raises(ConfigError, match="PARLEY_SUPABASE_ROLE_CLAIM"):
        load_settings(environ={"PARLEY_SUPABASE_ROLE_CLAIM": "x'}; drop table agents; --"})
