// Wire shapes from docs/protocol.md and docs/routing.md, as the console uses them. Server
// events come from the generated types (./generated/wire.ts); REST shapes are declared here.
import type * as wire from "./generated/wire";

export type { ServerEvents } from "./generated/wire";

export type Role = "agent" | "admin";
export type PresenceStatus = "online" | "away" | "offline";
export type Visibility = "public" | "internal";
export type SenderKind = "customer" | "agent" | "assistant" | "system";

export interface Me {
  agent_id: string;
  display_name: string;
  role: Role;
  team_ids: string[];
  presence: { status: PresenceStatus; since: number };
  load: number;
  capacity: number;
}

export interface LoginAgent {
  id: string;
  email: string;
  display_name: string;
  role: Role;
}

export type Attachment = wire.WireAttachment;

export type Message = wire.WireMessage;

export interface Summary {
  customer: { id: string; name: string | null; email: string | null; identity_verified: boolean };
  last_message: { seq: number; body: string; sender_kind: SenderKind; visibility: Visibility; created_at: string } | null;
  unread: number;
  my_read_seq: number;
  customer_delivered_seq: number;
  customer_read_seq: number;
  waiting_since: string | null;
}

/** A conversation as events carry it, plus the list's summary (REST only). */
export interface Conversation extends wire.WireConversation {
  summary?: Summary | null;
}

export type QueueEntry = wire.QueueEntry;

export interface Queue {
  team_id: string;
  team?: string;
  name?: string;
  mode: "auto" | "manual";
  entries: QueueEntry[];
  /** Everyone waiting in the line; `entries` holds its head (docs/routing.md). */
  total?: number;
  receivedAt: number;
}

export type Typing = wire.TypingEvent;

export type Receipt = wire.ReceiptEvent;

export interface DirectoryAgent {
  id: string;
  display_name: string;
  role: Role;
  status: PresenceStatus;
  load: number;
  capacity: number;
  team_ids: string[];
}

export interface Team {
  id: string;
  slug: string;
  name: string;
  is_default?: boolean;
}

export interface QuickResponse {
  id: string;
  scope: "global" | "team" | "personal";
  team_id: string | null;
  owner_agent_id: string | null;
  shortcut: string;
  title: string;
  body: string;
  updated_at?: string;
}

export interface CustomerProfile {
  customer: {
    id: string;
    name: string | null;
    email: string | null;
    attributes: Record<string, unknown>;
    identity_verified: boolean;
    external_id: string | null;
    created_at: string;
  };
  conversations: Conversation[];
}

export interface Citation {
  slug: string;
  title: string | null;
  url: string | null;
}

/** The assistant's brief for the agent who took a conversation over (docs/protocol.md). */
export interface Handover {
  /** The brief's private note; 0 while only the `assigned` event's copy is known. */
  seq: number;
  reason: string | null;
  summary: string;
  citations: Citation[];
  mode?: string;
}
