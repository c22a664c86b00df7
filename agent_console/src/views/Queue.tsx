import { useState } from "preact/hooks";
import { duration } from "../format";
import { model } from "../model";
import { go } from "../router";
import { useObservable, useTicker } from "../store";
import type { Queue, QueueEntry } from "../types";

export function QueueView() {
  useObservable(model);
  useTicker(1000);
  const now = Date.now();
  const queues = [...model.queues.values()].sort((a, b) => (a.name ?? "").localeCompare(b.name ?? ""));
  return (
    <section class="queue-page" aria-labelledby="queue-title">
      <div class="page-head">
        <h1 id="queue-title">Queue</h1>
        <p class="muted">Conversations waiting for an agent, per team, in the order they will be served.</p>
      </div>
      {queues.length === 0 && <p class="empty">You are not in any team yet. An admin can add you to one.</p>}
      {queues.map((q) => (
        <TeamQueue key={q.team_id} queue={q} now={now} />
      ))}
    </section>
  );
}

function TeamQueue({ queue, now }: { queue: Queue; now: number }) {
  const manual = queue.mode === "manual";
  const total = queue.total ?? queue.entries.length;
  return (
    <div class="card queue" data-team={queue.team ?? queue.team_id}>
      <div class="card-head">
        <h2>{queue.name ?? "Team"}</h2>
        <span class={`badge ${manual ? "manual" : "auto"}`}>{manual ? "Manual: claim to take" : "Automatic assignment"}</span>
        <span class="muted" data-testid="waiting-count">
          {total} waiting{total > queue.entries.length ? ` · the first ${queue.entries.length} shown` : ""}
        </span>
      </div>
      {queue.entries.length === 0 ? (
        <p class="empty">Nobody is waiting.</p>
      ) : (
        <table class="grid">
          <thead>
            <tr>
              <th class="num">#</th>
              <th>Priority</th>
              <th>Customer</th>
              <th>Last message</th>
              <th class="num">Waiting</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {queue.entries.map((e) => (
              <Entry key={e.conversation_id} entry={e} manual={manual} waited={e.wait_seconds + (now - queue.receivedAt) / 1000} />
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function Entry({ entry, manual, waited }: { entry: QueueEntry; manual: boolean; waited: number }) {
  const [busy, setBusy] = useState(false);
  async function claim() {
    setBusy(true);
    const won = await model.claim(entry.conversation_id);
    setBusy(false);
    if (won) go(`inbox/${entry.conversation_id}`);
  }
  return (
    <tr class="queue-entry" data-conversation={entry.conversation_id}>
      <td class="num">{entry.position}</td>
      <td>
        <span class={`prio ${entry.priority}`}>{entry.priority}</span>
      </td>
      <td>
        <div class="who">
          <strong>{entry.customer_name || "Visitor"}</strong>
          {entry.page_url && <span class="muted small ellipsis" title={entry.page_url}>{entry.page_url}</span>}
        </div>
      </td>
      <td class="preview ellipsis" title={entry.preview}>
        {entry.preview || <span class="muted">No message yet</span>}
      </td>
      <td class={`num wait ${waited > 120 ? "late" : ""}`} data-testid="wait">
        {duration(waited)}
      </td>
      <td class="actions">
        <a class="btn small" href={`#/inbox/${entry.conversation_id}`} title="Read the conversation without taking it">
          View
        </a>{" "}
        {manual && (
          <button class="btn primary small" type="button" disabled={busy} onClick={claim}>
            {busy ? "Claiming…" : "Claim"}
          </button>
        )}
      </td>
    </tr>
  );
}
