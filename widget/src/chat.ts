// The visitor's side of the chat, kept in step with the server and with the site's other tabs:
// resume from the last seq after every reconnect, an outbox of unacknowledged messages sent in
// order with their client ids, receipts and typing. What the view shows is `state`.

import { Connection, type LinkState } from "./connection";
import { ConversationState, type NoticeKind, type Saved, isStaff } from "./conversation";
import { Outbox } from "./outbox";
import {
  type Ack,
  type Attachment,
  type Conversation,
  type FollowData,
  type Message,
  type SendData,
  type WidgetSettings,
  isObject,
  readConversation,
  readMessage,
} from "./protocol";
import { newId, type Store } from "./storage";

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

export interface Upload {
  id: string;
  name: string;
  progress: number;
  cancel: () => void;
}

interface Visitor {
  token: string | null;
  customerId: string | null;
}

export interface ChatHooks {
  changed: () => void;
  // A new message; `fresh` when it is from the team and this browser was not told yet.
  incoming: (message: Message, fresh: boolean) => void;
  notice: (kind: NoticeKind, name: string) => string;
  error: (text: string) => void;
}

// Codes that mean "sending this again will not help".
const FINAL_ERRORS = new Set(["validation_failed", "too_large", "forbidden", "conflict", "bad_request", "unknown_field"]);
// Typing is refreshed at most every 2 s, and always before the server would let it expire.
const TYPING_EVERY_MS = 2000;
const TYPING_IDLE_MS = 5000;

export class Chat {
  state: ConversationState;
  readonly outbox: Outbox;
  readonly sending = new Set<string>();
  uploads: Upload[] = [];
  link: LinkState = "connecting";
  profile: Profile;
  readonly connection: Connection;
  readonly #store: Store;
  readonly #hooks: ChatHooks;
  #identity: Identity | null = null;
  #attributes: Record<string, unknown>;
  #starting: Promise<Conversation | null> | null = null;
  // Messages replayed by start_conversation arrive before its ack names the conversation.
  #strays: Message[] = [];
  // And so are its routing changes (a free agent is assigned at once).
  #strayUpdates: Record<string, unknown>[] = [];
  #flushing: Promise<void> | null = null;
  #connectRound = 0;
  #deliveredSent = 0;
  #readSent = 0;
  #typingActive = false;
  #typingSentAt = 0;
  #typingIdle = 0;
  #deliverTimer = 0;

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
    this.state = ConversationState.restore(store.get<Saved>("conversation"));
    this.connection = new Connection({
      server,
      websocketOnly,
      token: () => this.visitor().token,
      forgetToken: () => store.remove("visitor"),
      onState: (state) => {
        this.link = state;
        if (state !== "online") this.#typingActive = false;
        hooks.changed();
      },
      onConnect: () => void this.#connected(),
    });
    this.#listen();
    store.watch("conversation", () => this.#fromOtherTab());
    store.watch("outbox", () => {
      this.outbox.reload();
      hooks.changed();
    });
  }

  start(): void {
    this.connection.start();
  }

  /** Whether to offer the "leave us a message" form instead of a live chat. */
  get away(): boolean {
    const s = this.settings;
    const nobody = s.agents_available === false && !s.assistant_available;
    return !s.business_hours.open_now || nobody;
  }

  get started(): boolean {
    return this.state.conversation !== null || this.outbox.all().length > 0;
  }

  visitor(): Visitor {
    return this.#store.get<Visitor>("visitor") ?? { token: null, customerId: null };
  }

  // -- verbs the view and the page call -------------------------------------------------

  send(body: string, attachments: Attachment[] = []): void {
    const text = body.trim() ? body : "";
    if (!text && !attachments.length) return;
    this.#stopTyping(false); // the server ends typing with the message
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
    if (this.state.conversation?.status === "open" && this.connection.online) {
      // start_conversation merges the attributes into the customer and returns this
      // conversation, replaying only what came after the seq we have.
      void this.#call("start_conversation", { attributes: this.#attributes, after_seq: this.state.timeline.lastSeq });
    }
  }

