import { useState } from "preact/hooks";
import { model } from "../model";
import { FormError, Head, message, useLoad } from "./common";

interface AdminTeam {
  id: string;
  slug: string;
  name: string;
  is_default: boolean;
  settings: Record<string, unknown>;
  member_ids: string[];
  waiting: number;
}

export function TeamsPage() {
  const { data, error, reload } = useLoad<{ teams: AdminTeam[] }>("/api/v1/admin/teams");
  const [creating, setCreating] = useState(false);
  return (
    <>
      <Head title="Teams & routing">
        <p class="muted">How each team's conversations reach agents. Empty fields use the server's defaults.</p>
        <button class="btn primary" type="button" style="margin-left:auto" onClick={() => setCreating(true)}>
          Add team
        </button>
      </Head>
      {error && <p class="form-error">{error}</p>}
      {creating && <NewTeam onDone={() => {
            setCreating(false);
            reload();
            void model.loadDirectory();
          }} onCancel={() => setCreating(false)} />}
      {data?.teams.map((t) => (
        <TeamCard key={t.id} team={t} onSaved={reload} />
      ))}
    </>
  );
}

function num(value: unknown): string {
  return typeof value === "number" ? String(value) : "";
}

function TeamCard({ team, onSaved }: { team: AdminTeam; onSaved: () => void }) {
  const s = team.settings;
  const [name, setName] = useState(team.name);
  const [mode, setMode] = useState(String(s.mode ?? "auto"));
  const [grace, setGrace] = useState(num(s.grace_seconds));
  const [unanswered, setUnanswered] = useState(num(s.unanswered_seconds));
  const [assistant, setAssistant] = useState(String(s.assistant_mode ?? ""));
  const [capacity, setCapacity] = useState(num(s.capacity_default));
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    setError(null);
    setSaved(false);
    const settings: Record<string, unknown> = { mode };
    if (grace.trim()) settings.grace_seconds = Number(grace);
    if (unanswered.trim()) settings.unanswered_seconds = Number(unanswered);
    if (assistant) settings.assistant_mode = assistant;
    if (capacity.trim()) settings.capacity_default = Number(capacity);
    try {
      await model.api.patch(`/api/v1/admin/teams/${team.id}`, { name, settings });
      setSaved(true);
      onSaved();
    } catch (e) {
      setError(message(e));
    }
  }

  return (
    <form class="card" onSubmit={submit} data-team={team.slug}>
      <div class="card-head">
        <h2>{team.name}</h2>
        <span class="muted small">
          {team.slug}
          {team.is_default && " · default team"} · {team.member_ids.length} {team.member_ids.length === 1 ? "member" : "members"} · {team.waiting} waiting
        </span>
      </div>
      <div class="card-body">
        <div class="form-grid">
          <label>
            Name
            <input name="name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
          <label>
            Assignment
            <select name="mode" value={mode} onChange={(e) => setMode(e.currentTarget.value)}>
              <option value="auto">Automatic</option>
              <option value="manual">Manual: agents claim</option>
            </select>
          </label>
          <label>
            Chats per agent (default)
            <input name="capacity_default" type="number" min={0} max={1000} placeholder="server default" value={capacity} onInput={(e) => setCapacity(e.currentTarget.value)} />
          </label>
          <label>
            Grace period, seconds
            <input name="grace_seconds" type="number" min={0} step="any" placeholder="server default" value={grace} onInput={(e) => setGrace(e.currentTarget.value)} />
          </label>
          <label>
            Unanswered timeout, seconds
            <input name="unanswered_seconds" type="number" min={0} step="any" placeholder="server default (0 = off)" value={unanswered} onInput={(e) => setUnanswered(e.currentTarget.value)} />
          </label>
          <label>
            AI assistant
            <select name="assistant_mode" value={assistant} onChange={(e) => setAssistant(e.currentTarget.value)}>
              <option value="">Server default</option>
              <option value="off">Off</option>
              <option value="when_no_agent">When no agent is available</option>
              <option value="first">Answers first</option>
            </select>
          </label>
        </div>
        <FormError text={error} />
        <div class="form-actions">
          {saved && <span class="muted" role="status">Saved.</span>}
          <button type="submit" class="btn primary">
            Save {team.name}
          </button>
        </div>
      </div>
    </form>
  );
}

function NewTeam({ onDone, onCancel }: { onDone: () => void; onCancel: () => void }) {
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");
  const [error, setError] = useState<string | null>(null);
  async function submit(event: Event) {
    event.preventDefault();
    try {
      await model.api.post("/api/v1/admin/teams", { name, slug: slug || name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") });
      onDone();
    } catch (e) {
      setError(message(e));
    }
  }
  return (
    <form class="card card-body" onSubmit={submit}>
      <div class="form-grid">
        <label>
          Team name
          <input name="team_name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Slug (used by the widget's team option)
          <input name="slug" pattern="[a-z0-9][a-z0-9-]*" placeholder="from the name" value={slug} onInput={(e) => setSlug(e.currentTarget.value)} />
        </label>
      </div>
      <FormError text={error} />
      <div class="form-actions">
        <button type="button" class="btn ghost" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" class="btn primary">
          Create team
        </button>
      </div>
    </form>
  );
}
