// The console's state and everything it does: the session, presence, queues, the agent's
// conversations with their messages, and the calls that change them. Views only read it and
// call its methods; it notifies them through Observable.
import { Api, ApiError } from "./api";
import { AgentSocket, type ConnectionState } from "./socket";
import { Observable } from "./store";
import type {
  Conversation,
  CustomerProfile,
  DirectoryAgent,
  LoginAgent,
  Me,
  Message,
  PresenceStatus,
  Queue,
  QuickResponse,
  Receipt,
  Summary,
  Team,
  Typing,
} from "./types";

const TOKEN_KEY = "parley-console:token";
const AGENT_KEY = "parley-console:agent";
const PAGE_SIZE = 50;

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
}

export interface Toast {
  id: number;
  kind: "error" | "info";
  text: string;
}

export interface Directory {
  agents: DirectoryAgent[];
  teams: Team[];
}

export class Model extends Observable {
  token: string | null = sessionStorage.getItem(TOKEN_KEY);
  agent: LoginAgent | null = JSON.parse(sessionStorage.getItem(AGENT_KEY) ?? "null");
  me: Me | null = null;
  connection: ConnectionState = "connecting";
  queues = new Map<string, Queue>();
  convs = new Map<string, ConvState>();
  /** Conversations assigned to this agent (the inbox), most recently active first. */
  mine = new Set<string>();
  selectedId: string | null = null;
  directory: Directory | null = null;
  quickResponses: QuickResponse[] = [];
  profiles = new Map<string, CustomerProfile>();
  toasts: Toast[] = [];
  readonly api = new Api(
    () => this.token,
    () => this.signedOut("Your session has ended. Please sign in again."),
  );
  socket: AgentSocket | null = null;
  signInMessage: string | null = null;
  private toastId = 0;
  private connectedOnce = false;

  get isAdmin(): boolean {
    return (this.me?.role ?? this.agent?.role) === "admin";
  }

  // -- session ------------------------------------------------------------------------------
  async login(email: string, password: string): Promise<void> {
    const data = await this.api.post<{ token: string; agent: LoginAgent }>("/api/v1/auth/login", { email, password });
    this.token = data.token;
    this.agent = data.agent;
    sessionStorage.setItem(TOKEN_KEY, data.token);
    sessionStorage.setItem(AGENT_KEY, JSON.stringify(data.agent));
    this.signInMessage = null;
    this.start();
  }

  logout(): void {
    this.signedOut(null);
  }

  private signedOut(message: string | null): void {
    this.socket?.close();
    this.socket = null;
    this.token = null;
    this.agent = null;
    this.me = null;
    this.queues.clear();
    this.convs.clear();
    this.mine.clear();
    this.selectedId = null;
    this.directory = null;
    this.connectedOnce = false;
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(AGENT_KEY);
    this.signInMessage = message;
    this.changed();
  }

  /** Connect with the stored token (after login, or on a page load with a session). */
  start(): void {
    if (!this.token || this.socket) return;
    this.connection = "connecting";
    const socket = new AgentSocket(this.token);
    this.socket = socket;
    socket.on("connect", () => void this.onConnect());
    socket.on("disconnect", () => {
      this.connection = "offline";
      for (const state of this.convs.values()) state.following = false;
      this.changed();
    });
    socket.on("connect_error", (error: Error & { data?: { code?: string } }) => {
      if (error.data?.code === "unauthorized") this.signedOut("Your session has ended. Please sign in again.");
      else {
        this.connection = "offline";
        this.changed();
      }
    });
    socket.on("message", (m: Message) => this.onMessage(m));
    socket.on("typing", (t: Typing) => this.onTyping(t));
    socket.on("receipt", (r: Receipt) => this.onReceipt(r));
    socket.on("presence", (p: { agent_id: string; status: PresenceStatus; since: number }) => this.onPresence(p));
    socket.on("conversation_updated", (u: { conversation: Conversation; reason: string }) => this.onUpdated(u.conversation, u.reason));
    socket.on("queue_updated", (q: Omit<Queue, "receivedAt">) => this.onQueue(q));
    socket.on("assigned", (a: { conversation: Conversation; reason: string }) => void this.onAssigned(a.conversation, a.reason));
    socket.on("unassigned", (u: { conversation_id: string; reason: string }) => this.onUnassigned(u.conversation_id, u.reason));
    this.changed();
  }