  /** Forget this browser's visitor (a site's sign-out): the next chat starts anonymous. */
  reset(): void {
    for (const key of ["visitor", "profile", "attributes", "notified"]) this.#store.remove(key);
    this.#forget();
    this.outbox.clear();
    this.#identity = null;
    this.profile = {};
    this.#attributes = {};
    this.#hooks.changed();
    this.connection.socket.disconnect();
    this.connection.start();
  }

  async startNew(): Promise<void> {
    this.#forget();
    this.#hooks.changed();
    await this.ensureConversation(true);
  }

  composerChanged(text: string): void {
    clearTimeout(this.#typingIdle);
    const conversation = this.state.conversation;
    if (!conversation || !this.connection.online) return;
    if (!text.trim()) {
      this.#stopTyping(true);
      return;
    }
    const now = Date.now();
    const every = Math.min(TYPING_EVERY_MS, (Number(this.settings.typing_timeout_seconds) || 6) * 500);
    if (!this.#typingActive || now - this.#typingSentAt >= every) {
      this.connection.signal("typing", { conversation_id: conversation.id, typing: true });
      this.#typingActive = true;
      this.#typingSentAt = now;
    }
    this.#typingIdle = setTimeout(() => this.#stopTyping(true), TYPING_IDLE_MS);
  }

  /** The visitor has seen the conversation up to `upTo` (everything by default): clears the
   * unread count in every tab. Cheap to call on every render and scroll; it only talks to the
   * server when there is something new. */
  markRead(upTo?: number): void {
    const { conversation, timeline } = this.state;
    const seq = Math.min(upTo ?? timeline.lastSeq, timeline.lastSeq);
    if (!conversation || seq <= 0) return;
    if (seq > this.state.readSeq) {
      this.state.readSeq = seq;
      this.#persist();
      this.#hooks.changed();
    }
    if (seq > this.#readSent && this.connection.online) {
      this.#readSent = seq;
      this.connection.signal("mark_read", { conversation_id: conversation.id, seq });
    }
  }

  /** "Talk to a person": the conversation waits in line for one (the assistant confirms). */
  async requestHuman(): Promise<void> {
    const id = this.state.conversation?.id;
    if (!id) return;
    const ack = await this.#call<FollowData>("request_human", { conversation_id: id });
    if (ack?.ok) this.#adopt(ack.data);
    else this.#hooks.error(ack?.error.message ?? ""); // "" = not connected
  }

  /** Fresh signed download links for one message (they expire after an hour). */
  async refreshLinks(seq: number): Promise<void> {
    const state = this.state;
    if (!state.conversation) return;
    const ack = await this.#call<{ messages: unknown[] }>("history", {
      conversation_id: state.conversation.id,
      after_seq: seq - 1,
      before_seq: seq + 1,
      limit: 1,
    });
    const message = ack?.ok ? readMessage(ack.data.messages[0]) : null;
    if (message?.seq === seq) {
      state.timeline.replace(message);
      this.#hooks.changed();
    }
  }

  /** The current conversation, starting one if needed (uploads need one). */
  ensureConversation(forceNew = false): Promise<Conversation | null> {
    if (this.state.conversation && !forceNew) return Promise.resolve(this.state.conversation);
    this.#starting ??= this.#startConversation(forceNew).finally(() => {
      this.#starting = null;
    });
    return this.#starting;
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

  // -- talking to the server ------------------------------------------------------------

  async #call<T = unknown>(event: string, data: unknown): Promise<Ack<T> | null> {
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
    const identity = this.#identity;
    if (identity?.hash) {
      const identified = await this.#call<{ visitor_token: string; customer_id: string; switched: boolean }>("identify", {
        user_id: identity.id,
        hash: identity.hash,
        name: identity.name || null,
        email: identity.email || null,
      });
      if (identified?.ok) {
        this.#store.set("visitor", { token: identified.data.visitor_token, customerId: identified.data.customer_id });
        // Another customer now: their conversations, not the anonymous visitor's.
        if (identified.data.switched) this.#forget();
      }
    }
    if (round !== this.#connectRound) return;
    if (!this.state.conversation) await this.#findOpenConversation();
    const conversation = this.state.conversation;
    if (conversation) await this.#resume(conversation.id);
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
    if (found && !this.state.conversation) this.state = new ConversationState(found);
  }

  async #resume(conversationId: string): Promise<void> {
    const ack = await this.#call<FollowData>("resume", { conversation_id: conversationId, after_seq: this.state.timeline.lastSeq });
    if (!ack) return;
    if (ack.ok) this.#adopt(ack.data);
    // Not ours any more (a new visitor token, say): start afresh rather than loop on it.
    else if (ack.error.code === "not_found") this.#forget();
  }

  async #startConversation(forceNew: boolean): Promise<Conversation | null> {
    const ack = await this.#call<FollowData>("start_conversation", {
      name: this.profile.name || null,
      email: this.profile.email || null,
      attributes: this.#attributes,
      page_url: location.href.slice(0, 2000),
      referrer: document.referrer.slice(0, 2000) || null,
      new: forceNew,
      after_seq: this.state.timeline.lastSeq,
    });
    if (!ack?.ok) {
      this.#strayUpdates = [];
      if (ack) this.#hooks.error(ack.error.message);
      return null;
    }
    const notices = this.state.notices;
    if (this.state.conversation?.id !== ack.data.conversation.id) this.#forget();
    this.state.notices = notices; // shown while the conversation was being started
    this.#adopt(ack.data);
    for (const message of this.#strays.splice(0)) this.#onMessage(message);
    for (const raw of this.#strayUpdates.splice(0)) {
      this.#onConversationUpdated(readConversation(raw.conversation), String(raw.reason ?? ""), raw);
    }
    return this.state.conversation;
  }

  #adopt(data: FollowData): void {
    const conversation = readConversation(data.conversation);
    if (!conversation) return;
    const state = this.state;
    state.conversation = conversation;
    if (conversation.assigned_agent) state.agent = conversation.assigned_agent;
    if (data.queue) state.queued(data.queue);
    else if (data.queue === null) state.queue = null;
    if (typeof data.delivered_up_to === "number") {
      state.timeline.lastSeq = Math.max(state.timeline.lastSeq, data.delivered_up_to);
    }
    this.#persist();
    this.#hooks.changed();
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
        if (!this.state.timeline.hasClientId(item.clientId)) this.state.acked.set(item.clientId, item);
      } else if (FINAL_ERRORS.has(ack.error.code)) {
        this.outbox.update(item.clientId, { failed: ack.error.message });
      } else if (ack.error.code === "not_found") {
        this.#forget(); // the conversation is gone for us; the next round starts a new one
      } else {
        setTimeout(() => void this.flush(), 3000);
        return;
      }
      this.#hooks.changed();
    }
  }

  #stopTyping(announce: boolean): void {
    clearTimeout(this.#typingIdle);
    const conversation = this.state.conversation;
    if (this.#typingActive && announce && conversation) {
      this.connection.signal("typing", { conversation_id: conversation.id, typing: false });
    }
    this.#typingActive = false;
  }

  #scheduleDelivered(): void {
    clearTimeout(this.#deliverTimer);
    this.#deliverTimer = setTimeout(() => {
      const { conversation, timeline } = this.state;
      const seq = timeline.lastSeq;
      if (!conversation || seq <= this.#deliveredSent || !this.connection.online) return;
      this.#deliveredSent = seq;
      this.connection.signal("mark_delivered", { conversation_id: conversation.id, seq });
    }, 250);
  }

  // -- events from the server ------------------------------------------------------------

  #listen(): void {
    const socket = this.connection.socket;
    // Signals for the followed conversation only; each changes the state, then the view.
    const on = (event: string, apply: (raw: Record<string, unknown>, state: ConversationState) => unknown) =>
      socket.on(event, (raw: unknown) => {
        const state = this.state;
        if (!isObject(raw) || raw.conversation_id !== state.conversation?.id) return;
        apply(raw, state);
        this.#hooks.changed();
      });
    socket.on("message", (raw: unknown) => this.#onMessage(raw));
    on("receipt", (raw, state) => {
      state.receipt(raw);
      this.#persist();
    });
    on("typing", (raw, state) => {
      if (raw.sender_kind === "customer") return;
      setTimeout(this.#hooks.changed, state.typingChanged(raw) + 50);
    });
    on("queue", (raw, state) => state.queued(raw));
    on("assistant_delta", (raw, state) => state.streamed(raw));
    on("assistant_stream_ended", (raw, state) => state.streamEnded(raw));
    socket.on("conversation_updated", (raw: unknown) => {
      if (!isObject(raw)) return;
      if (this.#starting) this.#strayUpdates.push(raw);
      else this.#onConversationUpdated(readConversation(raw.conversation), String(raw.reason ?? ""), raw);
    });
  }

  #onMessage(raw: unknown): void {
    const message = readMessage(raw);
    if (!message) return;
    const state = this.state;
    if (message.conversation_id !== state.conversation?.id) {
      if (this.#starting) this.#strays.push(message);
      return;
    }
    // Delivery is in order and once per socket; a seq this tab already has (from its cache
    // or another tab) is dropped.
    if (!state.add(message)) return;
    if (message.client_id && message.sender_kind === "customer") this.outbox.remove(message.client_id);
    let fresh = false;
    if (isStaff(message)) {
      // One alert per message per browser, however many tabs receive it.
      const notified = this.#store.get<number>("notified") ?? 0;
      fresh = message.seq > Math.max(notified, state.readSeq);
      if (fresh) this.#store.set("notified", message.seq);
    }
    this.#hooks.incoming(message, fresh);
    this.#persist();
    this.#scheduleDelivered();
    this.#hooks.changed();
  }

  #onConversationUpdated(conversation: Conversation | null, reason: string, raw: Record<string, unknown>): void {
    if (!conversation) return;
    const state = this.state;
    if (state.conversation?.id === conversation.id) {
      const notice = state.updated(conversation, reason, raw);
      if (notice) state.addNotice(this.#hooks.notice(notice[0], notice[1] || this.settings.team_name));
      this.#persist();
    } else if (reason === "created" && conversation.status === "open" && !this.#starting && state.conversation?.status !== "open") {
      // Another tab of this visitor started a conversation: follow it here too.
      this.#forget();
      this.state = new ConversationState(conversation);
      void this.#resume(conversation.id);
    }
    this.#hooks.changed();
  }

  // -- persistence and other tabs ---------------------------------------------------------

  #persist(): void {
    const state = this.state;
    const stored = this.#store.get<Saved>("conversation");
    if (stored?.id === state.conversation?.id && stored) state.merge(stored);
    const saved = state.saved();
    if (saved) this.#store.set("conversation", saved);
  }

  #fromOtherTab(): void {
    const stored = this.#store.get<Saved>("conversation");
    const current = this.state.conversation;
    if (stored && stored.id === current?.id) {
      this.state.merge(stored);
      current.status = stored.status;
    } else if (stored) {
      // Another tab started a new conversation (or became another customer).
      this.#forget(false);
      this.state = ConversationState.restore(stored);
      if (this.connection.online) void this.#resume(stored.id);
    } else if (current) {
      this.#forget(false); // another tab forgot the visitor
    }
    this.#hooks.changed();
  }

  #forget(persist = true): void {
    this.state = new ConversationState();
    this.#deliveredSent = this.#readSent = 0;
    if (persist) this.#store.remove("conversation");
  }
}

function dropEmpty(profile: Profile): Profile {
  const out: Profile = {};
  if (profile.name?.trim()) out.name = profile.name.trim();
  if (profile.email?.trim()) out.email = profile.email.trim();
  return out;
}
