"""The independent client's walk through quick responses and the admin API, route by route,
with the exact fields and status codes docs/protocol.md gives."""

from __future__ import annotations

import csv
import io
import uuid

import aiohttp

from server.core.models import AgentRole
from tests.e2e.wire_client import AGENT, WireClient, error_of, is_uuid, rest, send, sign_in
from tests.support import Servers

QUICK_RESPONSE = {
    "id", "scope", "team_id", "owner_agent_id", "shortcut", "title", "body", "created_at",
    "updated_at",
}  # fmt: skip
ADMIN_AGENT = AGENT | {"team_ids", "load", "capacity", "status"}
TEAM = {"id", "slug", "name", "is_default", "settings", "created_at", "member_ids"}
WIDGET_FIELDS = {
    "color", "position", "greeting", "team_name", "prechat_name", "prechat_email",
    "business_hours", "timezone", "hours_text", "language", "allowed_origins",
}  # fmt: skip
REPORT_ROW = {
    "day", "team_id", "team", "conversations", "assigned", "resolved", "wait_avg", "wait_median",
    "first_response_avg", "resolution_avg", "assistant_resolved", "handovers",
}  # fmt: skip
AUDIT_ENTRY = {
    "id", "actor_id", "actor_name", "action", "target_kind", "target_id", "details", "created_at",
}  # fmt: skip


async def test_quick_responses_as_documented(servers: Servers) -> None:
    server = await servers.start()
    api = f"{server.url}/api/v1/quick-responses"
    admin = await sign_in(server, AgentRole.ADMIN)
    agent = await sign_in(server)
    other = await sign_in(server)

    status, _, body = await rest(
        "POST", api, agent["token"], {"shortcut": "/Refund", "title": "Refund", "body": "Hi {{x}}"}
    )
    assert status == 201 and set(body["data"]) == {"quick_response"}
    mine = body["data"]["quick_response"]
    assert set(mine) == QUICK_RESPONSE and is_uuid(mine["id"])
    assert (mine["scope"], mine["shortcut"], mine["owner_agent_id"], mine["team_id"]) == (
        "personal",
        "refund",
        agent["agent"]["id"],
        None,
    )
    status, _, body = await rest(
        "POST", api, agent["token"], {"shortcut": "refund", "title": "Again", "body": "b"}
    )
    conflict = error_of(status, body, 409, "conflict")
    assert conflict["message"] == (
        "the shortcut /refund is already used in this scope; choose another"
    )
    # Another agent's personal scope is another scope.
    status, _, body = await rest(
        "POST", api, other["token"], {"shortcut": "refund", "title": "Theirs", "body": "b"}
    )
    assert status == 201
    theirs = body["data"]["quick_response"]
    status, _, body = await rest(
        "POST", api, agent["token"], {"shortcut": "g", "title": "G", "body": "b", "scope": "global"}
    )
    error_of(status, body, 403, "forbidden")
    status, _, body = await rest(
        "POST", api, admin["token"], {"shortcut": "t", "title": "T", "body": "b", "scope": "team"}
    )
    error_of(status, body, 422, "validation_failed")  # a team scope without team_id
    status, _, body = await rest(
        "POST",
        api,
        admin["token"],
        {"shortcut": "g", "title": "G", "body": "b", "team_id": str(uuid.uuid4())},
    )
    error_of(status, body, 422, "validation_failed")  # a team_id with another scope
    status, _, body = await rest(
        "POST", api, agent["token"], {"shortcut": "no spaces", "title": "T", "body": "b"}
    )
    error_of(status, body, 422, "validation_failed")
    status, _, body = await rest(
        "POST",
        api,
        admin["token"],
        {"shortcut": "hello", "title": "Greeting", "body": "Hello!", "scope": "global"},
    )
    assert status == 201
    shared = body["data"]["quick_response"]

    status, _, body = await rest("GET", api, agent["token"])
    assert status == 200 and set(body["data"]) == {"quick_responses"}
    assert {q["id"] for q in body["data"]["quick_responses"]} == {mine["id"], shared["id"]}
    status, _, body = await rest("GET", f"{api}?q=greet", agent["token"])
    assert [q["id"] for q in body["data"]["quick_responses"]] == [shared["id"]]
    # The admin's list: global and team ones and the admin's own, never others' personal ones.
    admin_list = f"{server.url}/api/v1/admin/quick-responses"
    status, _, body = await rest("GET", admin_list, admin["token"])
    assert status == 200 and [q["id"] for q in body["data"]["quick_responses"]] == [shared["id"]]
    status, _, body = await rest("GET", f"{admin_list}?scope=team", admin["token"])
    assert body["data"]["quick_responses"] == []

    edit = {"shortcut": "refund", "title": "Refunds", "body": "Sorry {{customer.first_name}}"}
    status, _, body = await rest("PUT", f"{api}/{mine['id']}", agent["token"], edit)
    assert status == 200 and body["data"]["quick_response"]["title"] == "Refunds"
    # Another agent's personal quick response is 404 to everyone, admins included.
    for token in (other["token"], admin["token"]):
        status, _, body = await rest("PUT", f"{api}/{mine['id']}", token, edit)
        error_of(status, body, 404, "not_found")
    status, _, body = await rest("DELETE", f"{api}/{shared['id']}", agent["token"])
    error_of(status, body, 403, "forbidden")
    status, _, body = await rest("DELETE", f"{api}/{theirs['id']}", other["token"])
    assert status == 200 and body["ok"] is True
    status, _, body = await rest("DELETE", f"{api}/{theirs['id']}", other["token"])
    error_of(status, body, 404, "not_found")

    # Every change is in the audit log.
    status, _, body = await rest(
        "GET", f"{server.url}/api/v1/admin/audit-log?action=quick_response.", admin["token"]
    )
    entries = body["data"]["entries"]
    assert len(entries) == 5 and all(e["action"].startswith("quick_response.") for e in entries)


