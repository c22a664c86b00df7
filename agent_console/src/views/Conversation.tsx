import type { ComponentChildren } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { bytes, clock, customerName, HANDOVER_REASON, PRIORITY_LABEL } from "../format";
import { handoverOf } from "../conversation";
import { model, type ConvState } from "../model";
import { go } from "../router";
import { useObservable, useTicker } from "../store";
import type { Message } from "../types";
import { Composer } from "./Composer";
import { Sidebar } from "./Sidebar";
import { TransferDialog } from "./Transfer";

export function ConversationView({ id }: { id: string }) {
  useObservable(model);
  const state = model.convs.get(id);
  const [transferring, setTransferring] = useState(false);
  // Wide screens show the customer beside the thread; narrower ones open it as an overlay.
  const [showSidebar, setShowSidebar] = useState(() => matchMedia("(min-width: 1181px)").matches);
  const composerRef = useRef<HTMLTextAreaElement>(null);

  // Keyboard shortcuts for the frequent actions (event.code: layout- and Option-key-proof).
  useEffect(() => {
    function onKey(event: KeyboardEvent) {
      if (!event.altKey || event.ctrlKey || event.metaKey || !state) return;
      const open = state.conv.status === "open";
      const actions: Record<string, () => void> = {
        KeyR: () => void model.act(open ? "resolve" : "reopen", id),
        KeyT: () => open && setTransferring(true),
        KeyU: () => open && state.conv.assigned_agent_id && void model.act("unassign", id),
        KeyJ: () => step(1),
        KeyK: () => step(-1),
        Slash: () => composerRef.current?.focus(),
      };
      const action = actions[event.code];
      if (action) {
        event.preventDefault();
        action();
      }
    }
    function step(delta: number) {
      const ids = [...document.querySelectorAll<HTMLElement>(".conv-item")].map((el) => el.dataset.conversation!);
      const next = ids[ids.indexOf(id) + delta];
      if (next) go(`inbox/${next}`);
    }
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, [id, state?.conv.status, state?.conv.assigned_agent_id]);

  if (!state) return <div class="placeholder">Loading…</div>;
  const conv = state.conv;
  const summary = state.summary;
  const name = customerName(summary?.customer.name, summary?.customer.email);
  const open = conv.status === "open";
  const mine = conv.assigned_agent_id === model.me?.agent_id;
  return (
    <div class={`conversation ${showSidebar ? "with-sidebar" : ""}`} data-conversation={id}>
      <section class="thread" aria-label={`Conversation with ${name}`}>
        <header class="thread-head">
          <button class="btn ghost back" type="button" onClick={() => go("inbox")} aria-label="Back to the list">
            ‹
          </button>
          <div class="title">
            <h2>{name}</h2>
            <span class="muted small">
              <span class={`status ${conv.status}`} data-testid="status">{conv.status}</span>
              {" · "}
              {open && (mine || model.isAdmin) ? (
                <select
                  class="inline-select"
                  aria-label="Priority"
                  value={PRIORITY_LABEL[conv.priority]}
                  onChange={(e) => void model.setPriority(id, e.currentTarget.value)}
                >
                  {["urgent", "high", "normal", "low"].map((p) => (
                    <option key={p} value={p}>
                      priority {p}
                    </option>
                  ))}
                </select>
              ) : (
                `priority ${PRIORITY_LABEL[conv.priority] ?? conv.priority}`
              )}
              {!mine && conv.assigned_agent_id && " · assigned to someone else"}
              {!conv.assigned_agent_id && open && " · unassigned"}
            </span>
          </div>
          <div class="thread-actions">
            {open && (
              <button class="btn" type="button" title="Transfer (Alt+T)" onClick={() => setTransferring(true)}>
                Transfer
              </button>
            )}
            {open && conv.assigned_agent_id && (
              <button class="btn" type="button" title="Back to the queue (Alt+U)" onClick={() => void model.act("unassign", id)}>
                Unassign
              </button>
            )}
            {open ? (
              <button class="btn primary" type="button" title="Resolve (Alt+R)" onClick={() => void model.act("resolve", id)}>
                Resolve
              </button>
            ) : (
              <button class="btn" type="button" title="Reopen (Alt+R)" onClick={() => void model.act("reopen", id)}>
                Reopen
              </button>
            )}
            <button class="btn ghost" type="button" aria-pressed={showSidebar} title="Customer details" onClick={() => setShowSidebar(!showSidebar)}>
              Details
            </button>
          </div>
        </header>
        {state.notice && (
          <div class="notice" role="status">
            {state.notice}
          </div>
        )}
        {state.handover && <HandoverBrief key={state.handover.seq} state={state} />}
        <MessageLog state={state} />
        <TypingLine state={state} />
        <Composer key={id} state={state} inputRef={composerRef} />
      </section>
      {showSidebar && <Sidebar state={state} onClose={() => setShowSidebar(false)} />}
      {transferring && <TransferDialog id={id} onClose={() => setTransferring(false)} />}
    </div>
  );
}

/** The assistant's brief, pinned above the thread: why it handed over, what the customer asked,
 * the articles it cited. Folds away once read (the agent answered, or folded it: remembered per
 * brief in this browser); a newer brief opens again. */
function HandoverBrief({ state }: { state: ConvState }) {
  const brief = state.handover!;
  const reason = (brief.reason && HANDOVER_REASON[brief.reason]) ?? "Handed over";
  const inThread = brief.seq > 0 && state.messages.some((m) => m.seq === brief.seq);
  const key = `parley:brief-folded:${state.conv.id}:${brief.seq}`;
  const answered = state.messages.some((m) => m.sender_kind === "agent" && m.seq > brief.seq);
  const [folded, setFolded] = useState(() => answered || localStorage.getItem(key) === "1");
  useEffect(() => {
    if (answered) setFolded(true);
  }, [answered]);
  return (
    <details
      class="handover"
      open={!folded}
      data-testid="handover"
      onToggle={(e) => {
        const nowFolded = !e.currentTarget.open;
        if (nowFolded === folded) return;
        setFolded(nowFolded);
        localStorage.setItem(key, nowFolded ? "1" : "0");
      }}
    >
      <summary>
        <span class="handover-title">Handed over by the assistant</span>
        <span class="muted small"> · {reason}</span>
        {folded && brief.summary && <span class="handover-peek muted small ellipsis"> · {brief.summary}</span>}
      </summary>
      <div class="handover-body">
        <p class="handover-summary">{brief.summary || "No summary."}</p>
        {brief.citations.length > 0 && (
          <div class="handover-cited">
            <span class="muted small">Articles cited to the customer</span>
            <ul>
              {brief.citations.map((c) => (
                <li key={c.slug}>
                  {c.url ? (
                    <a href={c.url} target="_blank" rel="noopener noreferrer">
                      {c.title ?? c.slug}
                    </a>
                  ) : (
                    <span>{c.title ?? c.slug}</span>
                  )}{" "}
                  <code class="muted small">{c.slug}</code>
                </li>
              ))}
            </ul>
          </div>
        )}
        {inThread && (
          <button
            class="btn ghost small"
            type="button"
            onClick={() => document.querySelector(`.log [data-seq="${brief.seq}"]`)?.scrollIntoView({ block: "center" })}
          >
            Show in the thread
          </button>
        )}
      </div>
    </details>
  );
}

function MessageLog({ state }: { state: ConvState }) {
  const ref = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const previousFirst = useRef<{ seq: number | undefined; height: number }>({ seq: undefined, height: 0 });
  const messages = state.messages;

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const first = messages[0]?.seq;
    if (previousFirst.current.seq !== undefined && first !== undefined && first < previousFirst.current.seq) {
      // Older messages went in above: keep what the agent was reading where it was.
      el.scrollTop += el.scrollHeight - previousFirst.current.height;
    } else if (stick.current) el.scrollTop = el.scrollHeight;
    previousFirst.current = { seq: first, height: el.scrollHeight };
  });

  function onScroll() {
    const el = ref.current!;
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    previousFirst.current.height = el.scrollHeight;
    if (el.scrollTop < 60 && state.hasOlder && state.historyLoaded) void model.loadOlder(state.conv.id);
  }

  return (
    <div class="log" ref={ref} onScroll={onScroll} role="log" aria-live="polite" data-testid="log">
      {state.hasOlder && state.historyLoaded && (
        <button class="btn ghost small older" type="button" disabled={state.loadingOlder} onClick={() => void model.loadOlder(state.conv.id)}>
          {state.loadingOlder ? "Loading…" : "Load earlier messages"}
        </button>
      )}
      {!state.historyLoaded && <p class="muted center">Loading messages…</p>}
      {state.historyLoaded && messages.length === 0 && <p class="muted center">No messages yet.</p>}
      {messages.map((m) => (
        <MessageItem key={m.seq} message={m} state={state} />
      ))}
      {[...state.streams.entries()].map(([stream, text]) => (
        <div key={stream} class="msg out streaming" data-testid="assistant-stream">
          <div class="meta">
            <span class="who">Assistant</span>
            <span class="muted">writing…</span>
          </div>
          <div class="bubble">{text}</div>
        </div>
      ))}
    </div>
  );
}

