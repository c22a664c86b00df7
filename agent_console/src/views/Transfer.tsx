import { useEffect, useRef, useState } from "preact/hooks";
import { model } from "../model";

export function TransferDialog({ id, onClose }: { id: string; onClose: () => void }) {
  const directory = model.directory;
  const [target, setTarget] = useState("");
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const first = useRef<HTMLSelectElement>(null);
  // Keyboard users start in the dialog (`autofocus` does not apply to a dialog added later), and
  // go back to where they were when it closes.
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    first.current?.focus();
    return () => before?.focus();
  }, []);
  // Colleagues come and go: the list is fetched fresh for every transfer.
  useEffect(() => void model.loadDirectory().catch((error) => model.fail(error)), []);
  const agents = (directory?.agents ?? []).filter((a) => a.id !== model.me?.agent_id);

  async function submit(event: Event) {
    event.preventDefault();
    if (!target) return;
    const [kind, targetId] = target.split(":");
    setBusy(true);
    const done = await model.transfer(id, kind === "agent" ? { to_agent_id: targetId } : { to_team_id: targetId }, note.trim());
    setBusy(false);
    if (done) onClose();
  }

  return (
    <div class="modal-backdrop" onClick={onClose}>
      <form
        class="modal"
        role="dialog"
        aria-modal="true"
        aria-labelledby="transfer-title"
        onClick={(e) => e.stopPropagation()}
        onSubmit={submit}
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            e.preventDefault();
            onClose();
          }
        }}
      >
        <h2 id="transfer-title">Transfer conversation</h2>
        <label>
          To
          <select ref={first} name="target" required value={target} onChange={(e) => setTarget(e.currentTarget.value)}>
            <option value="">Choose an agent or a team…</option>
            <optgroup label="Teams">
              {(directory?.teams ?? []).map((t) => (
                <option key={t.id} value={`team:${t.id}`}>
                  {t.name}
                </option>
              ))}
            </optgroup>
            <optgroup label="Agents">
              {agents.map((a) => (
                <option key={a.id} value={`agent:${a.id}`} disabled={a.status !== "online"}>
                  {a.display_name} — {a.status}, {a.load}/{a.capacity}
                </option>
              ))}
            </optgroup>
          </select>
        </label>
        <label>
          Note for the next agent <span class="muted">(optional, private)</span>
          <textarea name="note" rows={3} maxLength={1000} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
        </label>
        <div class="modal-actions">
          <button type="button" class="btn ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn primary" disabled={busy || !target}>
            {busy ? "Transferring…" : "Transfer"}
          </button>
        </div>
      </form>
    </div>
  );
}
