// What the server sends and accepts (docs/protocol.md). Incoming data is checked where the
// widget depends on a shape; unknown fields are ignored so newer servers keep working.
// Event payloads come from the types generated from the server's structs.
import type * as wire from "./generated/wire";

export type { ServerEvents } from "./generated/wire";

export type Attachment = wire.WireAttachment;

export interface Citation {
  slug?: string;
  title?: string;
  url?: string;
}

export type Message = wire.WireMessage;

export interface AssignedAgent {
  id?: string;
  display_name?: string | null;
  avatar_url?: string | null;
}

export interface Conversation {
  id: string;
  status: string; // open | resolved | abandoned
  last_seq: number;
  owner?: string; // assistant | queue | human: who answers the visitor now
  assigned_agent_id?: string | null;
  assigned_agent?: AssignedAgent | null;
}

export interface AckError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export type Ack<T> = { ok: true; data: T } | { ok: false; error: AckError };

export interface FollowData {
  conversation: Conversation;
  delivered_up_to: number | null;
  created?: boolean;
  // The place in line while waiting for an agent (live `queue` events carry the changes).
  queue?: Record<string, unknown> | null;
}

export interface SendData {
  message_id: string;
  seq: number;
  client_id: string;
  duplicate: boolean;
}

/** The place in line as the widget shows it (from `queue` events and start/resume acks). */
export interface QueueInfo {
  conversation_id: string;
  position: number | null;
  estimated_wait_seconds: number | null;
  enough_data: boolean;
}

export interface WidgetSettings {
  color: string;
  position: "left" | "right";
  greeting: string | null;
  team_name: string;
  pre_chat: { name: FieldMode; email: FieldMode };
  business_hours: { open_now: boolean; text: string | null };
  agents_available: boolean | null;
  // Whether the assistant answers when nobody else can (missing on older servers).
  assistant_available?: boolean;
  language: string | null;
  websocket_only: boolean;
  max_message_length: number;
  typing_timeout_seconds: number;
  attachments: { max_bytes: number; types: string[] };
  identity_verification: boolean;
}

export type FieldMode = "required" | "optional" | "hidden";

export const DEFAULT_SETTINGS: WidgetSettings = {
  color: "#1f5fbf",
  position: "right",
  greeting: null,
  team_name: "Support",
  pre_chat: { name: "optional", email: "optional" },
  business_hours: { open_now: true, text: null },
  agents_available: null,
  language: null,
  websocket_only: false,
  max_message_length: 5000,
  typing_timeout_seconds: 6,
  attachments: { max_bytes: 10 * 1024 * 1024, types: [] },
  identity_verification: false,
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

/** A message as the widget uses it, or null when the payload is not one. Fields the view
 * calls methods on are normalised; everything it shows goes through textContent anyway. */
export function readMessage(raw: unknown): Message | null {
  if (!isObject(raw) || typeof raw.seq !== "number" || typeof raw.conversation_id !== "string") return null;
  const message = raw as unknown as Message;
  return {
    ...message,
    body: str(raw.body) ?? "",
    attachments: (Array.isArray(raw.attachments) ? raw.attachments.filter(isObject) : []).map((a) => ({
      ...(a as unknown as Attachment),
      content_type: String(a.content_type),
      size_bytes: Number(a.size_bytes) || 0,
    })),
    metadata: isObject(raw.metadata) ? raw.metadata : {},
  };
}

export function readConversation(raw: unknown): Conversation | null {
  if (!isObject(raw) || typeof raw.id !== "string") return null;
  return { ...(raw as unknown as Conversation), assigned_agent: isObject(raw.assigned_agent) ? raw.assigned_agent : null };
}

export function citationsOf(message: Message): Citation[] {
  const list = message.metadata.citations;
  if (!Array.isArray(list)) return [];
  return list.filter(isObject).map((c) => ({
    slug: str(c.slug) ?? undefined,
    title: str(c.title) ?? undefined,
    url: str(c.url) ?? undefined,
  }));
}

/** The server's settings over the defaults; only well-formed values reach the page. */
export function mergeSettings(raw: unknown): WidgetSettings {
  const merged = { ...DEFAULT_SETTINGS, ...(isObject(raw) ? raw : {}) } as WidgetSettings;
  if (!/^#[0-9a-fA-F]{6}$/.test(String(merged.color))) merged.color = DEFAULT_SETTINGS.color;
  if (merged.position !== "left") merged.position = "right";
  const pre: Record<string, unknown> = isObject(merged.pre_chat) ? merged.pre_chat : {};
  const mode = (value: unknown): FieldMode => (value === "required" || value === "hidden" ? value : "optional");
  merged.pre_chat = { name: mode(pre.name), email: mode(pre.email) };
  const hours: Record<string, unknown> = isObject(merged.business_hours) ? merged.business_hours : {};
  merged.business_hours = { open_now: hours.open_now !== false, text: str(hours.text) };
  if (typeof merged.agents_available !== "boolean") merged.agents_available = null;
  if (!isObject(merged.attachments)) merged.attachments = DEFAULT_SETTINGS.attachments;
  return merged;
}

export { isObject };
