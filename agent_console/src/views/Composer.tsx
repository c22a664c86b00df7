import type { RefObject } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { humanError } from "../errors";
import { model, type ConvState } from "../model";
import { fillVariables, matchQuickResponses, slashQuery } from "../quick";
import type { QuickResponse } from "../types";

interface Pending {
  id: string;
  filename: string;
  content_type: string;
  url: string;
}

const TYPING_REFRESH_MS = 2000;

export function Composer({ state, inputRef }: { state: ConvState; inputRef: RefObject<HTMLTextAreaElement> }) {
  const id = state.conv.id;
  const [text, setText] = useState("");
  const [note, setNote] = useState(false);
  const [files, setFiles] = useState<Pending[]>([]);
  const [uploading, setUploading] = useState(0);
  const [pick, setPick] = useState(0);
  const [fillFor, setFillFor] = useState<{ response: QuickResponse; missing: string[]; start: number; end: number } | null>(null);
  const typingSent = useRef(0);
  const fileInput = useRef<HTMLInputElement>(null);
  const [caret, setCaret] = useState(0);
  const [dismissedAt, setDismissedAt] = useState<number | null>(null);

  const query = slashQuery(text, caret);
  const matches = query ? matchQuickResponses(model.quickResponses, query.query) : [];
  const picking = query !== null && fillFor === null && dismissedAt !== query.start;

  useEffect(() => () => void stopTyping(), [id]);
  // Quick responses change in other consoles (an admin adds one): each opening of the picker
  // asks for the current list, which replaces the shown one when it arrives.
  const pickerAt = picking ? query.start : null;
  useEffect(() => {
    if (pickerAt !== null) model.loadQuickResponses().catch(() => undefined);
  }, [pickerAt]);

  function stopTyping() {
    if (typingSent.current) {
      typingSent.current = 0;
      void model.typing(id, false, note);
    }
  }

  function onInput(event: Event) {
    const area = event.currentTarget as HTMLTextAreaElement;
    setText(area.value);
    setCaret(area.selectionStart ?? area.value.length);
    setPick(0);
    if (dismissedAt !== null && !slashQuery(area.value, area.selectionStart ?? 0)) setDismissedAt(null);
    if (!area.value.trim()) stopTyping();
    else if (Date.now() - typingSent.current > TYPING_REFRESH_MS) {
      typingSent.current = Date.now();
      void model.typing(id, true, note);
    }
  }

  async function send() {
    const body = text.trim();
    if ((!body && files.length === 0) || uploading) return;
    const attachments = files.map((f) => f.id);
    setText("");
    setFiles([]);
    stopTyping();
    try {
      await model.send(id, body, note, attachments);
    } catch (error) {
      setText(body);
      setFiles(files);
      model.fail(error);
    }
  }

  function choose(response: QuickResponse) {
    if (!query) return;
    const filled = fillVariables(response.body, variableValues(state));
    if (filled.missing.length) {
      setFillFor({ response, missing: filled.missing, start: query.start, end: query.end });
      return;
    }
    insert(filled.text, query.start, query.end);
  }

  function insert(value: string, start: number, end: number) {
    const next = text.slice(0, start) + value + text.slice(end);
    setText(next);
    const position = start + value.length;
    setCaret(position);
    requestAnimationFrame(() => {
      const area = inputRef.current;
      if (!area) return;
      area.focus();
      area.setSelectionRange(position, position);
    });
  }

  function onKeyDown(event: KeyboardEvent) {
    if (picking && matches.length) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        setPick((pick + (event.key === "ArrowDown" ? 1 : matches.length - 1)) % matches.length);
        return;
      }
      if (event.key === "Enter" || event.key === "Tab") {
        event.preventDefault();
        choose(matches[Math.min(pick, matches.length - 1)]);
        return;
      }
    }
    if (picking && event.key === "Escape") {
      event.preventDefault();
      setDismissedAt(query!.start);
      return;
    }
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      void send();
    }
  }

  async function onFiles(list: FileList | null) {
    if (!list) return;
    for (const file of [...list]) {
      setUploading((n) => n + 1);
      try {
        const uploaded = await model.upload(id, file);
        setFiles((current) => [...current, uploaded]);
      } catch (error) {
        model.toast("error", `${file.name}: ${humanError(error)}`);
      } finally {
        setUploading((n) => n - 1);
      }
    }
    if (fileInput.current) fileInput.current.value = "";
  }

  return (
    <div class={`composer ${note ? "note" : ""}`}>
      <div class="composer-tabs" role="tablist" aria-label="Message kind">
        <button type="button" role="tab" aria-selected={!note} class={!note ? "active" : ""} onClick={() => setNote(false)}>
          Reply
        </button>
        <button type="button" role="tab" aria-selected={note} class={note ? "active" : ""} onClick={() => setNote(true)} data-testid="note-tab">
          Private note
        </button>
        <span class="hint muted small">Enter sends · Shift+Enter new line · / quick responses</span>
      </div>
      {picking && (
        // A listbox needs options: with none, the picker is a status line saying why.
        // biome-ignore lint/a11y/useAriaPropsSupportedByRole: the label is set only while the role is listbox
        <div
          class="quick-picker"
          role={matches.length ? "listbox" : "status"}
          aria-label={matches.length ? "Quick responses" : undefined}
          data-testid="quick-picker"
        >
          {matches.length === 0 &&
            (model.quickResponses.length === 0 ? (
              <div class="empty small" data-testid="quick-empty">
                No quick responses yet. Save replies you send often under <strong>Quick responses</strong> in the top bar
                {model.isAdmin ? "; shared ones for every agent or a team under Admin › Quick responses" : ""}, then type / and their shortcut here.
              </div>
            ) : (
              <div class="empty small">No quick response matches “/{query!.query}”.</div>
            ))}
          {matches.map((r, index) => (
            <div
              key={r.id}
              role="option"
              tabIndex={-1}
              aria-selected={index === pick}
              class={`quick-option ${index === pick ? "active" : ""}`}
              onMouseDown={(e) => {
                e.preventDefault();
                choose(r);
              }}
            >
              <span class="shortcut">/{r.shortcut}</span>
              <span class="title">{r.title}</span>
              <span class="scope muted small">{r.scope}</span>
              <span class="body muted small ellipsis">{r.body}</span>
            </div>
          ))}
        </div>
      )}
      {state.suggestion && (
        <div class="suggestion" role="status" data-testid="suggestion">
          {state.suggestion.pending ? (
            <span class="muted">Looking in the help center…</span>
          ) : state.suggestion.error ? (
            <span>The draft failed: {state.suggestion.error}</span>
          ) : !state.suggestion.found ? (
            <span class="muted">The help center has nothing on this.</span>
          ) : (
            <>
              <span class="suggestion-text">{state.suggestion.text}</span>
              <button
                type="button"
                class="btn small primary"
                onClick={() => {
                  insert(state.suggestion!.text, 0, text.length);
                  model.dismissSuggestion(id);
                }}
              >
                Use
              </button>
            </>
          )}
          <button type="button" class="icon" aria-label="Dismiss the suggestion" onClick={() => model.dismissSuggestion(id)}>
            ×
          </button>
        </div>
      )}
      {files.length > 0 && (
        <div class="pending-files">
          {files.map((f) => (
            <span class="chip" key={f.id}>
              {f.filename}
              <button type="button" class="icon" aria-label={`Remove ${f.filename}`} onClick={() => setFiles(files.filter((x) => x.id !== f.id))}>
                ×
              </button>
            </span>
          ))}
        </div>
      )}
      <div class="composer-row">
        <textarea
          ref={inputRef}
          rows={3}
          value={text}
          placeholder={note ? "Write a private note (only agents see it)…" : "Write a reply…"}
          aria-label={note ? "Private note" : "Reply"}
          onInput={onInput}
          onKeyDown={onKeyDown}
          onClick={(e) => setCaret(e.currentTarget.selectionStart ?? 0)}
          onKeyUp={(e) => setCaret(e.currentTarget.selectionStart ?? 0)}
          onBlur={stopTyping}
        />
        <div class="composer-buttons">
          <input ref={fileInput} type="file" multiple hidden onChange={(e) => void onFiles(e.currentTarget.files)} data-testid="file-input" />
          <button class="btn ghost" type="button" onClick={() => void model.suggest(id)} title="Draft a reply from the help center">
            Suggest
          </button>
          <button class="btn ghost" type="button" onClick={() => fileInput.current?.click()} aria-label="Attach files" title="Attach files">
            {uploading ? "Uploading…" : "Attach"}
          </button>
          <button class="btn primary" type="button" onClick={() => void send()} disabled={uploading > 0}>
            {note ? "Add note" : "Send"}
          </button>
        </div>
      </div>
      {fillFor && (
        <FillDialog
          missing={fillFor.missing}
          onCancel={() => setFillFor(null)}
          onDone={(values) => {
            const filled = fillVariables(fillFor.response.body, { ...variableValues(state), ...values });
            insert(filled.text, fillFor.start, fillFor.end);
            setFillFor(null);
          }}
        />
      )}
    </div>
  );
}

