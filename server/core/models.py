"""Domain records and principals shared by every layer."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import msgspec


class SenderKind(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    ASSISTANT = "assistant"
    SYSTEM = "system"


class Visibility(StrEnum):
    PUBLIC = "public"  # the customer and staff see it
    INTERNAL = "internal"  # a private note: staff only


class ConversationStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    ABANDONED = "abandoned"


class Owner(StrEnum):
    """Who answers the customer right now: one owner at a time."""

    ASSISTANT = "assistant"  # the AI assistant (it may also be waiting in line meanwhile)
    QUEUE = "queue"  # nobody yet: waiting for a person
    HUMAN = "human"  # the assigned agent


class AgentRole(StrEnum):
    AGENT = "agent"
    ADMIN = "admin"


class PresenceStatus(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class ReceiptKind(StrEnum):
    DELIVERED = "delivered"
    READ = "read"


class CustomerPrincipal(msgspec.Struct, frozen=True):
    """A visitor, identified by the id inside their signed visitor token."""

    customer_id: UUID

    @property
    def kind(self) -> SenderKind:
        return SenderKind.CUSTOMER

    @property
    def id(self) -> UUID:
        return self.customer_id


class AgentPrincipal(msgspec.Struct, frozen=True):
    """A signed-in agent or admin."""

    agent_id: UUID
    role: AgentRole
    display_name: str
    team_ids: frozenset[UUID] = frozenset()

    @property
    def kind(self) -> SenderKind:
        return SenderKind.AGENT

    @property
    def id(self) -> UUID:
        return self.agent_id

    @property
    def is_admin(self) -> bool:
        return self.role is AgentRole.ADMIN


Principal = CustomerPrincipal | AgentPrincipal


class AssistantPrincipal(msgspec.Struct, frozen=True):
    """The AI assistant posting into a conversation (server-side; never a client)."""

    name: str

    @property
    def kind(self) -> SenderKind:
        return SenderKind.ASSISTANT

    @property
    def id(self) -> None:
        return None


class SystemPrincipal(msgspec.Struct, frozen=True):
    """Parley itself: notices such as transfers and hand-over summaries."""

    @property
    def kind(self) -> SenderKind:
        return SenderKind.SYSTEM

    @property
    def id(self) -> None:
        return None


# Whoever may post a message: a client, or the server on its own behalf.
Poster = Principal | AssistantPrincipal | SystemPrincipal


class Attachment(msgspec.Struct, frozen=True):
    id: UUID
    conversation_id: UUID
    filename: str
    content_type: str
    size_bytes: int
    created_at: datetime


class Message(msgspec.Struct, frozen=True):
    id: UUID
    conversation_id: UUID
    seq: int
    sender_kind: SenderKind
    sender_id: UUID | None
    sender_name: str | None
    client_id: str | None
    body: str
    visibility: Visibility
    attachments: tuple[Attachment, ...]
    metadata: dict[str, Any]
    created_at: datetime


class Conversation(msgspec.Struct, frozen=True):
    id: UUID
    customer_id: UUID
    status: ConversationStatus
    assigned_agent_id: UUID | None
    team_id: UUID | None
    last_seq: int
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    last_message_at: datetime | None
    resolved_at: datetime | None
    priority: int = 2
    waiting: bool = False
    queued_at: datetime | None = None
    assigned_at: datetime | None = None
    owner: Owner = Owner.QUEUE


class Agent(msgspec.Struct, frozen=True):
    id: UUID
    email: str
    display_name: str
    role: AgentRole
    max_chats: int | None
    is_active: bool
    avatar_url: str | None
    created_at: datetime


class Customer(msgspec.Struct, frozen=True):
    id: UUID
    name: str | None
    email: str | None
    attributes: dict[str, Any]
    identity_verified: bool
    created_at: datetime


class QuickResponseScope(StrEnum):
    GLOBAL = "global"  # every agent
    TEAM = "team"  # the team's agents
    PERSONAL = "personal"  # its owner only


class QuickResponse(msgspec.Struct, frozen=True):
    """A canned reply agents insert with /shortcut; {{variables}} are filled in the console."""

    id: UUID
    scope: QuickResponseScope
    team_id: UUID | None
    owner_agent_id: UUID | None
    shortcut: str
    title: str
    body: str
    created_at: datetime
    updated_at: datetime
