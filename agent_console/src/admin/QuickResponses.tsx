import { useState } from "preact/hooks";
import { model } from "../model";
import type { QuickResponse } from "../types";
import { FormError, Head, message, useLoad } from "./common";

interface Draft {
  id?: string;
  scope: QuickResponse["scope"];
  team_id: string;
  shortcut: string;
  title: string;
  body: string;
}

const EMPTY: Draft = { scope: "global", team_id: "", shortcut: "", title: "", body: "" };

export function QuickResponsesPage() {
  const [query, setQuery] = useState("");
  const { data, error, reload } = useLoad<{ quick_responses: QuickResponse[] }>(`/api/v1/admin/quick-responses?q=${encodeURIComponent(query)}`);
  const [draft, setDraft] = useState<Draft | null>(null);
  const teams = model.directory?.teams ?? [];
  const teamName = (id: string | null) => teams.find((t) => t.id === id)?.name ?? "";

  async function remove(r: QuickResponse) {
    if (!confirm(`Delete the quick response /${r.shortcut}?`)) return;
    try {
      await model.api.delete(`/api/v1/quick-responses/${r.id}`);
      reload();
      void model.loadQuickResponses();
    } catch (e) {
      model.fail(e);
    }
  }

  return (
    <>
      <Head title="Quick responses">
        <p class="muted">Agents type / in the composer to insert these. Variables: {"{{customer.name}}"}, {"{{customer.first_name}}"}, {"{{customer.email}}"}, {"{{agent.name}}"}, {"{{conversation.id}}"}; anything else is asked for.</p>
      </Head>
      <div class="card">
        <div class="toolbar">
          <input type="search" placeholder="Search shortcut, title or text" aria-label="Search quick responses" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
          <span class="muted small">{data ? `${data.quick_responses.length} shown` : ""}</span>
          <button class="btn primary" type="button" style="margin-left:auto" onClick={() => setDraft({ ...EMPTY })}>
            New quick response
          </button>
        </div>
        {error && <p class="form-error">{error}</p>}
        <table class="grid">
          <thead>
            <tr>
              <th>Shortcut</th>
              <th>Title</th>
              <th>Text</th>
              <th>Scope</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {data?.quick_responses.map((r) => (
              <tr key={r.id} data-shortcut={r.shortcut}>
                <td>
                  <code>/{r.shortcut}</code>
                </td>
                <td>{r.title}</td>
                <td class="preview ellipsis" title={r.body}>
                  {r.body}
                </td>
                <td>
                  {r.scope === "team" ? `Team: ${teamName(r.team_id)}` : r.scope === "global" ? "Everyone" : "Personal"}
                </td>
                <td class="actions">
                  <button class="btn small" type="button" onClick={() => setDraft({ ...r, team_id: r.team_id ?? "" })}>
                    Edit
                  </button>{" "}
                  <button class="btn small danger" type="button" onClick={() => void remove(r)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {data && data.quick_responses.length === 0 && <p class="empty">No quick responses{query ? " match" : " yet"}.</p>}
      </div>
      {draft && (
        <QuickResponseForm
          draft={draft}
          onClose={() => setDraft(null)}
          onSaved={() => {
            setDraft(null);
            reload();
            void model.loadQuickResponses();
          }}
        />
      )}
    </>
  );
}

function QuickResponseForm({ draft, onClose, onSaved }: { draft: Draft; onClose: () => void; onSaved: () => void }) {
  const [value, setValue] = useState(draft);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const teams = model.directory?.teams ?? [];
  const set = (patch: Partial<Draft>) => setValue({ ...value, ...patch });

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const body = {
      scope: value.scope,
      team_id: value.scope === "team" ? value.team_id || null : null,
      shortcut: value.shortcut,
      title: value.title,
      body: value.body,
    };
    try {
      if (value.id) await model.api.put(`/api/v1/quick-responses/${value.id}`, body);
      else await model.api.post("/api/v1/quick-responses", body);
      onSaved();
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="modal-backdrop" onClick={onClose}>
      <form class="modal" role="dialog" aria-modal="true" aria-labelledby="qr-title" onClick={(e) => e.stopPropagation()} onSubmit={submit}>
        <h2 id="qr-title">{value.id ? "Edit quick response" : "New quick response"}</h2>
        <div class="form-grid">
          <label>
            Shortcut
            <input name="shortcut" required maxLength={41} placeholder="refund" value={value.shortcut} onInput={(e) => set({ shortcut: e.currentTarget.value })} />
          </label>
          <label>
            Available to
            <select name="scope" value={value.scope} onChange={(e) => set({ scope: e.currentTarget.value as Draft["scope"] })}>
              <option value="global">Everyone</option>
              <option value="team">One team</option>
              <option value="personal">Only me</option>
            </select>
          </label>
          {value.scope === "team" && (
            <label>
              Team
              <select name="team_id" required value={value.team_id} onChange={(e) => set({ team_id: e.currentTarget.value })}>
                <option value="">Choose a team…</option>
                {teams.map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.name}
                  </option>
                ))}
              </select>
            </label>
          )}
          <label class="wide">
            Title
            <input name="title" required maxLength={200} value={value.title} onInput={(e) => set({ title: e.currentTarget.value })} />
          </label>
          <label class="wide">
            Text
            <textarea name="body" required rows={6} maxLength={5000} value={value.body} onInput={(e) => set({ body: e.currentTarget.value })} />
          </label>
        </div>
        <FormError text={error} />
        <div class="modal-actions">
          <button type="button" class="btn ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn primary" disabled={busy}>
            Save
          </button>
        </div>
      </form>
    </div>
  );
}
