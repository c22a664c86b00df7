import { useState } from "preact/hooks";
import { customerName, duration, since } from "../format";
import { model, type ConvState } from "../model";
import { go } from "../router";
import { useObservable, useTicker } from "../store";
import { ConversationView } from "./Conversation";

export function Inbox({ id }: { id: string | null }) {
  useObservable(model);
  const now = useTicker(1000);
  const [view, setView] = useState<"open" | "resolved">("open");
  const ids = view === "open" ? [...model.mine] : model.resolved;
  // Each list keeps its own status; the conversation on screen stays (so it can be reopened).
  const wanted = view === "open" ? "open" : "resolved";
  const states = ids
    .map((i) => model.convs.get(i))
    .filter((s): s is ConvState => !!s && (s.conv.status === wanted || s.conv.id === id));
  states.sort((a, b) => Date.parse(b.conv.last_message_at ?? b.conv.updated_at) - Date.parse(a.conv.last_message_at ?? a.conv.updated_at));
  return (
    <div class={`inbox ${id ? "has-selection" : ""}`}>
      <aside class="conv-list" aria-label="My conversations">
        <div class="list-head">
          <h1>My conversations</h1>
          <div class="segmented" role="tablist" aria-label="Which conversations">
            <button type="button" role="tab" aria-selected={view === "open"} class={view === "open" ? "active" : ""} onClick={() => setView("open")}>
              Open {model.mine.size}
            </button>
            <button
              type="button"
              role="tab"
              aria-selected={view === "resolved"}
              class={view === "resolved" ? "active" : ""}
              onClick={() => {
                setView("resolved");
                void model.loadResolved();
              }}
            >
              Resolved
            </button>
          </div>
        </div>
        {view === "resolved" && states.length === 0 && <p class="empty">No resolved conversations.</p>}
        {view === "open" && states.length === 0 && (
          <p class="empty">
            No open conversations. New chats are assigned to you while you are online{model.queues.size ? "; manual teams show theirs in the " : "."}
            {model.queues.size > 0 && <a href="#/queue">queue</a>}
          </p>
        )}
        <ul role="list">
          {states.map((s) => (
            <ListItem key={s.conv.id} state={s} selected={s.conv.id === id} now={now} />
          ))}
        </ul>
      </aside>
      {id ? (
        <ConversationView id={id} />
      ) : (
        <div class="placeholder">
          <p>Select a conversation.</p>
        </div>
      )}
    </div>
  );
}

function ListItem({ state, selected, now }: { state: ConvState; selected: boolean; now: number }) {
  const summary = state.summary;
  const name = customerName(summary?.customer.name, summary?.customer.email);
  const last = summary?.last_message;
  const waiting = summary?.waiting_since ? since(summary.waiting_since, now) : null;
  const typing = [...state.typing.values()].some((t) => t.kind === "customer" && t.until > now);
  const prefix = last ? (last.visibility === "internal" ? "Note: " : last.sender_kind === "agent" ? "You: " : last.sender_kind === "system" ? "" : "") : "";
  return (
    <li>
      <button
        type="button"
        class={`conv-item ${selected ? "selected" : ""} ${state.unread ? "unread" : ""}`}
        aria-current={selected ? "true" : undefined}
        data-conversation={state.conv.id}
        onClick={() => go(`inbox/${state.conv.id}`)}
      >
        <span class="row">
          <span class="name">{name}</span>
          {state.unread > 0 && (
            <span class="count alert" role="img" aria-label={`${state.unread} unread`} data-testid="unread">
              {state.unread}
            </span>
          )}
          <span class="muted small time">{last ? duration(since(last.created_at, now)) : ""}</span>
        </span>
        <span class="row">
          <span class="preview ellipsis">
            {typing ? <em class="typing-text">typing…</em> : last ? prefix + last.body : <span class="muted">No messages yet</span>}
          </span>
        </span>
        {waiting !== null && state.conv.status === "open" && (
          <span class={`waiting ${waiting > 120 ? "late" : ""}`} data-testid="waiting">
            Waiting for reply · {duration(waiting)}
          </span>
        )}
      </button>
    </li>
  );
}
