"""Pure rules behind the console's admin features: quick-response shortcuts and permissions,
widget setting overrides, team routing settings, allowed origins."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from server.core import quick_responses as qr
from server.core.errors import ErrorCode, ParleyError
from server.core.models import AgentPrincipal, AgentRole, QuickResponse, QuickResponseScope
from server.core.origins import AllowedOrigins, is_origin
from server.core.routing import checked_team_settings
from server.core.widget_config import WidgetOverrides, check

TEAM = uuid.uuid4()
ME = AgentPrincipal(
    agent_id=uuid.uuid4(), role=AgentRole.AGENT, display_name="Sam", team_ids=frozenset({TEAM})
)
ADMIN = AgentPrincipal(agent_id=uuid.uuid4(), role=AgentRole.ADMIN, display_name="Ada")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("refund", "refund"), ("/Refund", "refund"), (" hi-2_x ", "hi-2_x"), ("a" * 40, "a" * 40)],
)
def test_shortcuts_are_normalized(raw: str, expected: str) -> None:
    assert qr.normalize_shortcut(raw) == expected


@pytest.mark.parametrize("raw", ["", "/", "two words", "-lead", "é", "a" * 41, "x/y"])
def test_bad_shortcuts_are_refused_with_a_reason(raw: str) -> None:
    with pytest.raises(ParleyError) as error:
        qr.normalize_shortcut(raw)
    assert error.value.code is ErrorCode.VALIDATION_FAILED and "shortcut" in error.value.message


@pytest.mark.parametrize(
    ("principal", "scope", "owner", "allowed"),
    [
        (ME, QuickResponseScope.PERSONAL, ME.agent_id, True),
        (ME, QuickResponseScope.PERSONAL, ADMIN.agent_id, False),
        (ME, QuickResponseScope.GLOBAL, None, False),
        (ME, QuickResponseScope.TEAM, None, False),
        (ADMIN, QuickResponseScope.GLOBAL, None, True),
        (ADMIN, QuickResponseScope.TEAM, None, True),
        (ADMIN, QuickResponseScope.PERSONAL, ME.agent_id, False),  # not even admins
    ],
)
def test_who_manages_which(
    principal: AgentPrincipal, scope: QuickResponseScope, owner: uuid.UUID | None, allowed: bool
) -> None:
    if allowed:
        qr.ensure_can_manage(principal, scope, owner)
    else:
        with pytest.raises(ParleyError) as error:
            qr.ensure_can_manage(principal, scope, owner)
        assert error.value.code is ErrorCode.FORBIDDEN


def _response(
    scope: QuickResponseScope, team: uuid.UUID | None = None, owner: uuid.UUID | None = None
) -> QuickResponse:
    now = datetime.now(UTC)
    return QuickResponse(uuid.uuid4(), scope, team, owner, "x", "x", "x", now, now)


@pytest.mark.parametrize(
    ("response", "usable"),
    [
        (_response(QuickResponseScope.GLOBAL), True),
        (_response(QuickResponseScope.TEAM, team=TEAM), True),
        (_response(QuickResponseScope.TEAM, team=uuid.uuid4()), False),
        (_response(QuickResponseScope.PERSONAL, owner=ME.agent_id), True),
        (_response(QuickResponseScope.PERSONAL, owner=ADMIN.agent_id), False),
    ],
)
def test_who_may_use_which(response: QuickResponse, usable: bool) -> None:
    assert qr.can_use(ME, response) is usable


def test_team_scope_needs_a_team_and_only_it_has_one() -> None:
    qr.check_target(QuickResponseScope.TEAM, TEAM)
    qr.check_target(QuickResponseScope.GLOBAL, None)
    for scope, team in (
        (QuickResponseScope.TEAM, None),
        (QuickResponseScope.GLOBAL, TEAM),
        (QuickResponseScope.PERSONAL, TEAM),
    ):
        with pytest.raises(ParleyError):
            qr.check_target(scope, team)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (WidgetOverrides(color="blue"), "color"),
        (WidgetOverrides(color="#12345"), "color"),
        (WidgetOverrides(language="english!"), "language"),
        (WidgetOverrides(timezone="Mars/Olympus"), "timezone"),
        (WidgetOverrides(business_hours="whenever"), "business_hours"),
        (WidgetOverrides(allowed_origins=["https://shop.example/"]), "allowed_origins"),
        (WidgetOverrides(allowed_origins=["shop.example"]), "allowed_origins"),
    ],
)
def test_widget_overrides_name_the_bad_field(overrides: WidgetOverrides, field: str) -> None:
    with pytest.raises(ParleyError) as error:
        check(overrides, "UTC")
    assert error.value.details["field"] == field


def test_widget_overrides_blank_means_default() -> None:
    clean = check(
        WidgetOverrides(
            color="#AA3300",
            greeting="  ",
            team_name=" Acme ",
            business_hours="mon-fri 09:00-17:00",
            timezone="Europe/Berlin",
            allowed_origins=[" https://a.example ", "", "http://b.example:8080"],
        ),
        "UTC",
    )
    assert clean.greeting is None and clean.team_name == "Acme" and clean.color == "#AA3300"
    assert clean.allowed_origins == ["https://a.example", "http://b.example:8080"]
    assert check(WidgetOverrides(allowed_origins=[" "]), "UTC").allowed_origins is None


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ({}, {"mode": "auto"}),
        ({"mode": "manual", "grace_seconds": 30}, {"mode": "manual", "grace_seconds": 30}),
        (
            {"unanswered_seconds": 0, "assistant_mode": "off"},
            {"mode": "auto", "unanswered_seconds": 0, "assistant_mode": "off"},
        ),
        ({"capacity_default": 3, "assistant_mode": None}, {"mode": "auto", "capacity_default": 3}),
    ],
)
def test_team_settings_are_stored_without_defaults(raw: dict, stored: dict) -> None:
    assert checked_team_settings(raw) == stored


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"mode": "sometimes"}, "mode"),
        ({"grace_seconds": -1}, "grace_seconds"),
        ({"unanswered_seconds": 86_401}, "unanswered_seconds"),
        ({"capacity_default": 1001}, "capacity_default"),
        ({"capacity_default": "3"}, "capacity_default"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_team_settings_say_which(raw: dict, words: str) -> None:
    with pytest.raises(ParleyError) as error:
        checked_team_settings(raw)
    assert error.value.code is ErrorCode.VALIDATION_FAILED and words in error.value.message


def test_allowed_origins_follow_the_override_and_fall_back() -> None:
    origins = AllowedOrigins(("https://shop.example",))
    assert origins.allows("https://shop.example") and not origins.allows("https://evil.example")
    assert origins.allows(None)  # not a browser: nothing to check
    assert origins.header_value("https://shop.example") == "https://shop.example"
    origins.replace(("*",))
    assert (
        origins.allows("https://evil.example")
        and origins.header_value("https://evil.example") == "*"
    )
    origins.replace(None)
    assert origins.current == ("https://shop.example",)
    assert (
        is_origin("http://localhost:8080")
        and is_origin("*")
        and not is_origin("https://a.example/path")
    )
