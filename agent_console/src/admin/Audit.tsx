import { useState } from "preact/hooks";
import { model } from "../model";
import { Head, useLoad } from "./common";

interface Entry {
  id: number;
  actor_name: string;
  action: string;
  target_kind: string;
  target_id: string | null;
  details: Record<string, unknown>;
  created_at: string;
}

export function AuditPage() {
  const [filter, setFilter] = useState("");
  const first = useLoad<{ entries: Entry[]; next_before_id: number | null }>(`/api/v1/admin/audit-log?action=${encodeURIComponent(filter)}`);
  const [more, setMore] = useState<Entry[]>([]);
  const [next, setNext] = useState<number | null | undefined>(undefined);
  const entries = [...(first.data?.entries ?? []), ...more];
  const cursor = next === undefined ? first.data?.next_before_id : next;

  async function loadMore() {
    if (!cursor) return;
    const page = await model.api.get<{ entries: Entry[]; next_before_id: number | null }>(`/api/v1/admin/audit-log?before_id=${cursor}&action=${encodeURIComponent(filter)}`);
    setMore([...more, ...page.entries]);
    setNext(page.next_before_id);
  }

  return (
    <>
      <Head title="Audit log">
        <p class="muted">Every change made in the admin pages: who, what and when.</p>
      </Head>
      <div class="card">
        <div class="toolbar">
          <select aria-label="Filter by kind of change" value={filter} onChange={(e) => {
            setFilter(e.currentTarget.value);
            setMore([]);
            setNext(undefined);
          }}>
            <option value="">All changes</option>
            <option value="quick_response.">Quick responses</option>
            <option value="agent.">Agents</option>
            <option value="team.">Teams</option>
            <option value="settings.">Settings</option>
            <option value="knowledge.">Knowledge base</option>
          </select>
        </div>
        <table class="grid">
          <thead>
            <tr>
              <th>When</th>
              <th>Who</th>
              <th>What</th>
              <th>Target</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id}>
                <td class="nowrap">
                  <time dateTime={e.created_at}>{when(e.created_at)}</time>
                </td>
                <td class="nowrap">{e.actor_name}</td>
                <td>
                  <code>{e.action}</code>
                </td>
                <td class="small nowrap" title={e.target_id ?? ""}>
                  <span class="muted">{e.target_kind}</span> {targetName(e)}
                </td>
                <td class="details ellipsis" title={JSON.stringify(e.details)}>
                  {summary(e.details)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {first.data && entries.length === 0 && <p class="empty">Nothing has been changed yet.</p>}
        {cursor && (
          <div class="toolbar">
            <button class="btn" type="button" onClick={() => void loadMore()}>
              Older entries
            </button>
          </div>
        )}
      </div>
    </>
  );
}

/** "4 Dec 2026, 14:05": an audit entry is read long after, so always with its date. */
function when(iso: string): string {
  return new Date(iso).toLocaleString([], { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

/** The target by the name it had (from the entry itself, else the agents' directory). */
function targetName(e: Entry): string {
  const value = (e.details.after ?? e.details.before ?? e.details) as Record<string, unknown>;
  const named = [value.display_name, value.name, value.title, value.shortcut ? `/${String(value.shortcut)}` : null, value.slug, value.filename];
  const found = named.find((v) => typeof v === "string" && v);
  if (typeof found === "string") return found;
  const agent = model.directory?.agents.find((a) => a.id === e.target_id);
  if (agent) return agent.display_name;
  return e.target_id && e.target_id.length > 12 ? `${e.target_id.slice(0, 8)}…` : (e.target_id ?? "");
}

/** What changed, in a line: the fields whose values differ between before and after. */
function summary(details: Record<string, unknown>): string {
  const before = (details.before ?? {}) as Record<string, unknown>;
  const after = (details.after ?? {}) as Record<string, unknown>;
  if (details.before && details.after) {
    const changed = Object.keys(after).filter((k) => k !== "updated_at" && JSON.stringify(before[k]) !== JSON.stringify(after[k]));
    return changed.map((k) => `${k}: ${fmt(before[k])} → ${fmt(after[k])}`).join("; ") || "no visible change";
  }
  const value = (details.after ?? details.before ?? details) as Record<string, unknown>;
  const named = ["display_name", "email", "role", "name", "slug", "shortcut", "title", "scope"]
    .filter((k) => value[k] !== undefined && value[k] !== null)
    .map((k) => `${k}: ${fmt(value[k])}`);
  return named.length ? named.join("; ") : JSON.stringify(value);
}

function fmt(value: unknown): string {
  if (value === undefined || value === null) return "default";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text && text.length > 60 ? `${text.slice(0, 57)}…` : String(text);
}