  private async onConnect(): Promise<void> {
    this.connection = "online";
    const again = this.connectedOnce;
    this.connectedOnce = true;
    this.changed();
    try {
      await this.refreshMe();
      await Promise.all([this.loadQueues(), this.loadMine(), this.loadDirectory(), this.loadQuickResponses()]);
      // After a reconnect, every conversation still shown resumes from its last seq: the
      // server replays what this tab missed before it acknowledges.
      if (again) for (const id of this.convs.keys()) if (this.mine.has(id) || id === this.selectedId) await this.follow(id);
      if (this.selectedId) await this.follow(this.selectedId);
    } catch (error) {
      this.fail(error);
    }
  }

  call<T>(event: string, payload: unknown = {}): Promise<T> {
    if (!this.socket) return Promise.reject(new ApiError("offline", "Not connected."));
    return this.socket.call<T>(event, payload);
  }

  // -- presence and load ----------------------------------------------------------------------
  async refreshMe(): Promise<void> {
    this.me = await this.call<Me>("whoami");
    this.changed();
  }

  async setPresence(status: PresenceStatus): Promise<void> {
    try {
      const result = await this.call<{ status: PresenceStatus; since: number }>("set_presence", { status });
      if (this.me) this.me = { ...this.me, presence: result };
      this.changed();
    } catch (error) {
      this.fail(error);
    }
  }

  private onPresence(p: { agent_id: string; status: PresenceStatus; since: number }): void {
    if (this.me && p.agent_id === this.me.agent_id) this.me = { ...this.me, presence: { status: p.status, since: p.since } };
    const agent = this.directory?.agents.find((a) => a.id === p.agent_id);
    if (agent) agent.status = p.status;
    this.changed();
  }

  async loadDirectory(): Promise<void> {
    this.directory = await this.api.get<Directory>("/api/v1/directory");
    this.changed();
  }

  // -- queues ---------------------------------------------------------------------------------
  async loadQueues(): Promise<void> {
    const data = await this.call<{ queues: Omit<Queue, "receivedAt">[] }>("get_queue");
    this.queues.clear();
    for (const queue of data.queues) this.queues.set(queue.team_id, { ...queue, receivedAt: Date.now() });
    this.changed();
  }

  private onQueue(q: Omit<Queue, "receivedAt">): void {
    const known = this.queues.get(q.team_id);
    this.queues.set(q.team_id, { ...known, ...q, receivedAt: Date.now() });
    this.changed();
  }

  async claim(conversationId: string): Promise<boolean> {
    try {
      const data = await this.call<{ conversation: Conversation }>("claim", { conversation_id: conversationId });
      await this.adopt(data.conversation);
      this.toast("info", "The conversation is yours.");
      return true;
    } catch (error) {
      this.fail(error);
      return false;
    }
  }

  // -- my conversations -------------------------------------------------------------------------
  async loadMine(): Promise<void> {
    const data = await this.api.get<{ conversations: Conversation[] }>("/api/v1/conversations?assignee=me&status=open&limit=100");
    const ids = new Set<string>();
    for (const conv of data.conversations) {
      ids.add(conv.id);
      this.upsert(conv);
    }
    this.mine = ids;
    for (const id of ids) await this.follow(id);
    this.changed();
  }

  private upsert(conv: Conversation): ConvState {
    let state = this.convs.get(conv.id);
    if (!state) {
      state = {
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
      };
      this.convs.set(conv.id, state);
    } else {
      const { summary, ...rest } = conv;
      state.conv = { ...state.conv, ...rest };
      if (summary) {
        state.summary = summary;
        state.customerRead = Math.max(state.customerRead, summary.customer_read_seq);
        state.customerDelivered = Math.max(state.customerDelivered, summary.customer_delivered_seq);
      }
    }
    return state;
  }

  /** Follow a conversation live from the last seq this tab has (join replays the rest). */
  async follow(id: string): Promise<void> {
    const state = this.convs.get(id);
    if (!state || state.following) return;
    state.following = true;
    try {
      const data = await this.call<{ conversation: Conversation; delivered_up_to: number }>("join", {
        conversation_id: id,
        after_seq: state.lastSeq,
      });
      state.lastSeq = Math.max(state.lastSeq, data.delivered_up_to);
      this.upsert(data.conversation);
    } catch (error) {
      state.following = false;
      throw error;
    }
    this.changed();
  }

  /** A conversation became this agent's (claimed, assigned, transferred to them). */
  private async adopt(conv: Conversation): Promise<void> {
    const full = await this.api.get<{ conversation: Conversation }>(`/api/v1/conversations/${conv.id}`);
    this.upsert(full.conversation);
    this.mine.add(conv.id);
    await this.follow(conv.id);
    void this.refreshMe().catch(() => undefined);
    this.changed();
  }

