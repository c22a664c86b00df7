// The console's state and everything it does: the session, presence, queues, the agent's
// conversations with their messages, and the calls that change them. Views only read it and
// call its methods; it notifies them through Observable. The session (./session) and the
// conversations themselves (./threads) are the layers it builds on.
import { setHandover } from "./conversation";
import { AgentSocket } from "./socket";
import { AGENT_KEY, TOKEN_KEY } from "./session";
import { Threads } from "./threads";
import type {
  Conversation,
  DirectoryAgent,
  Handover,
  LoginAgent,
  Me,
  PresenceStatus,
  Queue,
  QuickResponse,
  Team,
} from "./types";

export interface Directory {
  agents: DirectoryAgent[];
  teams: Team[];
}

export type { ConvState, Suggestion, TypingState } from "./conversation";
export type { Toast } from "./session";

export class Model extends Threads {
  queues = new Map<string, Queue>();
  /** Conversations assigned to this agent (the inbox), most recently active first. */
  mine = new Set<string>();
  /** The agent's resolved conversations, loaded when that list is shown. */
  resolved: string[] = [];
  directory: Directory | null = null;
  quickResponses: QuickResponse[] = [];
  private connectedOnce = false;
  /** While this tab changes its own password: its session ends, and the new token follows. */
  private renewing = false;
  /** While the inbox list is being fetched, what events changed in it meanwhile (id to
   * whether it became or stopped being mine): the fetched list may predate them. */
  private inboxEdits: Map<string, boolean> | null = null;

  // -- session ------------------------------------------------------------------------------
  async login(email: string, password: string): Promise<void> {
    this.signedIn(await this.api.post<{ token: string; agent: LoginAgent }>("/api/v1/auth/login", { email, password }));
  }

  /** Exchange a Supabase access token for a Parley token; the server verifies it. */
  async loginWithSupabase(accessToken: string): Promise<void> {
    this.signedIn(
      await this.api.post<{ token: string; agent: LoginAgent }>("/api/v1/auth/supabase", { access_token: accessToken }),
    );
  }

