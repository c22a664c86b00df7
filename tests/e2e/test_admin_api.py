"""The admin REST API: the role check on every route, validation, the audit log, and that
changes take effect (routing settings, widget settings and origins, accounts)."""

from __future__ import annotations

import csv
import io

import aiohttp

from server.core.models import AgentRole
from tests.e2e.console_support import signed_in
from tests.e2e.routing_support import assignee, eventually, online_agent, waiting_customer
from tests.support import PASSWORD, RunningServer, login

A = "/api/v1/admin"

ADMIN_ROUTES = [
    ("GET", f"{A}/agents"),
    ("POST", f"{A}/agents"),
    ("PATCH", f"{A}/agents/00000000-0000-0000-0000-000000000000"),
    ("GET", f"{A}/teams"),
    ("POST", f"{A}/teams"),
    ("PATCH", f"{A}/teams/00000000-0000-0000-0000-000000000000"),
    ("GET", f"{A}/settings/widget"),
    ("PUT", f"{A}/settings/widget"),
    ("GET", f"{A}/reports"),
    ("GET", f"{A}/reports.csv"),
    ("GET", f"{A}/audit-log"),
    ("GET", f"{A}/quick-responses"),
    ("GET", "/api/v1/knowledge/articles"),
    ("POST", "/api/v1/knowledge/articles"),
    ("GET", "/api/v1/knowledge/status"),
]


async def test_every_admin_route_refuses_agents(server: RunningServer) -> None:
    async with signed_in(server) as agent:
        for method, path in ADMIN_ROUTES:
            status, body = await agent.call(method, path, json={})
            assert (status, body["error"]["code"]) == (403, "forbidden"), (method, path, body)
    async with aiohttp.ClientSession(base_url=server.url) as anonymous:
        for method, path in ADMIN_ROUTES:
            async with anonymous.request(method, path, json={}) as response:
                assert response.status == 401, (method, path)


async def test_accounts_roles_capacity_and_teams(server: RunningServer) -> None:
    async with signed_in(server, role=AgentRole.ADMIN, name="Ada") as admin:
        teams = (await admin.ok("GET", f"{A}/teams"))["teams"]
        support = teams[0]["id"]
        created = await admin.ok(
            "POST",
            f"{A}/agents",
            201,
            json={
                "email": "new.agent@example.test",
                "display_name": "New Agent",
                "team_ids": [support],
                "max_chats": 2,
            },
        )
        agent, password = created["agent"], created["generated_password"]
        assert password and len(password) >= 10
        assert (agent["role"], agent["max_chats"], agent["team_ids"], agent["is_active"]) == (
            "agent",
            2,
            [support],
            True,
        )
        # The invited agent can sign in with the generated password.
        assert await login(server.url, "new.agent@example.test", password)

        status, body = await admin.call(
            "POST",
            f"{A}/agents",
            json={"email": "NEW.agent@example.test", "display_name": "Dup", "password": PASSWORD},
        )
        assert status == 409 and "already exists" in body["error"]["message"]
        status, body = await admin.call(
            "POST",
            f"{A}/agents",
            json={"email": "x@example.test", "display_name": "X", "password": "short"},
        )
        assert status == 422 and "10 characters" in body["error"]["message"]
        status, body = await admin.call(
            "POST",
            f"{A}/agents",
            json={
                "email": "y@example.test",
                "display_name": "Y",
                "team_ids": ["00000000-0000-0000-0000-000000000001"],
            },
        )
        assert status == 422 and "team" in body["error"]["message"]

        changed = await admin.ok(
            "PATCH",
            f"{A}/agents/{agent['id']}",
            json={"role": "admin", "max_chats": None, "display_name": "Newly Promoted"},
        )
        assert (
            changed["agent"]["role"],
            changed["agent"]["max_chats"],
            changed["agent"]["display_name"],
        ) == ("admin", None, "Newly Promoted")
        assert changed["agent"]["team_ids"] == [support]  # untouched fields stay
        await admin.ok("PATCH", f"{A}/agents/{agent['id']}", json={"is_active": False})
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{server.url}/api/v1/auth/login",
                json={"email": "new.agent@example.test", "password": password},
            ) as response,
        ):
            assert response.status == 403  # deactivated

        # An admin cannot lock themselves out.
        status, body = await admin.call(
            "PATCH", f"{A}/agents/{admin.agent_id}", json={"is_active": False}
        )
        assert status == 409 and "yourself" in body["error"]["message"]

        log = (await admin.ok("GET", f"{A}/audit-log"))["entries"]
        assert [e["action"] for e in log] == ["agent.update", "agent.update", "agent.create"]
        assert log[0]["actor_name"] == "Ada" and log[0]["details"]["after"]["is_active"] is False
        assert "password_hash" not in str(log)


