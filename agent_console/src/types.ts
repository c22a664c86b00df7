// Wire shapes from docs/protocol.md and docs/routing.md, as the console uses them.

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

export interface Attachment {
  id: string;
  conversation_id: string;
  filename: string;
  content_type: string;
  size_bytes: number;
  url?: string;
}

export interface Message {
  id: string;
  conversation_id: string;
  seq: number;
  sender_kind: SenderKind;
  sender_id: string | null;
  sender_name: string | null;
  client_id: string | null;
  body: string;
  visibility: Visibility;
  attachments: Attachment[];
  metadata: Record<string, unknown>;
  created_at: string;
}

export interface Summary {
  customer: { id: string; name: string | null; email: string | null; identity_verified: boolean };
  last_message: { seq: number; body: string; sender_kind: SenderKind; visibility: Visibility; created_at: string } | null;
  unread: number;
  my_read_seq: number;
  customer_delivered_seq: number;
  customer_read_seq: number;
  waiting_since: string | null;
}

export interface Conversation {
  id: string;
  customer_id: string;
  status: "open" | "resolved" | "abandoned";
  assigned_agent_id: string | null;
  team_id: string | null;
  last_seq: number;
  metadata: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  last_message_at: string | null;
  resolved_at: string | null;
  priority: number;
  waiting: boolean;
  queued_at: string | null;
  assigned_at: string | null;
  summary?: Summary | null;
}

export interface QueueEntry {
  conversation_id: string;
  team_id: string;
  position: number;
  priority: "urgent" | "high" | "normal" | "low";
  queued_at: string | null;
  wait_seconds: number;
  customer_name: string | null;
  preview: string;
  page_url: string | null;
}

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

export interface Typing {
  conversation_id: string;
  sender_kind: SenderKind;
  sender_id: string;
  sender_name: string | null;
  typing: boolean;
  internal: boolean;
  expires_in: number;
}

export interface Receipt {
  conversation_id: string;
  reader_kind: "customer" | "agent";
  reader_id: string;
  delivered_seq: number;
  read_seq: number;
}

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