  private signedIn(data: { token: string; agent: LoginAgent }): void {
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

  /** Change the agent's own password. The server ends every session, this tab's socket
   * included, and answers with a new token: this tab reconnects with it. */
  async changePassword(current: string, next: string): Promise<void> {
    this.renewing = true;
    try {
      const data = await this.api.post<{ token: string }>("/api/v1/me/password", { current_password: current, new_password: next });
      this.token = data.token;
      sessionStorage.setItem(TOKEN_KEY, data.token);
      this.socket?.close();
      this.socket = null;
      this.connectedOnce = false;
      this.start();
    } finally {
      this.renewing = false;
    }
  }

  protected signedOut(message: string | null): void {
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
    socket.onEvent("session_ended", (e) => {
      if (this.renewing) return;
      this.signedOut(
        e.reason === "deactivated"
          ? "Your account has been deactivated."
          : "Your password was changed, so this session has ended. Please sign in again.",
      );
    });
    socket.onEvent("message", (m) => this.onMessage(m));
    socket.onEvent("typing", (t) => this.onTyping(t));
    socket.onEvent("receipt", (r) => this.onReceipt(r));
    socket.onEvent("presence", (p) => this.onPresence(p));
    socket.onEvent("conversation_updated", (u) => this.onUpdated(u.conversation, u.reason));
    socket.onEvent("queue_updated", (q) => this.onQueue(q));
    socket.onEvent("assigned", (a) => void this.onAssigned(a.conversation, a.reason, a.handover ?? undefined));
    socket.onEvent("unassigned", (u) => this.onUnassigned(u.conversation_id, u.reason));
    socket.onEvent("assistant_delta", (d) => this.onDelta(d));
    socket.onEvent("assistant_stream_ended", (d) => this.onStreamEnded(d));
    socket.onEvent("reply_suggestion", (r) => this.onSuggestion(r));
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
    const edits = new Map<string, boolean>();
    this.inboxEdits = edits;
    let data: { conversations: Conversation[] };
    try {
      data = await this.api.get<{ conversations: Conversation[] }>("/api/v1/conversations?assignee=me&status=open&limit=100");
    } finally {
      if (this.inboxEdits === edits) this.inboxEdits = null;
    }
    const ids = new Set<string>();
    for (const conv of data.conversations) {
      ids.add(conv.id);
      this.upsert(conv);
    }
    for (const [id, isMine] of edits) {
      if (isMine) ids.add(id);
      else ids.delete(id);
    }
    this.mine = ids;
    for (const id of ids) await this.follow(id);
    this.changed();
  }

  async loadResolved(): Promise<void> {
    try {
      const data = await this.api.get<{ conversations: Conversation[] }>("/api/v1/conversations?assignee=me&status=resolved&limit=50");
      this.resolved = data.conversations.map((c) => this.upsert(c).conv.id);
      this.changed();
    } catch (error) {
      this.fail(error);
    }
  }

  async setPriority(id: string, priority: string): Promise<void> {
    try {
      const data = await this.call<{ conversation: Conversation }>("set_priority", { conversation_id: id, priority });
      this.upsert(data.conversation);
      this.changed();
    } catch (error) {
      this.fail(error);
    }
  }

  private setMine(id: string, isMine: boolean): void {
    if (isMine) this.mine.add(id);
    else this.mine.delete(id);
    this.inboxEdits?.set(id, isMine);
  }

  /** A conversation became this agent's (claimed, assigned, transferred to them). */
  private async adopt(conv: Conversation): Promise<void> {
    const full = await this.api.get<{ conversation: Conversation }>(`/api/v1/conversations/${conv.id}`);
    this.upsert(full.conversation);
    this.setMine(conv.id, true);
    await this.follow(conv.id);
    void this.refreshMe().catch(() => undefined);
    this.changed();
  }

  private async onAssigned(conv: Conversation, reason: string, handover?: Omit<Handover, "seq">): Promise<void> {
    try {
      if (handover) setHandover(this.upsert(conv), { ...handover, seq: 0 });
      await this.adopt(conv);
      if (reason !== "claimed") this.toast("info", "A conversation was assigned to you.");
    } catch (error) {
      this.fail(error);
    }
  }

  private onUnassigned(id: string, reason: string): void {
    this.setMine(id, false);
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

  // -- routing actions ---------------------------------------------------------------------------
  async act(event: "resolve" | "reopen" | "unassign", id: string): Promise<boolean> {
    const done = { resolve: "Resolved.", reopen: "Reopened: it is routed again.", unassign: "Sent back to the queue." };
    return this.reroute(event, { conversation_id: id }, done[event], event === "unassign");
  }

  async transfer(id: string, target: { to_agent_id?: string; to_team_id?: string }, note: string): Promise<boolean> {
    return this.reroute("transfer", { conversation_id: id, ...target, note: note || null }, "Transferred.", true);
  }

  /** A routing action on one conversation; one that can take it away (`mayLeave`) leaves the
   * inbox unless it is still mine. */
  private async reroute(event: string, payload: Record<string, unknown>, done: string, mayLeave: boolean): Promise<boolean> {
    try {
      const data = await this.call<{ conversation: Conversation }>(event, payload);
      this.upsert(data.conversation);
      if (mayLeave && data.conversation.assigned_agent_id !== this.me?.agent_id) this.setMine(data.conversation.id, false);
      this.toast("info", done);
      void this.refreshMe().catch(() => undefined);
      this.changed();
      return true;
    } catch (error) {
      this.fail(error);
      return false;
    }
  }

  // -- quick responses -------------------------------------------------------------------------
  async loadQuickResponses(): Promise<void> {
    const data = await this.api.get<{ quick_responses: QuickResponse[] }>("/api/v1/quick-responses");
    this.quickResponses = data.quick_responses;
    this.changed();
  }

}

export const model = new Model();