  private async onAssigned(conv: Conversation, reason: string): Promise<void> {
    try {
      await this.adopt(conv);
      if (reason !== "claimed") this.toast("info", "A conversation was assigned to you.");
    } catch (error) {
      this.fail(error);
    }
  }

  private onUnassigned(id: string, reason: string): void {
    this.mine.delete(id);
    const state = this.convs.get(id);
    if (state) {
      const why: Record<string, string> = {
        transferred: "This conversation was transferred.",
        unassigned: "This conversation went back to the queue.",
        unanswered: "This conversation went to another agent because it was not answered in time.",
        requeued: "This conversation went back to the queue.",
      };
      state.notice = why[reason] ?? "This conversation is no longer assigned to you.";
    }
    void this.refreshMe().catch(() => undefined);
    this.changed();
  }

  private onUpdated(conv: Conversation, reason: string): void {
    const state = this.convs.get(conv.id);
    if (!state) return;
    this.upsert(conv);
    if (reason === "resolved" && this.mine.has(conv.id)) void this.refreshMe().catch(() => undefined);
    this.changed();
  }

  select(id: string | null): void {
    this.selectedId = id;
    this.changed();
    if (id) void this.open(id).catch((error) => this.fail(error));
  }

  /** Show a conversation: follow it and load its newest page of history. */
  async open(id: string): Promise<void> {
    let state = this.convs.get(id);
    if (!state) {
      const data = await this.api.get<{ conversation: Conversation }>(`/api/v1/conversations/${id}`);
      state = this.upsert(data.conversation);
    }
    await this.follow(id);
    if (!state.historyLoaded) {
      const page = await this.call<{ messages: Message[]; has_more: boolean }>("history", {
        conversation_id: id,
        before_seq: state.lastSeq + 1,
        limit: PAGE_SIZE,
      });
      this.merge(state, page.messages);
      state.historyLoaded = true;
      state.hasOlder = page.has_more;
    }
    this.markRead(id);
    if (!this.profiles.has(state.conv.customer_id)) void this.loadProfile(id);
    this.changed();
  }

  async loadOlder(id: string): Promise<void> {
    const state = this.convs.get(id);
    if (!state || !state.hasOlder || state.loadingOlder) return;
    const first = state.messages[0]?.seq;
    if (first === undefined || first <= 1) {
      state.hasOlder = false;
      this.changed();
      return;
    }
    state.loadingOlder = true;
    this.changed();
    try {
      const page = await this.call<{ messages: Message[]; has_more: boolean }>("history", {
        conversation_id: id,
        before_seq: first,
        limit: PAGE_SIZE,
      });
      this.merge(state, page.messages);
      state.hasOlder = page.has_more && page.messages.length > 0;
    } finally {
      state.loadingOlder = false;
      this.changed();
    }
  }

  private merge(state: ConvState, messages: Message[]): void {
    const bySeq = new Map(state.messages.map((m) => [m.seq, m]));
    for (const m of messages) bySeq.set(m.seq, m);
    state.messages = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  }

  private onMessage(m: Message): void {
    const state = this.convs.get(m.conversation_id);
    if (!state) return;
    state.lastSeq = Math.max(state.lastSeq, m.seq);
    this.merge(state, [m]);
    state.conv = { ...state.conv, last_seq: Math.max(state.conv.last_seq, m.seq), last_message_at: m.created_at };
    const fromMe = m.sender_kind === "agent" && m.sender_id === this.me?.agent_id;
    if (state.summary) {
      state.summary = {
        ...state.summary,
        last_message: { seq: m.seq, body: m.body, sender_kind: m.sender_kind, visibility: m.visibility, created_at: m.created_at },
        waiting_since:
          m.sender_kind === "customer"
            ? (state.summary.waiting_since ?? m.created_at)
            : m.visibility === "public" && (m.sender_kind === "agent" || m.sender_kind === "assistant")
              ? null
              : state.summary.waiting_since,
      };
    }
    // A message ends its sender's typing indicator.
    if (m.sender_id) state.typing.delete(`${m.sender_kind}:${m.sender_id}`);
    if (!fromMe) {
      if (this.isVisible(m.conversation_id)) this.markRead(m.conversation_id);
      else state.unread += 1;
    }
    this.changed();
  }

  isVisible(id: string): boolean {
    return this.selectedId === id && document.visibilityState === "visible";
  }

