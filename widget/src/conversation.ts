// One conversation as the visitor sees it: messages, the team's receipts, who is helping,
// typing, the queue and streamed assistant text. Plain state without I/O: the Chat feeds it
// what the server says and persists what it returns; forgetting it is making a new one.

import type { Outgoing } from "./outbox";
import { type AssignedAgent, type Conversation, type Message, type QueueInfo, isObject, readMessage } from "./protocol";
import { Timeline } from "./timeline";

export type Phase = "new" | "waiting" | "assistant" | "agent" | "resolved";

export type NoticeKind = "joined" | "transferred" | "requeued" | "resolvedNotice" | "reopenedNotice";

export interface Notice {
  key: string;
  afterSeq: number;
  text: string;
}

/** What localStorage keeps of a conversation (shared by the site's tabs). */
export interface Saved {
  id: string;
  status: string;
  lastSeq: number;
  readSeq: number;
  staffDelivered: number;
  staffRead: number;
  agent: AssignedAgent | null;
  messages: Message[];
}

const CACHE_SIZE = 200;

export class ConversationState {
  conversation: Conversation | null;
  readonly timeline = new Timeline();
  // Acknowledged by the server, not yet back as a `message` event: shown as sent.
  readonly acked = new Map<string, Outgoing>();
  // How far the team has received and read (the highest of any agent).
  staffDelivered = 0;
  staffRead = 0;
  // How far the visitor has read, in any tab.
  readSeq = 0;
  agent: AssignedAgent | null = null;
  // The last routing change the server announced (queued, assigned, ...).
  routing: string | null = null;
  // Team messages up to here were written before the last routing change: their writers are
  // not who helps now.
  #routedSeq = 0;
  queue: QueueInfo | null = null;
  readonly streams = new Map<string, string>();
  readonly typing = new Map<string, { name: string | null; until: number }>();
  notices: Notice[] = [];

  constructor(conversation: Conversation | null = null) {
    this.conversation = conversation;
    this.agent = conversation?.assigned_agent ?? null;
  }

  static restore(saved: Saved | null): ConversationState {
    if (!saved || typeof saved.id !== "string") return new ConversationState();
    const state = new ConversationState({ id: saved.id, status: saved.status, last_seq: saved.lastSeq });
    state.agent = saved.agent ?? null;
    state.merge(saved);
    return state;
  }

  // -- what the view shows --------------------------------------------------------------

  get phase(): Phase {
    const conversation = this.conversation;
    if (!conversation) return "new";
    if (conversation.status !== "open") return "resolved";
    if (this.agent || conversation.assigned_agent || conversation.assigned_agent_id) return "agent";
    // The server says who answers now; an answer streaming in is the assistant's too.
    if (conversation.owner === "assistant" || this.streams.size) return "assistant";
    if (this.routing === "queued" || this.routing === "requeued") return "waiting";
    // Someone of the team who is not assigned (an admin, say) is answering.
    return this.#answering() ? "agent" : "waiting";
  }

  /** Who is helping: the assigned agent, else whoever of the team wrote last. */
  get helper(): AssignedAgent | null {
    const assigned = this.agent ?? this.conversation?.assigned_agent ?? null;
    if (assigned?.display_name) return assigned;
    const staff = this.#answering();
    return staff ? { id: staff.sender_id ?? undefined, display_name: staff.sender_name } : null;
  }

