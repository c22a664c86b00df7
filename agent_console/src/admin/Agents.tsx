import { useState } from "preact/hooks";
import { model } from "../model";
import type { Role, Team } from "../types";
import { FormError, Head, message, useLoad } from "./common";

interface AdminAgent {
  id: string;
  email: string;
  display_name: string;
  role: Role;
  max_chats: number | null;
  is_active: boolean;
  team_ids: string[];
  load: number;
  capacity: number;
  status: string;
}

export function AgentsPage() {
  const agents = useLoad<{ agents: AdminAgent[] }>("/api/v1/admin/agents");
  const teams = useLoad<{ teams: Team[] }>("/api/v1/admin/teams");
  const [editing, setEditing] = useState<AdminAgent | "new" | null>(null);
  const [invited, setInvited] = useState<{ email: string; password: string } | null>(null);
  const [resetLink, setResetLink] = useState<{ email: string; url: string; expires: string } | null>(null);

  async function createResetLink(agent: AdminAgent) {
    try {
      const data = await model.api.post<{ path: string; expires_at: string }>(`/api/v1/admin/agents/${agent.id}/password-reset`);
      setResetLink({ email: agent.email, url: `${location.origin}${data.path}`, expires: new Date(data.expires_at).toLocaleString() });
    } catch (e) {
      model.toast("error", message(e));
    }
  }

  async function unlock(agent: AdminAgent) {
    try {
      await model.api.post(`/api/v1/admin/agents/${agent.id}/unlock`);
      model.toast("info", `${agent.email} can sign in again.`);
    } catch (e) {
      model.toast("error", message(e));
    }
  }
  const teamList = teams.data?.teams ?? [];
  const names = (ids: string[]) => ids.map((id) => teamList.find((t) => t.id === id)?.name ?? "?").join(", ");
  return (
    <>
      <Head title="Agents">
        <p class="muted">Accounts, roles, how many chats each takes at once, and their teams.</p>
      </Head>
      {invited && (
        <div class="card card-body" role="status" data-testid="invited">
          <strong>{invited.email}</strong> can sign in now with the password <code>{invited.password}</code>. It is shown only this once: hand it over safely.
          <button class="btn small ghost" type="button" onClick={() => setInvited(null)}>
            Done
          </button>
        </div>
      )}
      {resetLink && (
        <div class="card card-body" role="status" data-testid="reset-link">
          A one-time link for <strong>{resetLink.email}</strong> to set a new password, valid until {resetLink.expires}:{" "}
          <code>{resetLink.url}</code>. It works once; hand it over safely.
          <button class="btn small ghost" type="button" onClick={() => setResetLink(null)}>
            Done
          </button>
        </div>
      )}
      <div class="card">
        <div class="toolbar">
          <span class="muted small">{agents.data ? `${agents.data.agents.length} accounts` : ""}</span>
          <button class="btn primary" type="button" style="margin-left:auto" disabled={!teams.data} onClick={() => setEditing("new")}>
            Add agent
          </button>
        </div>
        {agents.error && <p class="form-error">{agents.error}</p>}
        <table class="grid">
          <thead>
            <tr>
              <th>Name</th>
              <th>Email</th>
              <th>Role</th>
              <th>Status</th>
              <th class="num">Chats</th>
              <th>Teams</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {agents.data?.agents.map((a) => (
              <tr key={a.id} class={a.is_active ? "" : "inactive"} data-agent={a.email}>
                <td>
                  <strong>{a.display_name}</strong>
                </td>
                <td>{a.email}</td>
                <td>{a.role}</td>
                <td>{a.is_active ? a.status : <span class="badge warn">deactivated</span>}</td>
                <td class="num">
                  {a.load} / {a.capacity}
                  {a.max_chats === null && <span class="muted small"> (default)</span>}
                </td>
                <td>{names(a.team_ids) || <span class="muted">none</span>}</td>
                <td class="actions">
                  <button class="btn small" type="button" onClick={() => setEditing(a)}>
                    Edit
                  </button>
                  <button class="btn small ghost" type="button" title="A one-time link to set a new password" onClick={() => void createResetLink(a)}>
                    Reset password
                  </button>
                  <button class="btn small ghost" type="button" title="Lift a sign-in lockout after too many attempts" onClick={() => void unlock(a)}>
                    Unlock
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {editing && teams.data && (
        <AgentForm
          agent={editing === "new" ? null : editing}
          teams={teamList}
          onClose={() => setEditing(null)}
          onSaved={(invite) => {
            setEditing(null);
            if (invite) setInvited(invite);
            agents.reload();
          }}
        />
      )}
    </>
  );
}

function AgentForm({ agent, teams, onClose, onSaved }: { agent: AdminAgent | null; teams: Team[]; onClose: () => void; onSaved: (invite?: { email: string; password: string }) => void }) {
  const [email, setEmail] = useState(agent?.email ?? "");
  const [name, setName] = useState(agent?.display_name ?? "");
  const [role, setRole] = useState<Role>(agent?.role ?? "agent");
  const [capacity, setCapacity] = useState(agent?.max_chats?.toString() ?? "");
  const [teamIds, setTeamIds] = useState<string[]>(agent?.team_ids ?? teams.filter((t) => t.is_default).map((t) => t.id));
  const [active, setActive] = useState(agent?.is_active ?? true);
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);

  async function submit(event: Event) {
    event.preventDefault();
    setError(null);
    const maxChats = capacity.trim() === "" ? null : Number(capacity);
    try {
      if (agent) {
        await model.api.patch(`/api/v1/admin/agents/${agent.id}`, { display_name: name, role, max_chats: maxChats, team_ids: teamIds, is_active: active });
        onSaved();
      } else {
        const data = await model.api.post<{ generated_password: string | null }>("/api/v1/admin/agents", {
          email,
          display_name: name,
          role,
          max_chats: maxChats,
          team_ids: teamIds,
          password: password || null,
        });
        onSaved(data.generated_password ? { email, password: data.generated_password } : undefined);
      }
    } catch (e) {
      setError(message(e));
    }
  }

  return (
    <div class="modal-backdrop" onClick={onClose}>
      <form class="modal" role="dialog" aria-modal="true" aria-labelledby="agent-title" onClick={(e) => e.stopPropagation()} onSubmit={submit}>
        <h2 id="agent-title">{agent ? `Edit ${agent.display_name}` : "Add an agent"}</h2>
        <div class="form-grid">
          {!agent && (
            <label class="wide">
              Email
              <input name="email" type="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
            </label>
          )}
          <label>
            Name
            <input name="display_name" required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
          <label>
            Role
            <select name="role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
              <option value="agent">Agent</option>
              <option value="admin">Admin</option>
            </select>
          </label>
          <label>
            Chats at once
            <input name="max_chats" type="number" min={0} max={1000} placeholder="server default" value={capacity} onInput={(e) => setCapacity(e.currentTarget.value)} />
          </label>
          {!agent && (
            <label>
              Password
              <input name="password" type="password" autocomplete="new-password" placeholder="leave empty to generate" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
            </label>
          )}
          <fieldset class="wide">
            <legend>Teams</legend>
            {teams.map((t) => (
              <label key={t.id} class="check">
                <input type="checkbox" checked={teamIds.includes(t.id)} onChange={(e) => setTeamIds(e.currentTarget.checked ? [...teamIds, t.id] : teamIds.filter((x) => x !== t.id))} />
                {t.name}
              </label>
            ))}
          </fieldset>
          {agent && (
            <label class="check wide">
              <input type="checkbox" name="is_active" checked={active} onChange={(e) => setActive(e.currentTarget.checked)} />
              Active (can sign in and take chats)
            </label>
          )}
        </div>
        <FormError text={error} />
        <div class="modal-actions">
          <button type="button" class="btn ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn primary">
            {agent ? "Save" : "Add agent"}
          </button>
        </div>
      </form>
    </div>
  );
}
