"""Pure domain rules: authorization policies, tokens, payload decoding and settings."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest

from server.auth.tokens import TokenSigner
from server.config import ConfigError, load_settings
from server.core import policies
from server.core.errors import ErrorCode, ParleyError
from server.core.models import (
    AgentPrincipal,
    AgentRole,
    Conversation,
    ConversationStatus,
    CustomerPrincipal,
    Visibility,
)
from server.realtime import schemas

NOW = datetime.now(UTC)


def conversation(customer: uuid.UUID, assignee: uuid.UUID | None = None) -> Conversation:
    return Conversation(
        id=uuid.uuid4(),
        customer_id=customer,
        status=ConversationStatus.OPEN,
        assigned_agent_id=assignee,
        team_id=None,
        last_seq=0,
        metadata={},
        created_at=NOW,
        updated_at=NOW,
        last_message_at=None,
        resolved_at=None,
    )


ALICE, BOB = uuid.uuid4(), uuid.uuid4()
AGENT = AgentPrincipal(agent_id=uuid.uuid4(), role=AgentRole.AGENT, display_name="A")
OTHER_AGENT = uuid.uuid4()
ADMIN = AgentPrincipal(agent_id=uuid.uuid4(), role=AgentRole.ADMIN, display_name="Admin")


@pytest.mark.parametrize(
    ("principal", "conv", "participant", "visible"),
    [
        (CustomerPrincipal(ALICE), conversation(ALICE), False, True),
        (CustomerPrincipal(BOB), conversation(ALICE), False, False),
        (AGENT, conversation(ALICE), False, True),  # unassigned: can be picked up
        (AGENT, conversation(ALICE, AGENT.agent_id), False, True),
        (AGENT, conversation(ALICE, OTHER_AGENT), False, False),
        (AGENT, conversation(ALICE, OTHER_AGENT), True, True),  # joined it
        (ADMIN, conversation(ALICE, OTHER_AGENT), False, True),
    ],
)
def test_who_may_view_a_conversation(principal, conv, participant, visible) -> None:
    assert policies.can_view_conversation(principal, conv, is_participant=participant) is visible


def test_strangers_get_not_found_not_forbidden() -> None:
    with pytest.raises(ParleyError) as failure:
        policies.ensure_can_view(CustomerPrincipal(BOB), conversation(ALICE))
    assert failure.value.code is ErrorCode.NOT_FOUND


def test_only_staff_write_private_notes_and_change_status() -> None:
    with pytest.raises(ParleyError):
        policies.ensure_can_post(CustomerPrincipal(ALICE), Visibility.INTERNAL)
    policies.ensure_can_post(AGENT, Visibility.INTERNAL)
    assert not policies.can_change_status(CustomerPrincipal(ALICE), conversation(ALICE))
    assert policies.can_change_status(AGENT, conversation(ALICE))
    assert policies.visibilities_for(CustomerPrincipal(ALICE)) == (Visibility.PUBLIC,)


def test_tokens_round_trip_and_refuse_tampering_kind_and_expiry() -> None:
    signer = TokenSigner("0123456789abcdef-secret")
    subject = uuid.uuid4()
    token = signer.issue("agent", subject, ttl_seconds=60)
    assert signer.verify(token, "agent").sub == subject
    for bad, kind in (
        (token[:-2] + "xx", "agent"),
        (token, "visitor"),
        ("a.b", "agent"),
        (None, "agent"),
    ):
        with pytest.raises(ParleyError):
            signer.verify(bad, kind)  # type: ignore[arg-type]
    expired = signer.issue("agent", subject, ttl_seconds=-1)
    with pytest.raises(ParleyError, match="expired"):
        signer.verify(expired, "agent")
    other = TokenSigner("another-secret-key-0000")
    with pytest.raises(ParleyError, match="signature"):
        other.verify(token, "agent")
    assert signer.issue("visitor", subject, ttl_seconds=None) != token
    assert time.time()


def test_payload_decoding_is_validation() -> None:
    conversation_id = str(uuid.uuid4())
    ok = schemas.decode(
        schemas.SendMessage, {"conversation_id": conversation_id, "client_id": "x", "body": "hi"}
    )
    assert str(ok.conversation_id) == conversation_id
    for data, code in (
        ("text", ErrorCode.BAD_REQUEST),
        (
            {"conversation_id": conversation_id, "client_id": "x", "oops": 1},
            ErrorCode.UNKNOWN_FIELD,
        ),
        ({"conversation_id": conversation_id, "client_id": 1}, ErrorCode.BAD_REQUEST),
        (
            {"conversation_id": conversation_id, "client_id": "x", "visibility": "secret"},
            ErrorCode.BAD_REQUEST,
        ),
    ):
        with pytest.raises(ParleyError) as failure:
            schemas.decode(schemas.SendMessage, data)
        assert failure.value.code is code


def test_settings_come_from_the_environment_and_bad_values_are_explained() -> None:
    settings = load_settings(
        {
            "PORT": "9000",
            "PARLEY_ALLOWED_ORIGINS": "https://a.example, https://b.example",
            "PARLEY_WEBSOCKET_ONLY": "yes",
        }
    )
    assert settings.port == 9000
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.websocket_only is True
    assert settings.embedded
    from pathlib import Path

    assert load_settings({"PARLEY_ATTACHMENT_DIR": "/srv/files"}).attachments_path == Path(
        "/srv/files"
    )
    with pytest.raises(ConfigError, match="PORT"):
        load_settings({"PORT": "eighty"})
    with pytest.raises(ConfigError):
        load_settings({"PARLEY_PRESENCE_HEARTBEAT": "60", "PARLEY_PRESENCE_TTL": "30"})
    assert load_settings({"PARLEY_PROXY_HOPS": "1"}).proxy_hops == 1
    with pytest.raises(ConfigError, match="PARLEY_PROXY_HOPS"):
        load_settings({"PARLEY_PROXY_HOPS": "-1"})
    assert load_settings({}).drain_seconds == 10.0
    assert load_settings({"PARLEY_DRAIN_SECONDS": "2.5"}).drain_seconds == 2.5
    with pytest.raises(ConfigError, match="PARLEY_DRAIN_SECONDS"):
        load_settings({"PARLEY_DRAIN_SECONDS": "-1"})