async def test_team_routing_settings_are_validated_and_applied(server: RunningServer) -> None:
    async with signed_in(server, role=AgentRole.ADMIN) as admin:
        team = (
            await admin.ok(
                "POST",
                f"{A}/teams",
                201,
                json={"slug": "sales", "name": "Sales", "settings": {"mode": "manual"}},
            )
        )["team"]
        assert team["settings"] == {"mode": "manual"}
        status, body = await admin.call(
            "POST", f"{A}/teams", json={"slug": "sales", "name": "Again"}
        )
        assert status == 409
        for bad, words in (
            ({"mode": "sometimes"}, "mode"),
            ({"grace_seconds": -5}, "grace_seconds"),
            ({"unanswered_seconds": "soon"}, "unanswered_seconds"),
            ({"colour": "red"}, "colour"),
        ):
            status, body = await admin.call(
                "PATCH", f"{A}/teams/{team['id']}", json={"settings": bad}
            )
            assert status == 422 and words in body["error"]["message"], (bad, body)

        # A manual team's waiting conversation is assigned as soon as the team switches to auto.
        _, _, robin = await online_agent(server, "Robin", teams=("sales",))
        cust, conv = await waiting_customer(server, team="sales")
        try:
            # The start was acknowledged after the line was drained: a manual team assigns nothing.
            assert await assignee(server, conv) is None
            updated = await admin.ok(
                "PATCH",
                f"{A}/teams/{team['id']}",
                json={"settings": {"mode": "auto", "grace_seconds": 30, "assistant_mode": "off"}},
            )
            assert updated["team"]["settings"] == {
                "mode": "auto",
                "grace_seconds": 30,
                "assistant_mode": "off",
            }
            await eventually(lambda: _assigned(server, conv))
        finally:
            await cust.close()
            await robin.close()
        actions = [
            e["action"] for e in (await admin.ok("GET", f"{A}/audit-log?action=team."))["entries"]
        ]
        assert actions == ["team.update", "team.create"]


async def test_a_teams_capacity_default_applies_to_agents_without_their_own(
    server: RunningServer,
) -> None:
    async with signed_in(server, role=AgentRole.ADMIN, teams=()) as admin:
        support = (await admin.ok("GET", f"{A}/teams"))["teams"][0]["id"]
        await admin.ok("PATCH", f"{A}/teams/{support}", json={"settings": {"capacity_default": 1}})
        _, _, robin = await online_agent(server, "Robin")
        first, conv1 = await waiting_customer(server)
        second, conv2 = await waiting_customer(server)
        try:
            assert (await robin.ok("whoami"))["capacity"] == 1
            await eventually(lambda: _assigned(server, conv1))
            assert await assignee(server, conv2) is None  # Robin is full at one
            agents = {
                a["display_name"]: a for a in (await admin.ok("GET", f"{A}/agents"))["agents"]
            }
            assert agents["Robin"]["capacity"] == 1
            # Raising the team's default lets the second one through at once.
            await admin.ok(
                "PATCH", f"{A}/teams/{support}", json={"settings": {"capacity_default": 2}}
            )
            await eventually(lambda: _assigned(server, conv2))
        finally:
            await first.close()
            await second.close()
            await robin.close()


async def _assigned(server: RunningServer, conv: str) -> bool:
    return await assignee(server, conv) is not None


