"""PARLEY_LOG_FORMAT=json: one JSON object per line, with the ids of what the line is about."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import aiohttp
import pytest

from server.config import load_settings
from server.observability.logs import JsonFormatter, configure_logging
from tests.support import RunningServer, agent, agent_token


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The server's log records, formatted as PARLEY_LOG_FORMAT=json formats them."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("test-1"))
    logger = logging.getLogger("server")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield out
    logger.removeHandler(handler)
    logger.setLevel(level)


def _records(out: io.StringIO, containing: str) -> list[dict[str, object]]:
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    return [r for r in records if containing in str(r["message"])]


async def test_log_lines_carry_request_connection_conversation_and_agent_ids(
    server: RunningServer, json_lines: io.StringIO
) -> None:
    agent_id, token = await agent_token(server, name="Robin")
    missing = str(uuid.uuid4())
    headers = {"Authorization": f"Bearer {token}", "X-Request-Id": "req-123"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(f"{server.url}/api/v1/conversations/{missing}") as response:
            assert response.status == 404
            assert response.headers["X-Request-Id"] == "req-123"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/api/v1/conversations/{missing}") as response:
            assert response.status == 401
            generated = response.headers["X-Request-Id"]
    assert len(generated) == 32 and generated != "req-123"

    staff = await agent(server.url, token)
    refused = await staff.call(
        "send_message", {"conversation_id": missing, "client_id": "a-1", "body": "hi"}
    )
    assert refused["ok"] is False
    await staff.close()

    [rest] = _records(json_lines, f"GET /api/v1/conversations/{missing} refused: not_found")
    assert rest["request_id"] == "req-123"
    assert rest["agent_id"] == str(agent_id)
    assert rest["conversation_id"] == missing
    assert rest["level"] == "DEBUG" and rest["instance"] == "test-1"
    assert "connection_id" not in rest
    [anonymous] = _records(json_lines, "refused: unauthorized")
    assert anonymous["request_id"] == generated
    assert "agent_id" not in anonymous  # nothing leaks from the previous request
    [socket] = _records(json_lines, "send_message refused")
    assert socket["agent_id"] == str(agent_id)
    assert socket["conversation_id"] == missing
    assert str(socket["connection_id"]).count(":") == 1
    # The HTTP request that carries the socket's traffic, not one of the requests before it.
    assert socket["request_id"] not in ("req-123", generated)


def test_plain_is_the_default_and_json_is_one_object_per_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert load_settings(environ={}).log_format == "plain"
    root = logging.getLogger()
    kept = (root.handlers[:], root.level)
    try:
        configure_logging("INFO", "json", "host:1")
        logging.getLogger("server.x").info("two\nlines")
        configure_logging("INFO", "plain")
        logging.getLogger("server.x").info("plain one")
    finally:
        root.handlers[:], _ = kept[0], root.setLevel(kept[1])
    lines = capsys.readouterr().err.splitlines()
    assert json.loads(lines[0]) | {"time": "t"} == {
        "time": "t",
        "level": "INFO",
        "logger": "server.x",
        "message": "two\nlines",
        "instance": "host:1",
    }
    assert lines[1].endswith("INFO server.x: plain one")
    assert len(lines) == 2
