// The customer's side of one conversation: what the widget shows, kept in step with the server
// (resume from the last seq, an outbox for unacknowledged messages, receipts, typing) and with
// the site's other tabs (through localStorage). The view only reads this state and calls verbs.

import { Connection, type LinkState } from "./connection";
import {
  type Ack,
  type AssignedAgent,
  type Attachment,
  type Conversation,
  type FollowData,
  type Message,
  type QueueInfo,
  type SendData,
  type WidgetSettings,
  isObject,
  readConversation,
  readMessage,
} from "./protocol";
import { Outbox, type Outgoing } from "./outbox";
import { newId, type Store } from "./storage";
import { Timeline } from "./timeline";

export type Phase = "new" | "waiting" | "assistant" | "agent" | "resolved";

export interface Profile {
  name?: string | null;
  email?: string | null;
  // The visitor answered (or skipped) the pre-chat form, or the site identified them.
  done?: boolean;
}

export interface Identity extends Profile {
  id: string;
  hash?: string | null;
}

export interface Notice {
  key: string;
  afterSeq: number;
  text: string;
}

export interface Upload {
  id: string;
  name: string;
  progress: number;
  cancel: () => void;
}

export type NoticeKind = "joined" | "transferred" | "requeued" | "resolvedNotice" | "reopenedNotice";

interface Saved {
  id: string;
  status: string;
  lastSeq: number;
  readSeq: number;
  staffDelivered: number;
  staffRead: number;
  agent: AssignedAgent | null;
  messages: Message[];
}

interface Visitor {
  token: string | null;
  customerId: string | null;
}

export interface ChatHooks {
  changed: () => void;
  // A message from the team arrived that this browser has not been told about yet.
  incoming: (message: Message, fresh: boolean) => void;
  notice: (kind: NoticeKind, name: string) => string;
  error: (text: string) => void;
}

// Codes that mean "sending this again will not help".
const FINAL_ERRORS = new Set(["validation_failed", "too_large", "forbidden", "conflict", "bad_request", "unknown_field"]);
const CACHE_SIZE = 200;
// Typing is refreshed at most every 2 s, and always before the server would let it expire.
const TYPING_EVERY_MS = 2000;
const TYPING_IDLE_MS = 5000;

export class Chat {
  conversation: Conversation | null = null;
  timeline = new Timeline();
  readonly outbox: Outbox;
  // Acknowledged by the server, not yet back as a `message` event: shown as sent.
  readonly acked = new Map<string, Outgoing>();
  readonly sending = new Set<string>();
  staffDelivered = 0;
  staffRead = 0;
  readSeq = 0;
  agent: AssignedAgent | null = null;
  routing: string | null = null;
  queue: QueueInfo | null = null;
  readonly streams = new Map<string, string>();
  readonly typing = new Map<string, { name: string | null; until: number }>();
  notices: Notice[] = [];
  uploads: Upload[] = [];
  humanRequest: "requested" | "unavailable" | null = null;
  link: LinkState = "connecting";
  profile: Profile;
  #identity: Identity | null = null;
  #attributes: Record<string, unknown>;
  #starting: Promise<Conversation | null> | null = null;
  // Messages replayed by start_conversation arrive before its ack names the conversation.
  #strays: Message[] = [];
  #flushing: Promise<void> | null = null;
  #connectRound = 0;
  #deliveredSent = 0;
  #readSent = 0;
  #typingActive = false;
  #typingSentAt = 0;
  #typingIdle = 0;
  #deliverTimer = 0;
  readonly connection: Connection;

  readonly #store: Store;
  readonly #hooks: ChatHooks;

