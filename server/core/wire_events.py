"""Every server -> client event, as one typed struct each: the single definition of the wire.

Actions build these; `realtime/publisher.py` encodes them. The TypeScript types of the widget
and the console and the event tables of docs/protocol.md are generated from this module
(`python -m server.tools.wire_codegen`), and a test fails when the generated files are stale.

Each struct names its event in `event` (a class variable, not a field: payloads on the wire
are exactly the fields below). Structs are frozen and refuse unknown fields when decoded, so a
test or client that round-trips a payload through them catches any drift.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

import msgspec

from .models import Conversation, ConversationStatus, Customer, Owner, SenderKind, Visibility
from .routing import RoutingMode


class WireEvent(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of every server -> client payload; `event` is the Socket.IO event name."""

    event: ClassVar[str]
    # Events only the server's delivery gate consumes: they never reach a client.
    server_only: ClassVar[bool] = False


class AgentRef(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: UUID
    display_name: str


class Citation(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    slug: str
    title: str
    url: str | None = None


class WireAttachment(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An attachment with its signed, relative download link."""

    id: UUID
    conversation_id: UUID
    filename: str
    content_type: str
    size_bytes: int
    created_at: datetime
    url: str


class WireConversation(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A conversation snapshot. `assigned_agent` is present only where the event says who is
    helping (customers' assignment updates); every other field is always present."""

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
    priority: int
    waiting: bool
    queued_at: datetime | None
    assigned_at: datetime | None
    owner: Owner
    assigned_agent: AgentRef | None = None

    @classmethod
    def of(cls, conversation: Conversation, *, agent: AgentRef | None = None) -> WireConversation:
        # The snapshot has the conversation's own fields (and, where said, who helps).
        return cls(**msgspec.structs.asdict(conversation), assigned_agent=agent)


class WireMessage(WireEvent, frozen=True):
    """A stored message (public: both sides; private note: staff only)."""

    event: ClassVar[str] = "message"
    id: UUID
    conversation_id: UUID
    seq: int
    sender_kind: SenderKind
    sender_id: UUID | None
    sender_name: str | None
    client_id: str | None
    body: str
    visibility: Visibility
    attachments: tuple[WireAttachment, ...]
    metadata: dict[str, Any]
    created_at: datetime


class SeqAdvance(WireEvent, frozen=True):
    """Internal: "sequence `seq` exists but is not for you" (a private note), so the customer
    side's delivery stream has no hole. The gate consumes it."""

    event: ClassVar[str] = "_seq"
    server_only: ClassVar[bool] = True
    conversation_id: UUID
    seq: int


class TypingEvent(WireEvent, frozen=True):
    event: ClassVar[str] = "typing"
    conversation_id: UUID
    sender_kind: Literal["customer", "agent", "assistant"]
    sender_id: UUID | None
    sender_name: str | None
    typing: bool
    internal: bool
    expires_in: float


class ReceiptEvent(WireEvent, frozen=True):
    event: ClassVar[str] = "receipt"
    conversation_id: UUID
    reader_kind: Literal["customer", "agent"]
    reader_id: UUID
    delivered_seq: int
    read_seq: int


class PresenceEvent(WireEvent, frozen=True):
    event: ClassVar[str] = "presence"
    agent_id: UUID
    status: Literal["online", "away", "offline"]
    since: float


class TeamRef(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: UUID
    name: str


class ConversationUpdated(WireEvent, frozen=True, omit_defaults=True):
    """A conversation changed. `agent` only with "assigned", "claimed" and "transferred" (to an
    agent); `team` only with "transferred" to a team."""

    event: ClassVar[str] = "conversation_updated"
    conversation: WireConversation
    reason: str
    agent: AgentRef | None = None
    team: TeamRef | None = None


class Handover(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a person taking over from the assistant is told."""

    reason: str
    summary: str
    citations: tuple[Citation, ...]


class AssignedEvent(WireEvent, frozen=True, omit_defaults=True):
    """To the agent who got a conversation (with the assistant's hand-over when it took part)."""

    event: ClassVar[str] = "assigned"
    conversation: WireConversation
    reason: str
    agent: AgentRef
    customer: Customer | None
    handover: Handover | None = None


class UnassignedEvent(WireEvent, frozen=True):
    event: ClassVar[str] = "unassigned"
    conversation_id: UUID
    reason: str


class AssistantDelta(WireEvent, frozen=True):
    """A piece of an answer being written: ephemeral, never stored or replayed."""

    event: ClassVar[str] = "assistant_delta"
    conversation_id: UUID
    stream_id: UUID
    text: str
    restart: bool


StreamEndReason = Literal["stopped", "failed"]


class AssistantStreamEnded(WireEvent, frozen=True):
    """A stream that showed text will not become a message (a person took over, or answering
    failed): clients remove what they showed of it. At most once per stream."""

    event: ClassVar[str] = "assistant_stream_ended"
    conversation_id: UUID
    stream_id: UUID
    reason: StreamEndReason


class QueueEvent(WireEvent, frozen=True):
    """To a waiting customer: their place in line and an honest estimate."""

    event: ClassVar[str] = "queue"
    conversation_id: UUID
    team_id: UUID
    position: int
    estimated_wait_seconds: int | None
    enough_data: bool


class QueueEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One waiting conversation as agents see it in a line."""

    conversation_id: UUID
    team_id: UUID
    position: int
    priority: Literal["urgent", "high", "normal", "low"]
    queued_at: datetime | None
    wait_seconds: int
    customer_name: str | None
    preview: str
    page_url: str | None
    owner: Owner


class OfferEvent(QueueEntry, WireEvent, frozen=True):
    """Manual teams: a conversation joined the line and can be claimed."""

    event: ClassVar[str] = "offer"


class OfferWithdrawn(WireEvent, frozen=True):
    """Manual teams: an offered conversation left the line (claimed, resolved, gone)."""

    event: ClassVar[str] = "offer_withdrawn"
    conversation_id: UUID
    team_id: UUID


class QueueUpdated(WireEvent, frozen=True):
    """To a team's agents: the head of the line (at most 200 entries) and how many wait."""

    event: ClassVar[str] = "queue_updated"
    team_id: UUID
    mode: RoutingMode
    entries: tuple[QueueEntry, ...]
    total: int


class Usage(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What drafting used: tokens over all model calls, and which model."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    llm_calls: int = 0
    model: str | None = None


class ReplySuggestion(WireEvent, frozen=True, omit_defaults=True):
    """To the one agent socket that asked: a draft reply, or why there is none."""

    event: ClassVar[str] = "reply_suggestion"
    conversation_id: UUID
    request_id: UUID
    text: str
    citations: tuple[Citation, ...]
    found: bool
    mode: str | None
    error: str | None
    usage: Usage | None = None


SessionEndReason = Literal["deactivated", "password_changed"]


class SessionEnded(WireEvent, frozen=True):
    """To every socket of an agent whose sessions were ended; the server disconnects those
    sockets right after it (realtime/manager.py)."""

    event: ClassVar[str] = "session_ended"
    reason: SessionEndReason


# Every event a client can receive, in the order docs/protocol.md lists them.
CLIENT_EVENTS: tuple[type[WireEvent], ...] = (
    WireMessage,
    TypingEvent,
    ReceiptEvent,
    PresenceEvent,
    ConversationUpdated,
    AssistantDelta,
    AssistantStreamEnded,
    QueueEvent,
    QueueUpdated,
    OfferEvent,
    OfferWithdrawn,
    AssignedEvent,
    UnassignedEvent,
    ReplySuggestion,
    SessionEnded,
)
