"""A database that is unreachable or refuses Parley is reported in one line, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.embedded import EmbeddedPostgres
from tests.support import free_port


def _parley(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # not needed to fail
            "PARLEY_DATA_DIR": str(tmp_path),
            "PARLEY_ALLOWED_ORIGINS": "https://shop.example",
            "PARLEY_LOG_LEVEL": "WARNING",
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


COMMANDS = [("migrate",), ("agents", "list"), ("serve", "--port", "0")]


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("parley: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_nothing_listening_at_the_database_address(tmp_path: Path, command: tuple[str]) -> None:
    port = free_port()
    line = _one_line(_parley(tmp_path, f"postgresql://parley@127.0.0.1:{port}/parley", *command))
    assert line == (
        f"parley: cannot reach PostgreSQL at 127.0.0.1:{port} (DATABASE_URL): Connection refused"
    )


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_database_that_does_not_exist(
    tmp_path: Path, embedded_postgres: EmbeddedPostgres, command: tuple[str]
) -> None:
    missing = embedded_postgres.dsn.rsplit("/", 1)[0] + "/no_such_database"
    line = _one_line(_parley(tmp_path, missing, *command))
    assert line == (
        "parley: PostgreSQL refused the connection (DATABASE_URL): "
        'database "no_such_database" does not exist'
    )


def test_a_role_the_server_does_not_accept(
    tmp_path: Path, embedded_postgres: EmbeddedPostgres
) -> None:
    stranger = embedded_postgres.dsn.replace("postgresql://parley@", "postgresql://stranger@")
    line = _one_line(_parley(tmp_path, stranger, "migrate"))
    assert line.startswith("parley: PostgreSQL refused the connection (DATABASE_URL): ")
    assert '"stranger"' in line
