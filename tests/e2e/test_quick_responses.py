"""Quick responses over REST: scopes, who may manage which, unique shortcuts, the audit log."""

from __future__ import annotations

import json

import asyncpg

from server.core.models import AgentRole
from tests.e2e.console_support import signed_in
from tests.e2e.routing_support import add_team
from tests.support import RunningServer

QR = "/api/v1/quick-responses"


async def _audit(server: RunningServer) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        return await conn.fetch(
            "SELECT actor_id, actor_name, action, target_id, details FROM audit_log ORDER BY id"
        )
    finally:
        await conn.close()


async def test_scopes_permissions_and_audit(server: RunningServer) -> None:
    billing = await add_team(server, "billing", "Billing")
    async with (
        signed_in(server, role=AgentRole.ADMIN, name="Ada") as admin,
        signed_in(server, name="Sam") as sam,
        signed_in(server, name="Bea", teams=("billing",)) as bea,
    ):
        made = await admin.ok(
            "POST",
            QR,
            201,
            json={
                "scope": "global",
                "shortcut": "/Hello",
                "title": "Greeting",
                "body": "Hi {{customer.name}}, I'm {{agent.name}}.",
            },
        )
        greeting = made["quick_response"]
        assert greeting["shortcut"] == "hello" and greeting["scope"] == "global"
        await admin.ok(
            "POST",
            QR,
            201,
            json={
                "scope": "team",
                "team_id": str(billing),
                "shortcut": "refund",
                "title": "Refunds",
                "body": "Refunds take 5 days.",
            },
        )
        # The same shortcut in another scope is fine; in the same scope it is a clear 409.
        await sam.ok(
            "POST", QR, 201, json={"shortcut": "hello", "title": "My hello", "body": "Hey!"}
        )
        status, body = await admin.call(
            "POST", QR, json={"scope": "global", "shortcut": "HELLO", "title": "Again", "body": "x"}
        )
        assert (
            status == 409
            and body["error"]["code"] == "conflict"
            and "/hello" in body["error"]["message"]
        )

        # Agents may not write global or team ones, nor touch others'.
        status, body = await sam.call(
            "POST", QR, json={"scope": "global", "shortcut": "x", "title": "x", "body": "x"}
        )
        assert status == 403 and body["error"]["code"] == "forbidden"
        status, _ = await sam.call(
            "PUT",
            f"{QR}/{greeting['id']}",
            json={"scope": "global", "shortcut": "hello", "title": "Mine now", "body": "x"},
        )
        assert status == 403
        status, _ = await sam.call("DELETE", f"{QR}/{greeting['id']}")
        assert status == 403
        status, _ = await sam.call("GET", "/api/v1/admin/quick-responses")
        assert status == 403

        # Each agent sees global ones, their teams' and their own.
        sam_list = (await sam.ok("GET", QR))["quick_responses"]
        assert sorted((r["scope"], r["shortcut"]) for r in sam_list) == [
            ("global", "hello"),
            ("personal", "hello"),
        ]
        bea_list = (await bea.ok("GET", QR))["quick_responses"]
        assert sorted((r["scope"], r["shortcut"]) for r in bea_list) == [
            ("global", "hello"),
            ("team", "refund"),
        ]
        assert [
            r["shortcut"] for r in (await bea.ok("GET", f"{QR}?q=5 days"))["quick_responses"]
        ] == ["refund"]
        # Another agent's personal one does not exist for Bea.
        mine = next(r for r in sam_list if r["scope"] == "personal")
        status, _ = await bea.call("DELETE", f"{QR}/{mine['id']}")
        assert status == 404

        # Validation speaks clearly.
        status, body = await admin.call(
            "POST", QR, json={"scope": "team", "shortcut": "t", "title": "t", "body": "t"}
        )
        assert status == 422 and "team_id" in body["error"]["message"]
        status, body = await admin.call(
            "POST", QR, json={"shortcut": "no spaces", "title": "t", "body": "t"}
        )
        assert status == 422 and "shortcut" in body["error"]["message"]
        status, body = await admin.call(
            "POST", QR, json={"shortcut": "ok", "title": "t", "body": "t", "extra": 1}
        )
        assert status == 400 and body["error"]["code"] == "unknown_field"

        # Admin list and edits.
        listed = (await admin.ok("GET", "/api/v1/admin/quick-responses?scope=team"))[
            "quick_responses"
        ]
        assert [r["shortcut"] for r in listed] == ["refund"]
        edited = await admin.ok(
            "PUT",
            f"{QR}/{greeting['id']}",
            json={"scope": "global", "shortcut": "hi", "title": "Greeting", "body": "Hello!"},
        )
        assert edited["quick_response"]["shortcut"] == "hi"
        await admin.ok("DELETE", f"{QR}/{greeting['id']}")
        status, _ = await admin.call("DELETE", f"{QR}/{greeting['id']}")
        assert status == 404

    rows = await _audit(server)
    assert [r["action"] for r in rows] == [
        "quick_response.create",
        "quick_response.create",
        "quick_response.create",
        "quick_response.update",
        "quick_response.delete",
    ]
    update = rows[3]
    assert update["actor_name"] == "Ada" and update["target_id"] == greeting["id"]
    details = json.loads(update["details"])
    assert details["before"]["shortcut"] == "hello" and details["after"]["shortcut"] == "hi"
