// Conversations as an agent reads and writes them: following one live, its history pages,
// messages, typing, receipts, the assistant's stream and suggested replies, the customer's
// profile and the hand-over brief.
import {
  applyDelta,
  endStream,
  applyMessage,
  applyReceipt,
  applyTyping,
  createState,
  mergeMessages,
  setHandover,
  updateState,
  type ConvState,
} from "./conversation";
import { ApiError } from "./api";
import { backoffDelay, pause } from "./retry";
import { ConsoleSession } from "./session";
import type { Conversation, CustomerProfile, Handover, Message, Receipt, Typing } from "./types";

const PAGE_SIZE = 50;
// Answers after which sending the same message again may succeed; anything else is final.
const RETRYABLE = new Set(["timeout", "unavailable", "internal", "offline"]);
const SEND_ATTEMPTS = 6;

export abstract class Threads extends ConsoleSession {
  convs = new Map<string, ConvState>();
  selectedId: string | null = null;
  profiles = new Map<string, CustomerProfile>();
  // Messages not yet acknowledged, by their content: the client_id each keeps until it is.
  private pendingSends = new Map<string, string>();

  protected upsert(conv: Conversation): ConvState {
    const known = this.convs.get(conv.id);
    if (known) {
      updateState(known, conv);
      return known;
    }
    const state = createState(conv);
    this.convs.set(conv.id, state);
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
      mergeMessages(state, page.messages);
      state.historyLoaded = true;
      state.hasOlder = page.has_more;
    }
    this.markRead(id);
    if (!this.profiles.has(state.conv.customer_id)) void this.loadProfile(id);
    if (state.handover === undefined) void this.loadHandover(id);
    this.changed();
  }

  async loadOlder(id: string): Promise<void> {
    const state = this.convs.get(id);
    if (!state?.hasOlder || state.loadingOlder) return;
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
      mergeMessages(state, page.messages);
      state.hasOlder = page.has_more && page.messages.length > 0;
    } finally {
      state.loadingOlder = false;
      this.changed();
    }
  }

  protected onMessage(m: Message): void {
    const state = this.convs.get(m.conversation_id);
    if (!state) return;
    applyMessage(state, m);
    const fromMe = m.sender_kind === "agent" && m.sender_id === this.me?.agent_id;
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

  protected onTyping(t: Typing): void {
    const state = this.convs.get(t.conversation_id);
    if (!state) return;
    applyTyping(state, t);
    // Re-render when an indicator that got no refresh expires.
    if (t.typing) setTimeout(() => this.changed(), t.expires_in * 1000 + 50);
    this.changed();
  }

  protected onReceipt(r: Receipt): void {
    const state = this.convs.get(r.conversation_id);
    if (!state) return;
    applyReceipt(state, r);
    this.changed();
  }

  protected onStreamEnded(d: { conversation_id: string; stream_id: string }): void {
    const state = this.convs.get(d.conversation_id);
    if (!state) return;
    endStream(state, d.stream_id);
    this.changed();
  }

  protected onDelta(d: { conversation_id: string; stream_id: string; text: string; restart: boolean }): void {
    const state = this.convs.get(d.conversation_id);
    if (!state) return;
    applyDelta(state, d);
    this.changed();
  }

  /** Ask the assistant for a draft reply from the help center; it arrives as reply_suggestion. */
  async suggest(id: string): Promise<void> {
    const state = this.convs.get(id);
    if (!state) return;
    try {
      const ack = await this.call<{ request_id: string }>("suggest_reply", { conversation_id: id });
      state.suggestion = { requestId: ack.request_id, pending: true, text: "", found: false, error: null };
    } catch (error) {
      this.fail(error);
    }
    this.changed();
  }

  protected onSuggestion(r: { conversation_id: string; request_id: string; text: string; found: boolean; error: string | null }): void {
    const state = this.convs.get(r.conversation_id);
    if (!state || state.suggestion?.requestId !== r.request_id) return;
    state.suggestion = { requestId: r.request_id, pending: false, text: r.text, found: r.found, error: r.error };
    this.changed();
  }

  dismissSuggestion(id: string): void {
    const state = this.convs.get(id);
    if (state) state.suggestion = null;
    this.changed();
  }

  // -- writing ----------------------------------------------------------------------------------
  /** Send a message, retrying what may succeed later. Every attempt, including the agent
   * pressing Send again after a failure, carries the same client_id: a message that was
   * stored but whose answer was lost is answered with the original, never stored twice. */
  async send(id: string, body: string, internal: boolean, attachmentIds: string[] = []): Promise<void> {
    const key = JSON.stringify([id, body, internal, attachmentIds]);
    let clientId = this.pendingSends.get(key);
    if (!clientId) {
      clientId = crypto.randomUUID();
      this.pendingSends.set(key, clientId);
    }
    const payload = {
      conversation_id: id,
      client_id: clientId,
      body,
      visibility: internal ? "internal" : "public",
      attachment_ids: attachmentIds,
    };
    for (let attempt = 0; ; attempt++) {
      try {
        await this.call("send_message", payload);
        this.pendingSends.delete(key);
        return;
      } catch (error) {
        const code = error instanceof ApiError ? error.code : "internal";
        if (!RETRYABLE.has(code) || attempt + 1 >= SEND_ATTEMPTS) {
          if (!RETRYABLE.has(code)) this.pendingSends.delete(key);
          throw error;
        }
        await pause(backoffDelay(attempt));
        await this.socket?.whenConnected(10_000);
      }
    }
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

  /** The pinned brief, however far back its note is in the history. */
  async loadHandover(id: string): Promise<void> {
    const state = this.convs.get(id);
    if (!state) return;
    try {
      const data = await this.api.get<{ handover: Handover | null }>(`/api/v1/conversations/${id}/handover`);
      setHandover(state, data.handover);
      this.changed();
    } catch {
      /* the brief note is still in the thread */
    }
  }

}