async def test_widget_settings_overrides_reach_the_widget(server: RunningServer) -> None:
    async with (
        signed_in(server, role=AgentRole.ADMIN) as admin,
        aiohttp.ClientSession(base_url=server.url) as public,
    ):
        view = await admin.ok("GET", f"{A}/settings/widget")
        assert view["overrides"] == {} and view["effective"]["color"] == "#1f5fbf"
        status, body = await admin.call("PUT", f"{A}/settings/widget", json={"color": "red"})
        assert status == 422 and "color" in body["error"]["message"]
        status, body = await admin.call(
            "PUT", f"{A}/settings/widget", json={"business_hours": "someday 9-5"}
        )
        assert status == 422 and "business hours" in body["error"]["message"]
        status, body = await admin.call(
            "PUT", f"{A}/settings/widget", json={"allowed_origins": ["https://shop.example/path"]}
        )
        assert status == 422 and "origins" in body["error"]["message"]

        saved = await admin.ok(
            "PUT",
            f"{A}/settings/widget",
            json={
                "color": "#aa3300",
                "position": "left",
                "greeting": "Hi there!",
                "prechat_email": "required",
                "language": "de",
                "allowed_origins": ["https://shop.example"],
                "team_name": "  ",
            },
        )
        assert saved["overrides"]["color"] == "#aa3300" and "team_name" not in saved["overrides"]
        async with public.get("/api/v1/widget/settings") as response:
            widget = (await response.json())["data"]
        assert (widget["color"], widget["position"], widget["greeting"], widget["language"]) == (
            "#aa3300",
            "left",
            "Hi there!",
            "de",
        )
        assert widget["pre_chat"] == {"name": "optional", "email": "required"}

        # The origin list applies to CORS at once.
        async with public.get(
            "/api/v1/widget/settings", headers={"Origin": "https://shop.example"}
        ) as response:
            assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example"
        async with public.get(
            "/api/v1/widget/settings", headers={"Origin": "https://evil.example"}
        ) as response:
            assert "Access-Control-Allow-Origin" not in response.headers
        async with public.get(
            "/socket.io/?EIO=4&transport=polling", headers={"Origin": "https://evil.example"}
        ) as response:
            assert response.status == 400

        # Clearing the overrides goes back to the environment.
        await admin.ok("PUT", f"{A}/settings/widget", json={})
        async with public.get(
            "/api/v1/widget/settings", headers={"Origin": "https://evil.example"}
        ) as response:
            assert response.headers["Access-Control-Allow-Origin"] == "*"
            assert (await response.json())["data"]["color"] == "#1f5fbf"


async def test_reports_count_per_day_and_team_and_export_csv(server: RunningServer) -> None:
    _, _, robin = await online_agent(server, "Robin")
    customers = []
    try:
        for i in range(3):
            cust, conv = await waiting_customer(server, name=f"C{i}")
            customers.append(cust)
            await robin.log.wait_for("assigned", count=i + 1)
            await robin.ok(
                "send_message", {"conversation_id": conv, "client_id": f"r{i}", "body": "Hi"}
            )
            if i < 2:
                await robin.ok("resolve", {"conversation_id": conv})
        async with signed_in(server, role=AgentRole.ADMIN) as admin:
            data = await admin.ok("GET", f"{A}/reports")
            assert len(data["days"]) == 14
            (row,) = data["rows"]
            assert (row["team"], row["conversations"], row["assigned"], row["resolved"]) == (
                "Support",
                3,
                3,
                2,
            )
            assert row["first_response_avg"] is not None and row["wait_avg"] is not None
            assert data["totals"]["conversations"] == 3
            status, body = await admin.call("GET", f"{A}/reports?from=2026-02-10&to=2026-01-01")
            assert status == 422 and "from must not be after to" in body["error"]["message"]
            status, text = await admin.call("GET", f"{A}/reports.csv")
            assert status == 200
            lines = list(csv.reader(io.StringIO(text)))
            assert lines[0][:5] == ["day", "team", "conversations", "assigned", "resolved"]
            assert lines[1][1:5] == ["Support", "3", "3", "2"]
    finally:
        for cust in customers:
            await cust.close()
        await robin.close()