  constructor(
    readonly server: string,
    readonly settings: WidgetSettings,
    store: Store,
    hooks: ChatHooks,
    websocketOnly: boolean,
  ) {
    this.#store = store;
    this.#hooks = hooks;
    this.outbox = new Outbox(store);
    this.profile = store.get<Profile>("profile") ?? {};
    this.#attributes = store.get<Record<string, unknown>>("attributes") ?? {};
    this.#restore(store.get<Saved>("conversation"));
    this.connection = new Connection({
      server,
      websocketOnly,
      token: () => this.visitor().token,
      forgetToken: () => store.remove("visitor"),
      onState: (state) => {
        this.link = state;
        if (state !== "online") this.#typingActive = false;
        this.#hooks.changed();
      },
      onConnect: () => void this.#connected(),
    });
    this.#listen();
    store.watch("conversation", () => this.#fromOtherTab());
    store.watch("outbox", () => {
      this.outbox.reload();
      this.#hooks.changed();
    });
  }

  start(): void {
    this.connection.start();
  }

  // -- what the view shows ----------------------------------------------------------------

  get phase(): Phase {
    const conversation = this.conversation;
    if (!conversation) return "new";
    if (conversation.status !== "open") return "resolved";
    if (this.agent || conversation.assigned_agent || conversation.assigned_agent_id) return "agent";
    if (this.routing === "queued" || this.routing === "requeued") return "waiting";
    const staff = this.#lastStaffMessage();
    if (this.streams.size || staff?.sender_kind === "assistant") return "assistant";
    if (staff?.sender_kind === "agent") return "agent";
    return "waiting";
  }

  /** Who is helping: the assigned agent, else whoever of the team wrote last. */
  get helper(): AssignedAgent | null {
    const assigned = this.agent ?? this.conversation?.assigned_agent ?? null;
    if (assigned?.display_name) return assigned;
    const staff = this.#lastStaffMessage();
    return staff?.sender_kind === "agent" ? { id: staff.sender_id ?? undefined, display_name: staff.sender_name } : null;
  }

  get unread(): number {
    return this.timeline.list().filter((m) => m.seq > this.readSeq && isStaff(m)).length;
  }

  /** Whether to offer the "leave us a message" form instead of a live chat. */
  get away(): boolean {
    const s = this.settings;
    const nobody = s.agents_available === false && !s.assistant_available;
    return !s.business_hours.open_now || nobody;
  }

  get started(): boolean {
    return this.conversation !== null || this.outbox.all().length > 0;
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

  // -- verbs the view and the API call --------------------------------------------------

  send(body: string, attachments: Attachment[] = []): void {
    const text = body.trim() ? body : "";
    if (!text && !attachments.length) return;
    this.#stopTyping(false);
    this.outbox.add({ clientId: newId(), body: text, attachments, createdAt: new Date().toISOString() });
    this.#hooks.changed();
    void this.flush();
  }

  retry(clientId: string): void {
    this.outbox.update(clientId, { failed: null });
    this.#hooks.changed();
    void this.flush();
  }

  discard(clientId: string): void {
    this.outbox.remove(clientId);
    this.#hooks.changed();
  }

  /** Name and email for the conversation; `start` begins it now (the pre-chat form). */
  saveProfile(profile: Profile, start = false): void {
    this.profile = { ...this.profile, ...dropEmpty(profile), done: true };
    this.#store.set("profile", this.profile);
    this.#hooks.changed();
    if (start && this.connection.online) void this.ensureConversation();
  }

  identify(identity: Identity): void {
    this.#identity = identity;
    this.saveProfile({ name: identity.name, email: identity.email });
    this.setAttributes({ user_id: identity.id });
    if (identity.hash && this.connection.online) void this.#connected();
  }

  setAttributes(attributes: Record<string, unknown>): void {
    this.#attributes = { ...this.#attributes, ...attributes };
    this.#store.set("attributes", this.#attributes);
    const conversation = this.conversation;
    if (conversation?.status === "open" && this.connection.online) {
      // start_conversation merges the attributes into the customer and returns this
      // conversation, replaying only what came after the seq we have.
      void this.#call<FollowData>("start_conversation", { attributes: this.#attributes, after_seq: this.timeline.lastSeq });
    }
  }

  /** Forget this browser's visitor (a site's sign-out): the next chat starts anonymous. */
  reset(): void {
    for (const key of ["visitor", "conversation", "outbox", "profile", "attributes", "notified"]) this.#store.remove(key);
    this.#forgetConversation();
    this.outbox.clear();
    this.#identity = null;
    this.profile = {};
    this.#attributes = {};
    this.#hooks.changed();
    this.connection.socket.disconnect();
    this.connection.start();
  }

  async startNew(): Promise<void> {
    this.#forgetConversation();
    this.#hooks.changed();
    await this.ensureConversation(true);
  }

  composerChanged(text: string): void {
    clearTimeout(this.#typingIdle);
    if (!this.conversation || !this.connection.online) return;
    if (!text.trim()) {
      this.#stopTyping(true);
      return;
    }
    const now = Date.now();
    const every = Math.min(TYPING_EVERY_MS, (Number(this.settings.typing_timeout_seconds) || 6) * 500);
    if (!this.#typingActive || now - this.#typingSentAt >= every) {
      this.connection.signal("typing", { conversation_id: this.conversation.id, typing: true });
      this.#typingActive = true;
      this.#typingSentAt = now;
    }
    this.#typingIdle = setTimeout(() => this.#stopTyping(true), TYPING_IDLE_MS);
  }

  /** The customer has seen everything shown: clears the unread count in every tab. Cheap to
   * call on every render; it only talks to the server when there is something new. */
  markRead(): void {
    const seq = this.timeline.lastSeq;
    if (!this.conversation || seq <= 0) return;
    if (seq > this.readSeq) {
      this.readSeq = seq;
      this.#persist();
      this.#hooks.changed();
    }
    if (seq > this.#readSent && this.connection.online) {
      this.#readSent = seq;
      this.connection.signal("mark_read", { conversation_id: this.conversation.id, seq });
    }
  }

  async requestHuman(): Promise<void> {
    const conversation = this.conversation;
    if (!conversation) return;
    try {
      const ack = await this.connection.call<unknown>("request_human", { conversation_id: conversation.id });
      // A server without a human hand-off answers with an error: say so instead of waiting.
      this.humanRequest = ack.ok ? "requested" : "unavailable";
    } catch {
      this.humanRequest = "unavailable";
    }
    this.#hooks.changed();
  }


  /** Fresh signed download links for one message (they expire after an hour). */
  async refreshLinks(seq: number): Promise<void> {
    const conversation = this.conversation;
    if (!conversation) return;
    const ack = await this.#call<{ messages: unknown[] }>("history", {
      conversation_id: conversation.id,
      after_seq: seq - 1,
      before_seq: seq + 1,
      limit: 1,
    });
    const message = ack?.ok ? readMessage(ack.data.messages[0]) : null;
    if (message && message.seq === seq) {
      this.timeline.replace(message);
      this.#hooks.changed();
    }
  }

  visitor(): Visitor {
    return this.#store.get<Visitor>("visitor") ?? { token: null, customerId: null };
  }

  /** The conversation to upload to, starting one if needed (attachments need one). */
  async ensureConversation(forceNew = false): Promise<Conversation | null> {
    if (this.conversation && !forceNew) return this.conversation;
    if (!this.#starting) {
      this.#starting = this.#startConversation(forceNew).finally(() => {
        this.#starting = null;
      });
    }
    return this.#starting;
  }

  // -- talking to the server ------------------------------------------------------------

  async #call<T>(event: string, data: unknown): Promise<Ack<T> | null> {
    try {
      return await this.connection.call<T>(event, data);
    } catch {
      return null; // not connected or timed out: the caller retries on the next connect
    }
  }

  async #connected(): Promise<void> {
    const round = ++this.#connectRound;
    const session = await this.#call<{ customer_id: string; visitor_token: string }>("session", {});
    if (!session?.ok || round !== this.#connectRound) return;
    this.#store.set("visitor", { token: session.data.visitor_token, customerId: session.data.customer_id });
    if (this.#identity?.hash) {
      const identified = await this.#call<{ visitor_token: string; customer_id: string; switched: boolean }>("identify", {
        user_id: this.#identity.id,
        hash: this.#identity.hash,
        name: this.#identity.name || null,
        email: this.#identity.email || null,
      });
      if (identified?.ok) {
        this.#store.set("visitor", { token: identified.data.visitor_token, customerId: identified.data.customer_id });
        // Another customer now: their conversations, not the anonymous visitor's.
        if (identified.data.switched) this.#forgetConversation();
      }
    }
    if (round !== this.#connectRound) return;
    if (!this.conversation) await this.#findOpenConversation();
    if (this.conversation) await this.#resume(this.conversation.id);
    else if (this.outbox.all().length) await this.ensureConversation();
    if (round !== this.#connectRound) return;
    await this.flush();
    this.#deliveredSent = this.#readSent = 0;
    this.#scheduleDelivered();
    this.#hooks.changed();
  }

  /** A visitor known on this server but new to this browser (a verified user on another
   * device, or cleared storage) continues their open conversation. */
  async #findOpenConversation(): Promise<void> {
    const ack = await this.#call<{ conversations: unknown[] }>("list_conversations", { status: "open", limit: 1 });
    const found = ack?.ok ? readConversation(ack.data.conversations[0]) : null;
    if (found && !this.conversation) this.conversation = found;
  }

  async #resume(conversationId: string): Promise<void> {
    const ack = await this.#call<FollowData>("resume", { conversation_id: conversationId, after_seq: this.timeline.lastSeq });
    if (!ack) return;
    if (!ack.ok) {
      // Not ours any more (a new visitor token, say): start afresh rather than loop on it.
      if (ack.error.code === "not_found") this.#forgetConversation();
      return;
    }
    this.#adopt(ack.data);
  }

  async #startConversation(forceNew: boolean): Promise<Conversation | null> {
    const ack = await this.#call<FollowData>("start_conversation", {
      name: this.profile.name || null,
      email: this.profile.email || null,
      attributes: this.#attributes,
      page_url: location.href.slice(0, 2000),
      referrer: document.referrer ? document.referrer.slice(0, 2000) : null,
      new: forceNew,
      after_seq: this.timeline.lastSeq,
    });
    if (!ack?.ok) {
      if (ack) this.#hooks.error(ack.error.message);
      return null;
    }
    if (this.conversation && this.conversation.id !== ack.data.conversation.id) this.#forgetConversation();
    this.#adopt(ack.data);
    const strays = this.#strays;
    this.#strays = [];
    for (const message of strays) this.#onMessage(message);
    return this.conversation;
  }

  #adopt(data: FollowData): void {
    const conversation = readConversation(data.conversation);
    if (!conversation) return;
    this.conversation = conversation;
    if (conversation.assigned_agent) this.agent = conversation.assigned_agent;
    if (typeof data.delivered_up_to === "number") {
      this.timeline.lastSeq = Math.max(this.timeline.lastSeq, data.delivered_up_to);
    }
    this.#persist();
    this.#hooks.changed();
  }

  /** Sends the outbox in order, one message at a time, once per tab at a time. Other tabs may
   * send the same messages concurrently: each tab still sends in order and waits for every
   * ack, and a repeated client_id is answered with the original, so nothing doubles. */
  flush(): Promise<void> {
    this.#flushing ??= this.#flushLoop().finally(() => {
      this.#flushing = null;
    });
    return this.#flushing;
  }

  async #flushLoop(): Promise<void> {
    for (let item = this.outbox.next(); item && this.connection.online; item = this.outbox.next()) {
      const conversation = await this.ensureConversation();
      if (!conversation) return;
      this.sending.add(item.clientId);
      this.#hooks.changed();
      const ack = await this.#call<SendData>("send_message", {
        conversation_id: conversation.id,
        client_id: item.clientId,
        body: item.body,
        attachment_ids: item.attachments.map((a) => a.id),
      });
      this.sending.delete(item.clientId);
      if (!ack) return; // disconnected or no answer: the next connect sends it again
      if (ack.ok) {
        this.outbox.remove(item.clientId);
        if (!this.timeline.hasClientId(item.clientId)) this.acked.set(item.clientId, item);
      } else if (FINAL_ERRORS.has(ack.error.code)) {
        this.outbox.update(item.clientId, { failed: ack.error.message });
      } else if (ack.error.code === "not_found") {
        // The conversation is gone for us; the next round starts a new one.
        this.#forgetConversation();
      } else {
        setTimeout(() => void this.flush(), 3000);
        return;
      }
      this.#hooks.changed();
    }
  }

  #stopTyping(announce: boolean): void {
    clearTimeout(this.#typingIdle);
    if (this.#typingActive && announce && this.conversation) {
      this.connection.signal("typing", { conversation_id: this.conversation.id, typing: false });
    }
    this.#typingActive = false;
  }

  #scheduleDelivered(): void {
    clearTimeout(this.#deliverTimer);
    this.#deliverTimer = setTimeout(() => {
      const seq = this.timeline.lastSeq;
      if (!this.conversation || seq <= this.#deliveredSent || !this.connection.online) return;
      this.#deliveredSent = seq;
      this.connection.signal("mark_delivered", { conversation_id: this.conversation.id, seq });
    }, 250);
  }

  // -- events from the server ------------------------------------------------------------

  #listen(): void {
    const socket = this.connection.socket;
    socket.on("message", (raw: unknown) => this.#onMessage(raw));
    socket.on("receipt", (raw: unknown) => {
      if (!isObject(raw) || raw.conversation_id !== this.conversation?.id || raw.reader_kind === "customer") return;
      this.staffDelivered = Math.max(this.staffDelivered, Number(raw.delivered_seq) || 0);
      this.staffRead = Math.max(this.staffRead, Number(raw.read_seq) || 0);
      this.#persist();
      this.#hooks.changed();
    });
    socket.on("typing", (raw: unknown) => {
      if (!isObject(raw) || raw.conversation_id !== this.conversation?.id || raw.sender_kind === "customer") return;
      const key = String(raw.sender_id ?? raw.sender_kind);
      if (raw.typing === true) {
        const seconds = typeof raw.expires_in === "number" ? raw.expires_in : 6;
        this.typing.set(key, { name: typeof raw.sender_name === "string" ? raw.sender_name : null, until: Date.now() + seconds * 1000 });
        setTimeout(() => this.#hooks.changed(), seconds * 1000 + 50);
      } else {
        this.typing.delete(key);
      }
      this.#hooks.changed();
    });
    socket.on("conversation_updated", (raw: unknown) => {
      if (isObject(raw)) this.#onConversationUpdated(readConversation(raw.conversation), String(raw.reason ?? ""));
    });
    socket.on("queue", (raw: unknown) => {
      if (!isObject(raw) || raw.conversation_id !== this.conversation?.id) return;
      this.queue = {
        conversation_id: String(raw.conversation_id),
        position: typeof raw.position === "number" ? raw.position : null,
        estimated_wait_seconds: typeof raw.estimated_wait_seconds === "number" ? raw.estimated_wait_seconds : null,
        enough_data: raw.enough_data === true,
      };
      this.#hooks.changed();
    });
    socket.on("assistant_delta", (raw: unknown) => {
      if (!isObject(raw) || raw.conversation_id !== this.conversation?.id || typeof raw.text !== "string") return;
      const stream = String(raw.stream_id ?? "");
      this.streams.set(stream, (this.streams.get(stream) ?? "") + raw.text);
      this.#hooks.changed();
    });
  }

  #onMessage(raw: unknown): void {
    const message = readMessage(raw);
    if (!message) return;
    if (message.conversation_id !== this.conversation?.id) {
      if (this.#starting) this.#strays.push(message);
      return;
    }
    // Delivery is in order and once per socket; a seq we already have came from this tab's
    // cache or another tab, and is dropped.
    if (!this.timeline.add(message)) return;
    if (message.client_id && message.sender_kind === "customer") {
      this.acked.delete(message.client_id);
      this.outbox.remove(message.client_id);
    }
    if (isStaff(message)) {
      if (message.sender_id) this.typing.delete(message.sender_id);
      // An agent's post moves their receipts to it without a receipt event: they have seen
      // everything before their own answer.
      if (message.sender_kind === "agent") {
        this.staffDelivered = Math.max(this.staffDelivered, message.seq);
        this.staffRead = Math.max(this.staffRead, message.seq);
      }
      if (message.sender_kind === "assistant") this.#endStream(message);
      if (this.routing === "queued" || this.routing === "requeued") this.routing = null;
      const notified = this.#store.get<number>("notified") ?? 0;
      const fresh = message.seq > Math.max(notified, this.readSeq);
      if (fresh) this.#store.set("notified", message.seq);
      this.#hooks.incoming(message, fresh);
    } else {
      this.#hooks.incoming(message, false);
    }
    this.#persist();
    this.#scheduleDelivered();
    this.#hooks.changed();
  }

  #endStream(message: Message): void {
    const stream = message.metadata.stream_id;
    if (typeof stream === "string" && this.streams.has(stream)) this.streams.delete(stream);
    else this.streams.clear();
  }

  #onConversationUpdated(conversation: Conversation | null, reason: string): void {
    if (!conversation) return;
    const current = this.conversation;
    if (current?.id !== conversation.id) {
      // Another tab of this visitor started a conversation: follow it here too.
      if (reason === "created" && conversation.status === "open" && !this.#starting && current?.status !== "open") {
        this.#forgetConversation();
        this.conversation = conversation;
        void this.#resume(conversation.id);
        this.#hooks.changed();
      }
      return;
    }
    this.conversation = { ...current, ...conversation };
    const agentName = conversation.assigned_agent?.display_name ?? "";
    if (reason === "assigned" || reason === "transferred") {
      this.agent = conversation.assigned_agent ?? null;
      this.routing = reason;
      this.queue = null;
      this.#addNotice(reason === "assigned" ? "joined" : "transferred", agentName || this.settings.team_name);
    } else if (reason === "queued" || reason === "requeued") {
      this.agent = null;
      this.routing = reason;
      if (reason === "requeued") this.#addNotice("requeued", "");
    } else if (reason === "resolved") {
      this.queue = null;
      this.humanRequest = null;
      this.#addNotice("resolvedNotice", "");
    } else if (reason === "reopened") {
      this.#addNotice("reopenedNotice", "");
    }
    this.#persist();
    this.#hooks.changed();
  }

  #addNotice(kind: NoticeKind, name: string): void {
    const afterSeq = this.timeline.lastSeq;
    this.notices.push({ key: `${kind}:${afterSeq}:${this.notices.length}`, afterSeq, text: this.#hooks.notice(kind, name) });
  }

  // -- persistence and other tabs ---------------------------------------------------------

  #restore(saved: Saved | null): void {
    if (!saved || typeof saved.id !== "string") return;
    this.conversation = { id: saved.id, status: saved.status, last_seq: saved.lastSeq };
    this.agent = saved.agent ?? null;
    this.#merge(saved);
  }

  #merge(saved: Saved): void {
    for (const raw of saved.messages ?? []) {
      const message = readMessage(raw);
      if (message) this.timeline.add(message);
    }
    for (const message of saved.messages ?? []) if (message.client_id) this.acked.delete(message.client_id);
    this.timeline.lastSeq = Math.max(this.timeline.lastSeq, saved.lastSeq || 0);
    this.readSeq = Math.max(this.readSeq, saved.readSeq || 0);
    this.staffDelivered = Math.max(this.staffDelivered, saved.staffDelivered || 0);
    this.staffRead = Math.max(this.staffRead, saved.staffRead || 0);
  }

  #persist(): void {
    const conversation = this.conversation;
    if (!conversation) return;
    const stored = this.#store.get<Saved>("conversation");
    if (stored?.id === conversation.id) this.#merge(stored);
    const saved: Saved = {
      id: conversation.id,
      status: conversation.status,
      lastSeq: this.timeline.lastSeq,
      readSeq: this.readSeq,
      staffDelivered: this.staffDelivered,
      staffRead: this.staffRead,
      agent: this.agent,
      messages: this.timeline.tail(CACHE_SIZE),
    };
    this.#store.set("conversation", saved);
  }

  #fromOtherTab(): void {
    const stored = this.#store.get<Saved>("conversation");
    if (!stored) {
      if (this.conversation) {
        this.#forgetConversation(false);
        this.#hooks.changed();
      }
      return;
    }
    if (stored.id === this.conversation?.id) {
      this.#merge(stored);
      this.conversation = { ...this.conversation, status: stored.status };
    } else {
      this.#forgetConversation(false);
      this.#restore(stored);
      if (this.connection.online) void this.#resume(stored.id);
    }
    this.#hooks.changed();
  }

  #forgetConversation(persist = true): void {
    this.conversation = null;
    this.timeline = new Timeline();
    this.acked.clear();
    this.staffDelivered = this.staffRead = this.readSeq = 0;
    this.#deliveredSent = this.#readSent = 0;
    this.agent = null;
    this.routing = null;
    this.queue = null;
    this.streams.clear();
    this.typing.clear();
    this.notices = [];
    this.humanRequest = null;
    if (persist) this.#store.remove("conversation");
  }
}

function isStaff(message: Message): boolean {
  return message.sender_kind === "agent" || message.sender_kind === "assistant";
}

function dropEmpty(profile: Profile): Profile {
  const out: Profile = {};
  if (profile.name?.trim()) out.name = profile.name.trim();
  if (profile.email?.trim()) out.email = profile.email.trim();
  return out;
}