function MessageItem({ message: m, state }: { message: Message; state: ConvState }) {
  if (handoverOf(m)) {
    // The brief is pinned above the thread; here it only marks when the hand-over happened.
    return (
      <div class="msg system note brief-note" data-seq={m.seq} data-kind={m.sender_kind} data-visibility={m.visibility}>
        <div class="meta">
          <span class="who">Parley</span>
          <time dateTime={m.created_at}>{clock(m.created_at)}</time>
        </div>
        <div class="bubble muted">The assistant handed this conversation over; its brief is pinned above.</div>
      </div>
    );
  }
  const note = m.visibility === "internal";
  const kind = m.sender_kind;
  const mine = kind === "agent" && m.sender_id === model.me?.agent_id;
  const side = kind === "customer" ? "in" : kind === "system" ? "system" : "out";
  const who = kind === "customer" ? customerName(m.sender_name, state.summary?.customer.email) : kind === "assistant" ? "Assistant" : kind === "system" ? "Parley" : mine ? "You" : m.sender_name ?? "Agent";
  let receipt: string | null = null;
  if (kind !== "customer" && !note) receipt = m.seq <= state.customerRead ? "Read" : m.seq <= state.customerDelivered ? "Delivered" : "Sent";
  return (
    <div class={`msg ${side} ${note ? "note" : ""}`} data-seq={m.seq} data-kind={kind} data-visibility={m.visibility}>
      <div class="meta">
        <span class="who">{who}</span>
        {note && <span class="note-label">Private note</span>}
        <time dateTime={m.created_at}>{clock(m.created_at)}</time>
      </div>
      {m.body && <div class="bubble">{linkify(m.body)}</div>}
      {m.attachments.length > 0 && (
        <div class="attachments">
          {m.attachments.map((a) =>
            a.content_type.startsWith("image/") && a.url ? (
              <a key={a.id} href={a.url} target="_blank" rel="noopener noreferrer" class="image">
                <img src={a.url} alt={a.filename} loading="lazy" />
              </a>
            ) : (
              <a key={a.id} href={a.url} target="_blank" rel="noopener noreferrer" class="file">
                {a.filename} <span class="muted">({bytes(a.size_bytes)})</span>
              </a>
            ),
          )}
        </div>
      )}
      {receipt && (
        <div class="receipt" data-status={receipt.toLowerCase()}>
          {receipt}
        </div>
      )}
    </div>
  );
}

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)]/g;

/** Text with http(s) links made clickable; everything stays text nodes (never parsed as HTML). */
function linkify(text: string): ComponentChildren[] {
  const parts: ComponentChildren[] = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const start = match.index ?? 0;
    if (start > last) parts.push(text.slice(last, start));
    parts.push(
      <a href={match[0]} target="_blank" rel="noopener noreferrer nofollow">
        {match[0]}
      </a>,
    );
    last = start + match[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

function TypingLine({ state }: { state: ConvState }) {
  const now = useTicker(1000);
  const active = [...state.typing.values()].filter((t) => t.until > now);
  const text = active.map((t) => (t.internal ? `${t.name} is writing a note` : `${t.name} is typing`)).join(", ");
  return (
    <div class="typing" aria-live="polite" data-testid="typing">
      {text ? `${text}…` : ""}
    </div>
  );
}