function variableValues(state: ConvState): Record<string, string | null> {
  const profile = model.profiles.get(state.conv.customer_id);
  const customer = profile?.customer ?? state.summary?.customer;
  const name = customer?.name?.trim() || null;
  const agentName = model.me?.display_name ?? null;
  const values: Record<string, string | null> = {
    "customer.name": name,
    "customer.first_name": name ? name.split(/\s+/)[0] : null,
    "customer.email": customer?.email ?? null,
    "agent.name": agentName,
    "agent.first_name": agentName ? agentName.split(/\s+/)[0] : null,
    "conversation.id": state.conv.id,
    "page.url": typeof state.conv.metadata.page_url === "string" ? state.conv.metadata.page_url : null,
  };
  for (const [key, value] of Object.entries(profile?.customer.attributes ?? {})) {
    if (typeof value === "string" || typeof value === "number") values[`customer.${key}`] ??= String(value);
  }
  return values;
}

function FillDialog({ missing, onCancel, onDone }: { missing: string[]; onCancel: () => void; onDone: (values: Record<string, string>) => void }) {
  const [values, setValues] = useState<Record<string, string>>({});
  return (
    <div class="modal-backdrop" onClick={onCancel}>
      <form
        class="modal"
        role="dialog"
        aria-modal="true"
        aria-labelledby="fill-title"
        onClick={(e) => e.stopPropagation()}
        onSubmit={(e) => {
          e.preventDefault();
          onDone(values);
        }}
      >
        <h2 id="fill-title">Fill in the quick response</h2>
        <p class="muted">These values are not known for this conversation.</p>
        {missing.map((name, index) => (
          <label key={name}>
            {label(name)}
            <input
              name={name}
              required
              autoFocus={index === 0}
              value={values[name] ?? ""}
              onInput={(e) => setValues({ ...values, [name]: e.currentTarget.value })}
            />
          </label>
        ))}
        <div class="modal-actions">
          <button type="button" class="btn ghost" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" class="btn primary">
            Insert
          </button>
        </div>
      </form>
    </div>
  );
}

function label(variable: string): string {
  return variable.replace(/[._]/g, " ").replace(/^\w/, (c) => c.toUpperCase());
}