  /** An agent's message since the last routing change: someone unassigned is answering. */
  #answering(): Message | undefined {
    const staff = this.#lastStaffMessage();
    return staff?.sender_kind === "agent" && staff.seq > this.#routedSeq ? staff : undefined;
  }

  get unread(): number {
    return this.timeline.list().filter((m) => m.seq > this.readSeq && isStaff(m)).length;
  }

  typingNames(): (string | null)[] {
    const now = Date.now();
    return [...this.typing.values()].filter((t) => t.until > now).map((t) => t.name);
  }

  #lastStaffMessage(): Message | undefined {
    const list = this.timeline.list();
    for (let i = list.length - 1; i >= 0; i--) if (isStaff(list[i])) return list[i];
    return undefined;
  }

  // -- what the server says -------------------------------------------------------------

  /** A message of this conversation; false when it is already here. */
  add(message: Message): boolean {
    if (!this.timeline.add(message)) return false;
    if (message.client_id && message.sender_kind === "customer") this.acked.delete(message.client_id);
    if (!isStaff(message)) return true;
    if (message.sender_id) this.typing.delete(message.sender_id);
    if (message.sender_kind === "agent") {
      // An agent's post moves their receipts to it without a receipt event: they have seen
      // everything before their own answer.
      this.staffDelivered = Math.max(this.staffDelivered, message.seq);
      this.staffRead = Math.max(this.staffRead, message.seq);
    } else {
      // The final assistant message replaces its streamed text.
      const stream = message.metadata.stream_id;
      if (typeof stream === "string" && this.streams.has(stream)) this.streams.delete(stream);
      else this.streams.clear();
    }
    if (this.routing === "queued" || this.routing === "requeued") this.routing = null;
    return true;
  }

  receipt(raw: Record<string, unknown>): void {
    if (raw.reader_kind === "customer") return;
    this.staffDelivered = Math.max(this.staffDelivered, Number(raw.delivered_seq) || 0);
    this.staffRead = Math.max(this.staffRead, Number(raw.read_seq) || 0);
  }

  /** A typing change from the team; returns how long a start lasts, in ms. */
  typingChanged(raw: Record<string, unknown>): number {
    const key = String(raw.sender_id ?? raw.sender_kind);
    const lasts = (typeof raw.expires_in === "number" ? raw.expires_in : 6) * 1000;
    if (raw.typing === true) {
      this.typing.set(key, { name: typeof raw.sender_name === "string" ? raw.sender_name : null, until: Date.now() + lasts });
    } else {
      this.typing.delete(key);
      // The assistant stopped without posting what it streamed (a person took over): drop it.
      if (raw.sender_kind === "assistant") this.streams.clear();
    }
    return lasts;
  }

  queued(raw: Record<string, unknown>): void {
    this.queue = {
      conversation_id: String(raw.conversation_id),
      position: typeof raw.position === "number" ? raw.position : null,
      estimated_wait_seconds: typeof raw.estimated_wait_seconds === "number" ? raw.estimated_wait_seconds : null,
      enough_data: raw.enough_data === true,
    };
  }

  /** A streamed answer that will not be posted: remove what was shown of it. */
  streamEnded(raw: Record<string, unknown>): void {
    this.streams.delete(String(raw.stream_id ?? ""));
  }

  streamed(raw: Record<string, unknown>): void {
    if (typeof raw.text !== "string") return;
    const stream = String(raw.stream_id ?? "");
    // A restart replaces what was shown (the model failed and the help center is quoted).
    this.streams.set(stream, (raw.restart ? "" : (this.streams.get(stream) ?? "")) + raw.text);
  }

  /** A conversation_updated for this conversation; returns the notice to show, if any. */
  updated(conversation: Conversation, reason: string, extra: Record<string, unknown> = {}): [NoticeKind, string] | null {
    // A customer's reopening message is announced twice (reopened, then back in line): the
    // status changes once, and so does the notice.
    const was = this.conversation?.status;
    this.conversation = { ...this.conversation, ...conversation };
    const agent = (isObject(extra.agent) ? (extra.agent as AssignedAgent) : null) ?? conversation.assigned_agent ?? null;
    const routed = reason === "assigned" || reason === "claimed" || reason === "transferred";
    if (routed || reason === "queued" || reason === "requeued") this.#routedSeq = this.timeline.lastSeq;
    if (reason === "transferred" && !agent) {
      // To a team: it waits in that team's line; the event names the team.
      this.agent = null;
      this.routing = "queued";
      const team = isObject(extra.team) ? String(extra.team.name ?? "") : "";
      return team ? ["transferred", team] : ["requeued", ""];
    }
    if (routed) {
      this.agent = agent;
      this.routing = reason;
      this.queue = null;
      return [reason === "transferred" ? "transferred" : "joined", agent?.display_name ?? ""];
    }
    if (reason === "queued" || reason === "requeued") {
      this.agent = null;
      this.routing = reason;
      return reason === "requeued" ? ["requeued", ""] : null;
    }
    if (reason === "resolved" || reason === "reopened") {
      // Whoever helped before is released; a reopened conversation waits for anyone.
      if (!conversation.assigned_agent_id) this.agent = null;
      this.#routedSeq = this.timeline.lastSeq;
    }
    if (reason === "resolved") {
      this.queue = null;
      return was === "resolved" ? null : ["resolvedNotice", ""];
    }
    return reason === "reopened" && was !== "open" ? ["reopenedNotice", ""] : null;
  }

  addNotice(text: string, afterSeq = this.timeline.lastSeq): void {
    this.notices.push({ key: `${afterSeq}:${this.notices.length}`, afterSeq, text });
  }

  // -- persistence ----------------------------------------------------------------------

  /** Take in what another tab (or an earlier page) saved of the same conversation. */
  merge(saved: Saved): void {
    for (const raw of saved.messages ?? []) {
      const message = readMessage(raw);
      if (message) this.add(message);
    }
    this.timeline.lastSeq = Math.max(this.timeline.lastSeq, saved.lastSeq || 0);
    this.readSeq = Math.max(this.readSeq, saved.readSeq || 0);
    this.staffDelivered = Math.max(this.staffDelivered, saved.staffDelivered || 0);
    this.staffRead = Math.max(this.staffRead, saved.staffRead || 0);
  }

  saved(): Saved | null {
    const conversation = this.conversation;
    if (!conversation) return null;
    return {
      id: conversation.id,
      status: conversation.status,
      lastSeq: this.timeline.lastSeq,
      readSeq: this.readSeq,
      staffDelivered: this.staffDelivered,
      staffRead: this.staffRead,
      agent: this.agent,
      messages: this.timeline.tail(CACHE_SIZE),
    };
  }
}

export function isStaff(message: Message): boolean {
  return message.sender_kind === "agent" || message.sender_kind === "assistant";
}