async def test_the_admin_api_route_by_route(servers: Servers) -> None:
    server = await servers.start()
    api = f"{server.url}/api/v1/admin"
    signed_in = await sign_in(server, AgentRole.ADMIN)
    admin, admin_id = signed_in["token"], signed_in["agent"]["id"]

    status, _, body = await rest("GET", f"{api}/agents", admin)
    assert status == 200 and set(body["data"]) == {"agents"}
    [me] = body["data"]["agents"]
    assert set(me) == ADMIN_AGENT and me["id"] == admin_id

    status, _, body = await rest("GET", f"{api}/teams", admin)
    assert status == 200 and set(body["data"]) == {"teams"}
    [support] = body["data"]["teams"]
    assert set(support) == TEAM | {"waiting"} and support["member_ids"] == [admin_id]
    assert (support["slug"], support["is_default"], support["waiting"]) == ("support", True, 0)

    new = {"email": "kim@example.test", "display_name": "Kim", "team_ids": [support["id"]]}
    status, _, body = await rest("POST", f"{api}/agents", admin, new)
    assert status == 201 and set(body["data"]) == {"agent", "generated_password"}
    kim = body["data"]["agent"]
    assert set(kim) >= AGENT and kim["team_ids"] == [support["id"]] and kim["role"] == "agent"
    password = body["data"]["generated_password"]
    assert isinstance(password, str) and password
    # The generated password signs the new agent in.
    status, _, body = await rest(
        "POST",
        f"{server.url}/api/v1/auth/login",
        None,
        {"email": new["email"], "password": password},
    )
    assert status == 200
    kim_token = body["data"]["token"]
    status, _, body = await rest("POST", f"{api}/agents", admin, new)
    error_of(status, body, 409, "conflict")
    weak = {"email": "lee@example.test", "display_name": "Lee", "password": "short"}
    status, _, body = await rest("POST", f"{api}/agents", admin, weak)
    assert error_of(status, body, 422, "validation_failed")["details"] == {"field": "password"}
    unknown_team = {
        "email": "lee@example.test",
        "display_name": "Lee",
        "team_ids": [str(uuid.uuid4())],
    }
    status, _, body = await rest("POST", f"{api}/agents", admin, unknown_team)
    error_of(status, body, 422, "validation_failed")

    status, _, body = await rest("PATCH", f"{api}/agents/{kim['id']}", admin, {"max_chats": 3})
    assert status == 200 and set(body["data"]) == {"agent"}
    assert body["data"]["agent"]["max_chats"] == 3
    # Deactivated: gone from the directory, its tokens refused, also after a reactivation.
    kim_url = f"{api}/agents/{kim['id']}"
    status, _, body = await rest("PATCH", kim_url, admin, {"is_active": False})
    assert status == 200 and body["data"]["agent"]["is_active"] is False
    status, _, body = await rest("GET", f"{server.url}/api/v1/directory", admin)
    assert [a["id"] for a in body["data"]["agents"]] == [admin_id]
    status, _, body = await rest("PATCH", kim_url, admin, {"is_active": True})
    assert status == 200 and body["data"]["agent"]["is_active"] is True
    status, _, body = await rest("GET", f"{server.url}/api/v1/me", kim_token)
    error_of(status, body, 401, "unauthorized")
    status, _, body = await rest("GET", f"{server.url}/api/v1/directory", admin)
    assert {a["id"] for a in body["data"]["agents"]} == {admin_id, kim["id"]}
    for change in ({"is_active": False}, {"role": "agent"}):
        status, _, body = await rest("PATCH", f"{api}/agents/{admin_id}", admin, change)
        error_of(status, body, 409, "conflict")
    status, _, body = await rest("PATCH", f"{api}/agents/{uuid.uuid4()}", admin, {"max_chats": 1})
    error_of(status, body, 404, "not_found")

    status, _, body = await rest("POST", f"{api}/agents/{kim['id']}/password-reset", admin)
    assert status == 201 and set(body["data"]) == {"token", "path", "expires_at"}
    link = body["data"]
    assert link["path"] == f"/console/#/reset-password?token={link['token']}"
    assert link["expires_at"].endswith("Z")  # a timestamp, as every other
    status, _, body = await rest(
        "POST",
        f"{server.url}/api/v1/auth/password-reset",
        None,
        {"token": link["token"], "new_password": "a much better passphrase"},
    )
    assert status == 200 and body["data"] == {"email": new["email"]}
    status, _, body = await rest(
        "POST",
        f"{server.url}/api/v1/auth/password-reset",
        None,
        {"token": link["token"], "new_password": "another good passphrase"},
    )
    error_of(status, body, 401, "unauthorized")  # a link works once
    status, _, body = await rest("POST", f"{api}/agents/{kim['id']}/unlock", admin)
    assert status == 200 and set(body["data"]) == {"agent"}
    assert body["data"]["agent"]["id"] == kim["id"]

    status, _, body = await rest(
        "POST", f"{api}/teams", admin, {"slug": "billing", "name": "Billing"}
    )
    assert status == 201 and set(body["data"]) == {"team"}
    billing = body["data"]["team"]
    assert set(billing) >= TEAM and billing["slug"] == "billing"
    status, _, body = await rest("POST", f"{api}/teams", admin, {"slug": "billing", "name": "B"})
    error_of(status, body, 409, "conflict")
    # Names are trimmed; one left empty is 422, and so is a NUL in any string.
    status, _, body = await rest("POST", f"{api}/teams", admin, {"slug": "sales", "name": "   "})
    error_of(status, body, 422, "validation_failed")
    status, _, body = await rest(
        "POST", f"{api}/agents", admin, {"email": "a\u0000@example.test", "display_name": "A"}
    )
    assert error_of(status, body, 422, "validation_failed")["message"].endswith("- at `$.email`")
    status, _, body = await rest(
        "PATCH", f"{api}/agents/{kim['id']}", admin, {"display_name": "  Kim Lee  "}
    )
    assert body["data"]["agent"]["display_name"] == "Kim Lee"
    team_url = f"{api}/teams/{billing['id']}"
    for settings, field in (
        ({"bogus": 1}, "bogus"),
        ({"unanswered_seconds": 86401}, "unanswered_seconds"),
        ({"assistant_mode": "sometimes"}, "assistant_mode"),
        ({"capacity_default": 1001}, "capacity_default"),
    ):
        status, _, body = await rest("PATCH", team_url, admin, {"settings": settings})
        assert field in error_of(status, body, 422, "validation_failed")["message"], body
    wanted = {"mode": "manual", "grace_seconds": 5, "unanswered_seconds": 0,
              "assistant_mode": "off", "capacity_default": 2}  # fmt: skip
    status, _, body = await rest("PATCH", f"{api}/teams/{uuid.uuid4()}", admin, {"name": "X"})
    error_of(status, body, 404, "not_found")
    for missing in ("password-reset", "unlock"):
        status, _, body = await rest("POST", f"{api}/agents/{uuid.uuid4()}/{missing}", admin)
        error_of(status, body, 404, "not_found")
    status, _, body = await rest("PATCH", team_url, admin, {"settings": wanted, "name": "Bills"})
    assert status == 200 and body["data"]["team"]["settings"] == wanted
    assert body["data"]["team"]["name"] == "Bills"

    status, _, body = await rest("GET", f"{api}/settings/widget", admin)
    assert status == 200 and set(body["data"]) == {"overrides", "defaults", "effective"}
    assert body["data"]["overrides"] == {}
    assert set(body["data"]["defaults"]) == set(body["data"]["effective"]) == WIDGET_FIELDS
    status, _, body = await rest(
        "PUT", f"{api}/settings/widget", admin, {"color": "#112233", "greeting": "Hi!"}
    )
    assert status == 200 and body["data"]["overrides"] == {"color": "#112233", "greeting": "Hi!"}
    assert body["data"]["effective"]["color"] == "#112233"
    status, _, widget = await rest("GET", f"{server.url}/api/v1/widget/settings")
    assert (widget["data"]["color"], widget["data"]["greeting"]) == ("#112233", "Hi!")
    status, _, body = await rest("PUT", f"{api}/settings/widget", admin, {"position": "top"})
    assert "position" in error_of(status, body, 422, "validation_failed")["message"]
    status, _, body = await rest("PUT", f"{api}/settings/widget", admin, {"color": "red"})
    assert "color" in error_of(status, body, 422, "validation_failed")["message"]

    # Reports: a conversation today, assigned to the admin and resolved.
    staff = await WireClient.open(server.url, "/agent", {"token": admin})
    visitor = await WireClient.open(server.url, "/customer", {})
    conversation_id = (await visitor.ok("start_conversation"))["conversation"]["id"]
    await staff.wait("assigned")
    await staff.ok("send_message", send(conversation_id, "a1", "Hello"))
    await staff.ok("resolve", {"conversation_id": conversation_id})
    status, _, body = await rest("GET", f"{api}/reports", admin)
    assert status == 200
    report = body["data"]
    assert set(report) == {"from", "to", "days", "rows", "totals", "handover_reasons"}
    assert set(report["totals"]) == REPORT_ROW - {"day", "team_id", "team", "wait_median"}
    rows = report["rows"]
    assert len(rows) == 1 and set(rows[0]) == REPORT_ROW, rows
    assert (rows[0]["conversations"], rows[0]["assigned"], rows[0]["resolved"]) == (1, 1, 1)
    assert (rows[0]["team_id"], rows[0]["team"]) == (support["id"], "Support")
    assert len(report["days"]) == 14  # the last 14 days by default
    status, _, body = await rest("GET", f"{api}/reports?from=2020-01-01&to=2026-01-01", admin)
    error_of(status, body, 422, "validation_failed")  # more than 366 days
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{api}/reports.csv", headers={"Authorization": f"Bearer {admin}"}) as response,
    ):
        assert response.status == 200 and response.content_type == "text/csv"
        table = list(csv.DictReader(io.StringIO(await response.text())))
    assert len(table) == 1 and table[0]["conversations"] == "1"

    status, _, body = await rest("GET", f"{api}/audit-log?limit=3", admin)
    assert status == 200 and set(body["data"]) == {"entries", "next_before_id"}
    entries = body["data"]["entries"]
    assert len(entries) == 3 and all(set(e) == AUDIT_ENTRY for e in entries)
    assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)
    assert entries[0]["action"] == "settings.widget.update" and entries[0]["actor_id"] == admin_id
    status, _, body = await rest(
        "GET", f"{api}/audit-log?limit=3&before_id={body['data']['next_before_id']}", admin
    )
    assert body["data"]["entries"][0]["id"] < entries[-1]["id"]
    status, _, body = await rest("GET", f"{api}/audit-log?action=agent.", admin)
    actions = {e["action"] for e in body["data"]["entries"]}
    assert {"agent.password_reset_link", "agent.password_reset", "agent.unlock"} <= actions
    assert all(a.startswith("agent.") for a in actions)
    status, _, body = await rest("GET", f"{api}/quick-responses", admin)
    assert status == 200 and body["data"] == {"quick_responses": []}
    await visitor.close()
    await staff.close()