  /** Tell the server (and so the customer) that this agent has read everything shown. */
  markRead(id: string): void {
    const state = this.convs.get(id);
    if (!state || !this.isVisible(id)) return;
    state.unread = 0;
    if (state.summary && state.summary.my_read_seq >= state.lastSeq) return;
    if (state.summary) state.summary = { ...state.summary, my_read_seq: state.lastSeq };
    void this.call("mark_read", { conversation_id: id, seq: state.lastSeq }).catch(() => undefined);
    this.changed();
  }

  private onTyping(t: Typing): void {
    const state = this.convs.get(t.conversation_id);
    if (!state) return;
    const key = `${t.sender_kind}:${t.sender_id}`;
    if (t.typing) {
      state.typing.set(key, {
        name: t.sender_name ?? (t.sender_kind === "customer" ? "The customer" : "An agent"),
        kind: t.sender_kind,
        internal: t.internal,
        until: Date.now() + t.expires_in * 1000,
      });
      setTimeout(() => this.changed(), t.expires_in * 1000 + 50);
    } else state.typing.delete(key);
    this.changed();
  }

  private onReceipt(r: Receipt): void {
    const state = this.convs.get(r.conversation_id);
    if (!state || r.reader_kind !== "customer") return;
    state.customerRead = Math.max(state.customerRead, r.read_seq);
    state.customerDelivered = Math.max(state.customerDelivered, r.delivered_seq);
    this.changed();
  }

  // -- writing ----------------------------------------------------------------------------------
  async send(id: string, body: string, internal: boolean, attachmentIds: string[] = []): Promise<void> {
    await this.call("send_message", {
      conversation_id: id,
      client_id: crypto.randomUUID(),
      body,
      visibility: internal ? "internal" : "public",
      attachment_ids: attachmentIds,
    });
  }

  async typing(id: string, typing: boolean, internal: boolean): Promise<void> {
    await this.call("typing", { conversation_id: id, typing, internal }).catch(() => undefined);
  }

  async upload(id: string, file: File): Promise<{ id: string; filename: string; content_type: string; url: string }> {
    const form = new FormData();
    form.append("conversation_id", id);
    form.append("file", file, file.name);
    return this.api.post("/api/v1/attachments", form);
  }

  // -- routing actions ---------------------------------------------------------------------------
  async act(event: "resolve" | "reopen" | "unassign", id: string): Promise<boolean> {
    try {
      const data = await this.call<{ conversation: Conversation }>(event, { conversation_id: id });
      this.upsert(data.conversation);
      if (event === "unassign") this.mine.delete(id);
      const done = { resolve: "Resolved.", reopen: "Reopened: it is routed again.", unassign: "Sent back to the queue." };
      this.toast("info", done[event]);
      void this.refreshMe().catch(() => undefined);
      this.changed();
      return true;
    } catch (error) {
      this.fail(error);
      return false;
    }
  }

  async transfer(id: string, target: { to_agent_id?: string; to_team_id?: string }, note: string): Promise<boolean> {
    try {
      const data = await this.call<{ conversation: Conversation }>("transfer", { conversation_id: id, ...target, note: note || null });
      this.upsert(data.conversation);
      if (data.conversation.assigned_agent_id !== this.me?.agent_id) this.mine.delete(id);
      this.toast("info", "Transferred.");
      void this.refreshMe().catch(() => undefined);
      this.changed();
      return true;
    } catch (error) {
      this.fail(error);
      return false;
    }
  }

  async loadProfile(id: string): Promise<void> {
    const state = this.convs.get(id);
    if (!state) return;
    try {
      const profile = await this.api.get<CustomerProfile>(`/api/v1/conversations/${id}/customer`);
      this.profiles.set(state.conv.customer_id, profile);
      this.changed();
    } catch {
      /* the sidebar shows what the summary has */
    }
  }

  // -- quick responses -------------------------------------------------------------------------
  async loadQuickResponses(): Promise<void> {
    const data = await this.api.get<{ quick_responses: QuickResponse[] }>("/api/v1/quick-responses");
    this.quickResponses = data.quick_responses;
    this.changed();
  }

  // -- feedback ----------------------------------------------------------------------------------
  toast(kind: Toast["kind"], text: string): void {
    const toast = { id: ++this.toastId, kind, text };
    this.toasts = [...this.toasts, toast];
    this.changed();
    setTimeout(() => this.dismiss(toast.id), kind === "error" ? 8000 : 4000);
  }

  dismiss(id: number): void {
    this.toasts = this.toasts.filter((t) => t.id !== id);
    this.changed();
  }

  fail(error: unknown): void {
    const text = error instanceof ApiError ? error.message : "Something went wrong. Try again.";
    if (!(error instanceof ApiError)) console.error(error);
    this.toast("error", text);
  }
}

export const model = new Model();
