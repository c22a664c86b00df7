"""The REST API described as OpenAPI 3.1, served at /api/v1/openapi.json.

Request bodies come from the same msgspec structs the routes decode with, so their schemas
cannot drift from what the server accepts; a test checks that every /api/ route is listed here.
docs/protocol.md stays the prose reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from aiohttp import web

from ..core.widget_config import WidgetOverrides
from . import account_routes, admin_routes, auth_routes, conversation_routes, knowledge_routes
from .errors import json_response
from .quick_response_routes import QuickResponseBody


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    summary: str
    tag: str
    auth: str = "agent"  # agent | admin | any (agent or visitor) | none | link
    body: type | None = None
    multipart: tuple[str, ...] = ()
    query: tuple[str, ...] = ()
    produces: str = "application/json"


V1 = "/api/v1"
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("POST", f"{V1}/auth/login", "Agent sign-in: a token for REST and the /agent socket", "auth", "none", auth_routes.LoginBody),
    Endpoint("POST", f"{V1}/auth/supabase", "Agent sign-in with a Supabase Auth access token: a Parley agent token", "auth", "none", auth_routes.SupabaseSessionBody),
    Endpoint("GET", f"{V1}/auth/methods", "How agents may sign in: password, and the Supabase project (URL, anon key) when enabled", "auth", "none", None),
    Endpoint("GET", f"{V1}/me", "Who the token belongs to", "auth", "any"),
    Endpoint("POST", f"{V1}/visitors", "A new anonymous visitor token", "auth", "none"),
    Endpoint("POST", f"{V1}/me/password", "Change your own password (ends your other sessions; a new token)", "auth", "agent", account_routes.PasswordChangeBody),
    Endpoint("POST", f"{V1}/auth/password-reset", "Set a new password with a one-time reset link", "auth", "none", account_routes.PasswordResetBody),
    Endpoint("GET", f"{V1}/conversations", "List conversations (agents: with inbox summaries)", "conversations", "any", query=("status", "assignee", "limit", "cursor")),
    Endpoint("GET", f"{V1}/conversations/{{conversation_id}}", "One conversation", "conversations", "any"),
    Endpoint("GET", f"{V1}/conversations/{{conversation_id}}/messages", "History, oldest first", "conversations", "any", query=("after_seq", "before_seq", "limit")),
    Endpoint("POST", f"{V1}/conversations/{{conversation_id}}/messages", "Post a message (idempotent by client_id)", "conversations", "any", conversation_routes.PostMessageBody),
    Endpoint("GET", f"{V1}/conversations/{{conversation_id}}/customer", "The customer sidebar: details and previous conversations", "conversations"),
    Endpoint("GET", f"{V1}/conversations/{{conversation_id}}/handover", "The assistant's latest hand-over brief (null when none)", "conversations"),
    Endpoint("POST", f"{V1}/attachments", "Upload a file to a conversation", "attachments", "any", multipart=("conversation_id", "file")),
    Endpoint("GET", f"{V1}/attachments/{{attachment_id}}/content", "Download a file (signed link or Bearer)", "attachments", "link", query=("token",), produces="application/octet-stream"),
    Endpoint("GET", f"{V1}/directory", "Colleagues with presence and load, and teams", "console"),
    Endpoint("GET", f"{V1}/quick-responses", "Quick responses the caller may use", "quick responses", query=("q",)),
    Endpoint("POST", f"{V1}/quick-responses", "Create a quick response (global and team: admins)", "quick responses", body=QuickResponseBody),
    Endpoint("PUT", f"{V1}/quick-responses/{{response_id}}", "Replace a quick response", "quick responses", body=QuickResponseBody),
    Endpoint("DELETE", f"{V1}/quick-responses/{{response_id}}", "Delete a quick response", "quick responses"),
    Endpoint("GET", f"{V1}/admin/quick-responses", "Every global and team quick response", "admin", "admin", query=("q", "scope")),
    Endpoint("GET", f"{V1}/admin/agents", "Every account with teams, load and presence", "admin", "admin"),
    Endpoint("POST", f"{V1}/admin/agents", "Create an account (a password is generated when none is given)", "admin", "admin", admin_routes.NewAgentBody),
    Endpoint("PATCH", f"{V1}/admin/agents/{{agent_id}}", "Change name, role, capacity, teams or active state", "admin", "admin", admin_routes.AgentPatchBody),
    Endpoint("POST", f"{V1}/admin/agents/{{agent_id}}/password-reset", "A one-time password-reset link for an agent", "admin", "admin"),
    Endpoint("POST", f"{V1}/admin/agents/{{agent_id}}/unlock", "Lift an agent's sign-in lockout", "admin", "admin"),
    Endpoint("GET", f"{V1}/admin/teams", "Teams with routing settings and members", "admin", "admin"),
    Endpoint("POST", f"{V1}/admin/teams", "Create a team", "admin", "admin", admin_routes.NewTeamBody),
    Endpoint("PATCH", f"{V1}/admin/teams/{{team_id}}", "Rename a team or change its routing settings", "admin", "admin", admin_routes.TeamPatchBody),
    Endpoint("GET", f"{V1}/admin/settings/widget", "Widget settings: overrides, environment defaults, effective values", "admin", "admin"),
    Endpoint("PUT", f"{V1}/admin/settings/widget", "Replace the widget setting overrides", "admin", "admin", WidgetOverrides),
    Endpoint("GET", f"{V1}/admin/reports", "Figures per day and team", "admin", "admin", query=("from", "to", "team_id")),
    Endpoint("GET", f"{V1}/admin/reports.csv", "The same figures as CSV", "admin", "admin", query=("from", "to", "team_id"), produces="text/csv"),
    Endpoint("GET", f"{V1}/admin/audit-log", "Admin changes, newest first", "admin", "admin", query=("limit", "before_id", "action")),
    Endpoint("GET", f"{V1}/knowledge/articles", "List articles", "knowledge", "admin", query=("q", "limit", "offset")),
    Endpoint("GET", f"{V1}/knowledge/articles/{{slug}}", "One article with its chunks", "knowledge", "admin"),
    Endpoint("POST", f"{V1}/knowledge/articles", "Create an article (embedded at once)", "knowledge", "admin", knowledge_routes.CreateArticleBody),
    Endpoint("PUT", f"{V1}/knowledge/articles/{{slug}}", "Replace an article", "knowledge", "admin", knowledge_routes.UpdateArticleBody),
    Endpoint("DELETE", f"{V1}/knowledge/articles/{{slug}}", "Delete an article", "knowledge", "admin"),
    Endpoint("POST", f"{V1}/knowledge/import", "Import .md, .txt and .html files", "knowledge", "admin", multipart=("file",)),
    Endpoint("POST", f"{V1}/knowledge/ask", "Try a question against the live pipeline", "knowledge", "admin", knowledge_routes.AskBody),
    Endpoint("POST", f"{V1}/knowledge/calibrate", "Choose the decline threshold for this knowledge base (or reset it)", "knowledge", "admin", knowledge_routes.CalibrateBody),
    Endpoint("GET", f"{V1}/knowledge/status", "Index and model status", "knowledge", "admin"),
    Endpoint("GET", f"{V1}/widget/settings", "The widget's settings and availability (public, CORS)", "widget", "none"),
    Endpoint("GET", f"{V1}/openapi.json", "This description", "meta", "none"),
)  # fmt: skip

_AUTH_TEXT = {
    "agent": "Agent token.",
    "admin": "Agent token of an admin; agents get 403.",
    "any": "Agent or visitor token.",
    "none": "No authentication.",
    "link": "A signed ?token= link, or a Bearer token of someone who may see the conversation.",
}

_ERROR = {
    "type": "object",
    "properties": {
        "ok": {"const": False},
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
            "required": ["code", "message"],
        },
    },
}


def _operation(endpoint: Endpoint, body_ref: dict[str, Any] | None) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": part[1:-1], "in": "path", "required": True, "schema": {"type": "string"}}
        for part in endpoint.path.split("/")
        if part.startswith("{")
    ]
    params += [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
        for name in endpoint.query
    ]
    operation: dict[str, Any] = {
        "summary": endpoint.summary,
        "description": _AUTH_TEXT[endpoint.auth],
        "tags": [endpoint.tag],
        "parameters": params,
        "responses": {
            "200": {
                "description": "Success: {ok: true, data}"
                if endpoint.produces == "application/json"
                else "The content",
                "content": {endpoint.produces: {}},
            },
            "4XX": {
                "description": "An error with a stable code",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        },
    }
    if endpoint.auth in ("agent", "admin", "any"):
        operation["security"] = [{"bearer": []}]
    if body_ref is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body_ref}},
        }
    elif endpoint.multipart:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            name: {"type": "string", "format": "binary"}
                            if name == "file"
                            else {"type": "string"}
                            for name in endpoint.multipart
                        },
                    }
                }
            },
        }
    return operation


def document() -> dict[str, Any]:
    bodies = sorted({e.body for e in ENDPOINTS if e.body is not None}, key=lambda t: t.__name__)
    refs, components = msgspec.json.schema_components(
        bodies, ref_template="#/components/schemas/{name}"
    )
    ref_of = dict(zip(bodies, refs, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in ENDPOINTS:
        body_ref = ref_of[endpoint.body] if endpoint.body is not None else None
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(
            endpoint, body_ref
        )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Parley REST API",
            "version": "1",
            "description": "Envelope: {ok: true, data} or {ok: false, error: {code, message}}. "
            "Live traffic uses Socket.IO; see docs/protocol.md.",
        },
        "paths": paths,
        "components": {
            "schemas": {**components, "Error": _ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


async def openapi(request: web.Request) -> web.Response:
    return json_response(document())


def setup(app: web.Application) -> None:
    app.router.add_get(f"{V1}/openapi.json", openapi)
