// One conversation as the console holds it, and how each server event changes it. Pure state
// updates: the model decides which conversation an event is for and when to re-render.
import type { Citation, Conversation, Handover, Message, Receipt, Summary, Typing } from "./types";

export interface TypingState {
  name: string;
  kind: string;
  internal: boolean;
  until: number;
}

export interface ConvState {
  conv: Conversation;
  summary: Summary | null;
  messages: Message[];
  /** Highest seq received from the server (replay, live, or the list's snapshot). */
  lastSeq: number;
  historyLoaded: boolean;
  hasOlder: boolean;
  loadingOlder: boolean;
  following: boolean;
  unread: number;
  typing: Map<string, TypingState>;
  customerRead: number;
  customerDelivered: number;
  notice: string | null;
  /** The assistant's answers being written (ephemeral; replaced by the final message). */
  streams: Map<string, string>;
  suggestion: Suggestion | null;
  /** The assistant's latest hand-over brief, pinned above the thread; undefined: not asked yet. */
  handover: Handover | null | undefined;
}

export interface Suggestion {
  requestId: string;
  pending: boolean;
  text: string;
  found: boolean;
  error: string | null;
}

export function createState(conv: Conversation): ConvState {
  return {
    conv,
    summary: conv.summary ?? null,
    messages: [],
    lastSeq: conv.last_seq,
    historyLoaded: false,
    hasOlder: true,
    loadingOlder: false,
    following: false,
    unread: conv.summary?.unread ?? 0,
    typing: new Map(),
    customerRead: conv.summary?.customer_read_seq ?? 0,
    customerDelivered: conv.summary?.customer_delivered_seq ?? 0,
    notice: null,
    streams: new Map(),
    suggestion: null,
    handover: undefined,
  };
}

/** A newer snapshot of the conversation (the seq this tab has is never taken from it). */
export function updateState(state: ConvState, conv: Conversation): void {
  const { summary, ...rest } = conv;
  state.conv = { ...state.conv, ...rest };
  if (summary) {
    state.summary = summary;
    state.customerRead = Math.max(state.customerRead, summary.customer_read_seq);
    state.customerDelivered = Math.max(state.customerDelivered, summary.customer_delivered_seq);
  }
}

/** Messages in seq order, each once, whichever way they came (history, replay, live). */
export function mergeMessages(state: ConvState, messages: Message[]): void {
  const bySeq = new Map(state.messages.map((m) => [m.seq, m]));
  for (const m of messages) bySeq.set(m.seq, m);
  state.messages = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** A live or replayed message: the list, the last seq, the summary, typing and streams. */
export function applyMessage(state: ConvState, m: Message): void {
  state.lastSeq = Math.max(state.lastSeq, m.seq);
  mergeMessages(state, [m]);
  state.conv = { ...state.conv, last_seq: Math.max(state.conv.last_seq, m.seq), last_message_at: m.created_at };
  if (state.summary) {
    const reply = m.visibility === "public" && (m.sender_kind === "agent" || m.sender_kind === "assistant");
    // The preview is what a person wrote last: the assistant's answers and Parley's notes (a
    // transfer, the hand-over brief) never hide the customer's last words.
    const person = m.sender_kind === "customer" || m.sender_kind === "agent";
    state.summary = {
      ...state.summary,
      last_message: person
        ? { seq: m.seq, body: m.body, sender_kind: m.sender_kind, visibility: m.visibility, created_at: m.created_at }
        : state.summary.last_message,
      // The customer waits from their first message after the last public reply.
      waiting_since: m.sender_kind === "customer" ? (state.summary.waiting_since ?? m.created_at) : reply ? null : state.summary.waiting_since,
    };
  }
  const brief = handoverOf(m);
  if (brief) setHandover(state, brief);
  const stream = m.metadata?.stream_id;
  if (typeof stream === "string") state.streams.delete(stream);
  // A message ends its sender's typing indicator.
  if (m.sender_id) state.typing.delete(`${m.sender_kind}:${m.sender_id}`);
}

export function applyTyping(state: ConvState, t: Typing, now = Date.now()): void {
  const key = `${t.sender_kind}:${t.sender_id}`;
  // The assistant stopping without a final message means its answer was dropped.
  if (t.sender_kind === "assistant" && !t.typing) state.streams.clear();
  if (t.typing) {
    state.typing.set(key, {
      name: t.sender_name ?? (t.sender_kind === "customer" ? "The customer" : "An agent"),
      kind: t.sender_kind,
      internal: t.internal,
      until: now + t.expires_in * 1000,
    });
  } else state.typing.delete(key);
}

/** Only the customer's cursors matter here: they mark the agents' messages delivered or read. */
export function applyReceipt(state: ConvState, r: Receipt): void {
  if (r.reader_kind !== "customer") return;
  state.customerRead = Math.max(state.customerRead, r.read_seq);
  state.customerDelivered = Math.max(state.customerDelivered, r.delivered_seq);
}

export function endStream(state: ConvState, streamId: string): void {
  state.streams.delete(streamId);
}

export function applyDelta(state: ConvState, d: { stream_id: string; text: string; restart: boolean }): void {
  state.streams.set(d.stream_id, (d.restart ? "" : (state.streams.get(d.stream_id) ?? "")) + d.text);
}



/** The hand-over a private brief carries (`metadata.handover` is an object only on those). */
export function handoverOf(m: Message): Handover | null {
  const raw = m.metadata?.handover;
  if (m.sender_kind !== "system" || m.visibility !== "internal" || !raw || typeof raw !== "object") return null;
  const brief = raw as Record<string, unknown>;
  const citations = Array.isArray(brief.citations) ? (brief.citations as Citation[]).filter((c) => c && typeof c.slug === "string") : [];
  return {
    seq: m.seq,
    reason: typeof brief.reason === "string" ? brief.reason : null,
    summary: typeof brief.summary === "string" ? brief.summary : "",
    citations,
    mode: typeof brief.mode === "string" ? brief.mode : undefined,
  };
}

/** A newer brief replaces the one shown (a generated summary follows the instant one). The
 * `assigned` event's copy (seq 0) only fills in until a brief note is known. */
export function setHandover(state: ConvState, brief: Handover | null): void {
  if (brief === null) {
    if (state.handover === undefined) state.handover = null;
  } else if (brief.seq === 0) {
    if (!state.handover?.seq) state.handover = brief;
  } else if (!state.handover || brief.seq >= state.handover.seq) state.handover = brief;
}
