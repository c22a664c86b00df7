"""The knowledge base over REST on a real server: admin CRUD, imports, "try a question",
status, the demo seed at start-up, and who is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from server.assistant.retrieval_eval import DEMO_KB
from server.config import Settings
from server.core.models import AgentRole
from tests.e2e.routing_support import eventually
from tests.support import RunningServer, agent_token, start_server

API = "/api/v1/knowledge"
REFUND = (DEMO_KB / "refund-policy.md").read_text()


@pytest_asyncio.fixture
async def admin(server: RunningServer) -> AsyncIterator[aiohttp.ClientSession]:
    _, token = await agent_token(server, role=AgentRole.ADMIN)
    async with aiohttp.ClientSession(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        yield http


async def call(
    http: aiohttp.ClientSession, method: str, path: str, **kwargs: Any
) -> tuple[int, Any]:
    async with http.request(method, path, **kwargs) as response:
        return response.status, await response.json()


async def test_admin_crud(admin: aiohttp.ClientSession) -> None:
    status, body = await call(admin, "POST", f"{API}/articles", json={
        "body": REFUND, "source_url": "https://help.example/refunds", "tags": ["billing"]})  # fmt: skip
    assert status == 201, body
    article, index = body["data"]["article"], body["data"]["index"]
    assert (article["slug"], article["title"], article["index_status"]) == (
        "refund-policy",
        "Refund policy",
        "indexed",
    )
    assert index["chunks_embedded"] == [0, 1, 2] and len(article["chunks"]) == 3

    status, body = await call(admin, "GET", f"{API}/articles/refund-policy")
    assert status == 200 and body["data"]["article"]["body"].startswith("# Refund policy")

    await call(admin, "POST", f"{API}/articles", json={"title": "Opening hours", "body": "9 to 5."})
    status, body = await call(admin, "GET", f"{API}/articles", params={"q": "refund"})
    assert status == 200 and [a["slug"] for a in body["data"]["articles"]] == ["refund-policy"]
    status, body = await call(admin, "GET", f"{API}/articles", params={"limit": "1"})
    assert [a["slug"] for a in body["data"]["articles"]] == ["opening-hours"]
    assert body["data"]["next_offset"] == 1 and body["data"]["articles"][0]["chunk_count"] == 1

    edited = REFUND.replace("5 to 10 business days", "3 to 7 business days")
    status, body = await call(admin, "PUT", f"{API}/articles/refund-policy", json={"body": edited})
    assert status == 200, body
    assert body["data"]["index"]["chunks_embedded"] == [2]
    assert body["data"]["index"]["chunks_reused"] == [0, 1]

    status, body = await call(admin, "DELETE", f"{API}/articles/refund-policy")
    assert status == 200 and body["data"] == {"deleted": "refund-policy"}
    status, body = await call(admin, "GET", f"{API}/articles/refund-policy")
    assert status == 404 and body["error"]["code"] == "not_found"


async def test_import_try_a_question_and_status(admin: aiohttp.ClientSession) -> None:
    form = aiohttp.FormData()
    form.add_field(
        "file", REFUND.encode(), filename="refund-policy.md", content_type="text/markdown"
    )
    form.add_field("file", b"<h1>Reset your password</h1><p>Use the Forgot password link.</p>",
                   filename="reset-password.html", content_type="text/html")  # fmt: skip
    form.add_field("file", b"binary", filename="logo.png", content_type="image/png")
    status, body = await call(admin, "POST", f"{API}/import", data=form)
    assert status == 200, body
    assert body["data"]["counts"] == {"created": 2, "error": 1}
    assert body["data"]["items"][2]["message"].startswith("unsupported file type .png")

    status, body = await call(
        admin, "POST", f"{API}/ask", json={"question": "how long do card refunds take?"}
    )
    assert status == 200, body
    answer = body["data"]
    assert answer["handoff"] is False and answer["mode"] == "extractive"
    assert answer["citations"][0]["slug"] == "refund-policy" and "> " in answer["answer"]
    assert answer["retrieval"]["articles"][0]["slug"] == "refund-policy"
    assert answer["retrieval"]["threshold"] == 0.5 and answer["usage"]["llm_calls"] == 0
    assert answer["retrieval"]["calibrated"] is False
    # Two articles are too few for a z-score: the neutral specificity, 3, adds 0.06 x 3.
    retrieval = answer["retrieval"]
    assert retrieval["specificity"] == 3.0
    assert retrieval["score"] == pytest.approx(retrieval["top_score"] + 0.18, abs=1e-3)
    assert retrieval["unknown_name"] is None
    # A question about money that the refund policy's passages answer: no evidence missing.
    assert retrieval["missing_evidence"] is None

    # A question about a platform neither article names: handed over, and it says why.
    status, body = await call(
        admin, "POST", f"{API}/ask", json={"question": "can I reset my password in the iphone app"}
    )
    assert status == 200, body
    platform = body["data"]["retrieval"]
    assert platform["articles"][0]["slug"] == "reset-password"
    assert platform["missing_evidence"] == "platform" and body["data"]["handoff"] is True
    assert platform["score"] == pytest.approx(platform["top_score"] + 0.18 - 0.5, abs=1e-3)

    # Writing asked of the assistant is no support answer: handed over, and it says why.
    status, body = await call(
        admin, "POST", f"{API}/ask", json={"question": "write me a poem about refunds"}
    )
    assert status == 200, body
    assert body["data"]["retrieval"]["missing_evidence"] == "writing"
    assert body["data"]["handoff"] is True

    # A name neither article mentions costs the decline score 0.5: handed over.
    status, body = await call(
        admin, "POST", f"{API}/ask", json={"question": "how do I reset my Netflix password?"}
    )
    assert status == 200, body
    named = body["data"]["retrieval"]
    assert named["unknown_name"] == "netflix" and body["data"]["handoff"] is True
    assert named["score"] == pytest.approx(named["top_score"] + 0.18 - 0.5, abs=1e-3)

    status, body = await call(admin, "POST", f"{API}/calibrate", json={})
    assert status == 200, body
    calibrated = body["data"]
    assert calibrated["calibrated"] is True and calibrated["method"] == "headings"
    assert 0.50 <= calibrated["threshold"] <= 0.57 and calibrated["out_of_scope"] == 24
    status, body = await call(
        admin, "POST", f"{API}/ask", json={"question": "how long do card refunds take?"}
    )
    assert body["data"]["retrieval"]["calibrated"] is True
    assert body["data"]["retrieval"]["threshold"] == calibrated["threshold"]
    status, body = await call(admin, "POST", f"{API}/calibrate", json={"reset": True})
    assert (status, body["data"]) == (200, {"threshold": 0.5, "calibrated": False})

    status, body = await call(admin, "POST", f"{API}/ask", json={"question": "best pizza recipe?"})
    assert body["data"]["handoff"] is True and body["data"]["citations"] == []

    status, body = await call(admin, "GET", f"{API}/status")
    assert status == 200
    data = body["data"]
    assert data["embedding_model"] == "all-MiniLM-L6-v2-int8" and data["dimensions"] == 384
    assert data["llm"] == {"configured": False, "model": None, "breaker": None}
    assert data["articles"] == [
        {"index_status": "indexed", "embedding_model": "all-MiniLM-L6-v2-int8", "n": 2}
    ]
    assert data["chunks"] == {"all-MiniLM-L6-v2-int8": 4} and data["needs_index"] == []


async def test_bad_input_is_a_clear_4xx(admin: aiohttp.ClientSession) -> None:
    cases = [
        ("POST", f"{API}/articles", {"json": {"body": "x", "colour": "red"}}, 400, "unknown_field"),
        ("POST", f"{API}/articles", {"json": {"title": "No body"}}, 422, "validation_failed"),
        (
            "POST",
            f"{API}/articles",
            {"json": {"slug": "Bad Slug", "body": "x"}},
            422,
            "validation_failed",
        ),
        (
            "POST",
            f"{API}/articles",
            {"json": {"body": "no title, no slug"}},
            422,
            "validation_failed",
        ),
        (
            "POST",
            f"{API}/articles",
            {"data": b"{nope", "headers": {"Content-Type": "application/json"}},
            400,
            "bad_request",
        ),
        ("PUT", f"{API}/articles/missing", {"json": {"body": "x"}}, 404, "not_found"),
        ("DELETE", f"{API}/articles/missing", {}, 404, "not_found"),
        ("POST", f"{API}/import", {"json": {"file": "x"}}, 400, "bad_request"),
        ("POST", f"{API}/ask", {"json": {"question": ""}}, 422, "validation_failed"),
        ("POST", f"{API}/calibrate", {"json": {"reset": "yes"}}, 422, "validation_failed"),
        ("GET", f"{API}/articles?limit=0", {}, 422, "validation_failed"),
    ]
    for method, path, kwargs, expected, code in cases:
        status, body = await call(admin, method, path, **kwargs)
        assert (status, body["error"]["code"]) == (expected, code), (method, path, body)
    await call(admin, "POST", f"{API}/articles", json={"title": "Hours", "body": "9 to 5."})
    status, body = await call(
        admin, "POST", f"{API}/articles", json={"title": "Hours", "body": "x"}
    )
    assert status == 409 and body["error"]["code"] == "conflict"


async def test_agents_and_customers_are_refused(server: RunningServer) -> None:
    _, agent = await agent_token(server)
    async with aiohttp.ClientSession(base_url=server.url) as http:
        visitor = (await (await http.post("/api/v1/visitors")).json())["data"]["visitor_token"]
        routes = [("GET", f"{API}/articles"), ("GET", f"{API}/articles/x"), ("POST", f"{API}/articles"),
                  ("PUT", f"{API}/articles/x"), ("DELETE", f"{API}/articles/x"),
                  ("POST", f"{API}/import"), ("POST", f"{API}/ask"), ("POST", f"{API}/calibrate"),
                  ("GET", f"{API}/status")]  # fmt: skip
        for method, path in routes:
            for token, expected in ((agent, 403), (visitor, 403), (None, 401)):
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                status, body = await call(http, method, path, headers=headers, json={"body": "x"})
                assert status == expected, (method, path, token is agent, body)


async def test_an_empty_knowledge_base_is_seeded_with_the_demo_after_start(
    settings: Settings,
) -> None:
    running = await start_server(settings.with_overrides(kb_seed_demo=True))
    try:
        _, token = await agent_token(running, role=AgentRole.ADMIN)
        async with aiohttp.ClientSession(
            base_url=running.url, headers={"Authorization": f"Bearer {token}"}
        ) as http:

            async def seeded() -> dict | None:
                # Serving started at once; the seed runs in the background.
                _, body = await call(http, "GET", f"{API}/status")
                return body if body["data"]["upkeep"]["state"] in ("done", "failed") else None

            body = await eventually(seeded, timeout=90)
            upkeep = body["data"]["upkeep"]
            assert upkeep["state"] == "done" and upkeep["seeded_articles"] == 35, upkeep
            assert body["data"]["chunks"] == {"all-MiniLM-L6-v2-int8": 109}
    finally:
        await running.stop()
