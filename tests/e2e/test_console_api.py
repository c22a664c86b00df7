"""What the agent console reads: load and capacity in whoami, the directory, conversation
summaries for the inbox, and the customer sidebar."""

from __future__ import annotations

import aiohttp

from tests.e2e.console_support import signed_in
from tests.e2e.routing_support import eventually, online_agent, waiting_customer
from tests.support import RunningServer, agent


async def test_whoami_reports_load_against_capacity(server: RunningServer) -> None:
    _, _, robin = await online_agent(server, "Robin", max_chats=3)
    try:
        me = await robin.ok("whoami")
        assert (me["load"], me["capacity"], me["role"]) == (0, 3, "agent")
        assert len(me["team_ids"]) == 1 and me["presence"]["status"] == "online"
        cust, conv = await waiting_customer(server, name="Casey")
        await robin.log.wait_for("assigned")
        assert (await robin.ok("whoami"))["load"] == 1
        await robin.ok("resolve", {"conversation_id": conv})
        assert (await robin.ok("whoami"))["load"] == 0
        await cust.close()
    finally:
        await robin.close()


async def test_directory_lists_colleagues_with_presence_and_teams(server: RunningServer) -> None:
    async with (
        signed_in(server, name="Sam") as sam,
        signed_in(server, name="Kim", max_chats=2) as kim,
    ):
        kim_socket = await agent(server.url, kim.token)  # type: ignore[attr-defined]
        try:

            async def online() -> dict:
                found = await sam.ok("GET", "/api/v1/directory")
                by_name = {a["display_name"]: a for a in found["agents"]}
                return found if by_name["Kim"]["status"] == "online" else {}

            data = await eventually(online)
            by_name = {a["display_name"]: a for a in data["agents"]}
            assert by_name["Sam"]["status"] == "offline"
            assert (by_name["Kim"]["load"], by_name["Kim"]["capacity"]) == (0, 2)
            assert [t["slug"] for t in data["teams"]] == ["support"]
            assert by_name["Kim"]["team_ids"] == [data["teams"][0]["id"]]
            assert "email" not in by_name["Kim"]
        finally:
            await kim_socket.close()


async def test_inbox_summaries_unread_waiting_and_read_state(server: RunningServer) -> None:
    _, token, robin = await online_agent(server, "Robin")
    try:
        cust, conv = await waiting_customer(
            server, name="Casey", email="casey@example.com", page_url="https://shop.example/cart"
        )
        await robin.log.wait_for("assigned")
        await cust.ok(
            "send_message", {"conversation_id": conv, "client_id": "c1", "body": "Hello?"}
        )
        await cust.ok(
            "send_message", {"conversation_id": conv, "client_id": "c2", "body": "Anyone there?"}
        )
        async with aiohttp.ClientSession(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}
        ) as http:
            async with http.get("/api/v1/conversations?assignee=me&status=open") as response:
                listed = (await response.json())["data"]["conversations"]
            assert [c["id"] for c in listed] == [conv]
            summary = listed[0]["summary"]
            assert (
                summary["customer"]["name"] == "Casey"
                and summary["customer"]["email"] == "casey@example.com"
            )
            assert summary["last_message"]["body"] == "Anyone there?" and summary["unread"] == 2
            assert (
                summary["waiting_since"] is not None and summary["customer_read_seq"] == 2
            )  # their own messages

            await robin.ok(
                "send_message", {"conversation_id": conv, "client_id": "r1", "body": "Here!"}
            )
            await cust.ok("mark_read", {"conversation_id": conv, "seq": 3})
            async with http.get(f"/api/v1/conversations/{conv}") as response:
                summary = (await response.json())["data"]["conversation"]["summary"]
            # The agent's own reply moved their read cursor; the customer read it.
            assert summary["unread"] == 0 and summary["waiting_since"] is None
            assert (
                summary["customer_read_seq"] == 3
                and summary["last_message"]["sender_kind"] == "agent"
            )

            async with http.get(f"/api/v1/conversations/{conv}/customer") as response:
                profile = (await response.json())["data"]
            assert (
                profile["customer"]["name"] == "Casey"
                and profile["customer"]["identity_verified"] is False
            )
            assert [c["id"] for c in profile["conversations"]] == [conv]

            # The assistant never had this one: no hand-over brief.
            async with http.get(f"/api/v1/conversations/{conv}/handover") as response:
                assert response.status == 200
                assert (await response.json())["data"]["handover"] is None
        await cust.close()
    finally:
        await robin.close()


async def test_customer_sidebar_is_as_private_as_the_conversation(server: RunningServer) -> None:
    cust, conv = await waiting_customer(server, name="Casey", team="support")
    async with signed_in(server, name="Other", teams=()) as outsider:
        status, body = await outsider.call("GET", f"/api/v1/conversations/{conv}/customer")
        assert status == 404 and body["error"]["code"] == "not_found"
    await cust.close()


async def test_handover_brief_is_as_private_as_the_conversation(server: RunningServer) -> None:
    cust, conv = await waiting_customer(server, name="Casey", team="support")
    async with signed_in(server, name="Other", teams=()) as outsider:
        status, body = await outsider.call("GET", f"/api/v1/conversations/{conv}/handover")
        assert status == 404 and body["error"]["code"] == "not_found"
        status, body = await outsider.call("GET", "/api/v1/conversations/not-a-uuid/handover")
        assert status in (400, 404, 422) and body["ok"] is False
    visitor_token = (await cust.ok("session"))["visitor_token"]
    async with aiohttp.ClientSession(
        base_url=server.url, headers={"Authorization": f"Bearer {visitor_token}"}
    ) as http:
        async with http.get(f"/api/v1/conversations/{conv}/handover") as response:
            assert (
                response.status == 403 and (await response.json())["error"]["code"] == "forbidden"
            )
    await cust.close()
