"""GET /metrics: Prometheus text behind a token, moved by real traffic, labelled by instance."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from server.config import Settings
from tests.e2e.assistant_support import PASSWORD_QUESTION, an_answer, ask, assistant_server
from tests.e2e.routing_support import eventually, online_agent, waiting_customer
from tests.fake_openai import FakeOpenAI, Reply
from tests.support import RunningServer, start_server

TOKEN = "metrics-token-0123456789"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest_asyncio.fixture
async def watched(settings: Settings) -> AsyncIterator[RunningServer]:
    running = await start_server(settings.with_overrides(metrics_token=TOKEN, instance="test-1"))
    yield running
    await running.stop()


async def scrape(server: RunningServer, token: str = TOKEN) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(f"{server.url}/metrics") as response:
            return response.status, await response.text()


async def samples(server: RunningServer) -> Samples:
    status, text = await scrape(server)
    assert status == 200, text
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            assert sample.labels.get("instance") == "test-1", sample
            labels = frozenset((k, v) for k, v in sample.labels.items() if k != "instance")
            found[(sample.name, labels)] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_move_with_real_traffic(watched: RunningServer) -> None:
    assert (await scrape(watched, token="wrong-token-0123456789"))[0] == 401
    before = await samples(watched)
    assert value(before, "parley_messages_posted_total", sender="customer") == 0

    cust, conversation_id = await waiting_customer(watched, name="Casey")
    _, _, staff = await online_agent(watched, "Robin")
    await staff.log.wait_for("assigned", count=1)
    await staff.ok("join", {"conversation_id": conversation_id})
    for n in (1, 2):
        await cust.ok(
            "send_message",
            {"conversation_id": conversation_id, "client_id": f"c-{n}", "body": f"hello {n}"},
        )
    await staff.ok(
        "send_message", {"conversation_id": conversation_id, "client_id": "a-1", "body": "hi"}
    )
    refused = await cust.call("send_message", {"conversation_id": conversation_id, "body": 42})
    assert refused["ok"] is False
    await staff.log.wait_for("message", count=3)
    await cust.log.wait_for("message", count=3)

    found = await samples(watched)
    assert value(found, "parley_messages_posted_total", sender="customer") == 2
    assert value(found, "parley_messages_posted_total", sender="agent") == 1
    assert value(found, "parley_messages_delivered_total", namespace="/customer") == 3
    assert value(found, "parley_messages_delivered_total", namespace="/agent") == 3
    assert value(found, "parley_message_delivery_seconds_count") == 6
    assert value(found, "parley_socket_acks_total", event="send_message", code="ok") == 3
    assert (
        value(
            found, "parley_socket_acks_total", event="send_message", code=refused["error"]["code"]
        )
        == 1
    )
    assert value(found, "parley_connections", namespace="/customer") == 1
    assert value(found, "parley_connections", namespace="/agent") == 1
    assert value(found, "parley_assignments_total", kind="assigned") == 1
    assert value(found, "parley_queue_wait_seconds_count", team="support") == 1
    assert value(found, "parley_db_pool_size") >= 1
    assert value(found, "parley_redis_publish_backlog") >= 0
    await eventually(lambda: _queue_empty(watched))
    # The loop-lag probe runs every quarter second for as long as the app does.
    await eventually(lambda: _lag_probed(watched))

    await cust.close()
    found = await eventually(lambda: _customers_gone(watched))
    assert value(found, "parley_connections", namespace="/agent") == 1
    await staff.close()


async def _queue_empty(server: RunningServer) -> bool:
    found = await samples(server)
    return ("parley_queue_length", frozenset({("team", "support")})) in found and value(
        found, "parley_queue_length", team="support"
    ) == 0


async def _lag_probed(server: RunningServer) -> bool:
    return value(await samples(server), "parley_event_loop_lag_seconds_count") >= 1


async def _customers_gone(server: RunningServer) -> Samples | None:
    found = await samples(server)
    return found if value(found, "parley_connections", namespace="/customer") == 0 else None


async def test_metrics_are_off_without_a_token(server: RunningServer) -> None:
    status, text = await scrape(server)
    assert status == 404
    assert '"not_found"' in text


@pytest_asyncio.fixture
async def watched_assistant(
    settings: Settings, fake_openai: FakeOpenAI
) -> AsyncIterator[RunningServer]:
    running = await assistant_server(
        settings, openai_api_key="test-key", openai_base_url=fake_openai.base_url,
        assistant_timeout_seconds=2.0, assistant_retries=0, metrics_token=TOKEN, instance="test-1",
    )  # fmt: skip
    yield running
    await running.stop()


async def test_assistant_answers_model_calls_and_hand_overs_are_counted(
    watched_assistant: RunningServer, fake_openai: FakeOpenAI
) -> None:
    fake_openai.default = Reply("Click **Forgot password?** on the sign-in page [1].", piece=6)
    found = await samples(watched_assistant)
    assert value(found, "parley_model_breaker_state", state="closed") == 1
    assert value(found, "parley_model_breaker_state", state="open") == 0

    cust, conversation_id = await waiting_customer(watched_assistant)
    await ask(cust, conversation_id, PASSWORD_QUESTION)
    await cust.log.wait_for("message", an_answer, timeout=10)
    found = await samples(watched_assistant)
    assert value(found, "parley_assistant_outcomes_total", outcome="answered") == 1
    assert value(found, "parley_messages_posted_total", sender="assistant") == 1
    assert value(found, "parley_model_seconds_count") == 1
    assert value(found, "parley_model_tokens_total", kind="prompt") > 0
    assert value(found, "parley_model_tokens_total", kind="completion") > 0

    _, _, staff = await online_agent(watched_assistant, "Robin")
    await staff.log.wait_for("assigned", count=1)
    found = await samples(watched_assistant)
    assert value(found, "parley_assistant_outcomes_total", outcome="handed_over") == 1
    assert value(found, "parley_assignments_total", kind="assigned") == 1
    await cust.close()
    await staff.close()
