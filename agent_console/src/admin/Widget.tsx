import { useEffect, useState } from "preact/hooks";
import { model } from "../model";
import { FormError, Head, message, useLoad } from "./common";

interface WidgetConfig {
  color: string;
  position: "left" | "right";
  greeting: string | null;
  team_name: string | null;
  prechat_name: string;
  prechat_email: string;
  business_hours: string | null;
  timezone: string;
  hours_text: string | null;
  language: string | null;
  allowed_origins: string[];
}

interface View {
  overrides: Partial<WidgetConfig>;
  defaults: WidgetConfig;
  effective: WidgetConfig;
}

type Form = Record<keyof WidgetConfig, string>;

function toForm(config: WidgetConfig): Form {
  return {
    color: config.color,
    position: config.position,
    greeting: config.greeting ?? "",
    team_name: config.team_name ?? "",
    prechat_name: config.prechat_name,
    prechat_email: config.prechat_email,
    business_hours: config.business_hours ?? "",
    timezone: config.timezone,
    hours_text: config.hours_text ?? "",
    language: config.language ?? "",
    allowed_origins: config.allowed_origins.join("\n"),
  };
}

export function WidgetPage() {
  const { data, reload } = useLoad<View>("/api/v1/admin/settings/widget");
  const [form, setForm] = useState<Form | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (data) setForm(toForm(data.effective));
  }, [data]);
  if (!data || !form) return <Head title="Widget" />;
  const set = (patch: Partial<Form>) => {
    setForm({ ...form, ...patch });
    setSaved(false);
  };

  async function submit(event: Event) {
    event.preventDefault();
    if (!form || !data) return;
    setError(null);
    // Only what differs from the environment is stored, so later server defaults still apply.
    const defaults = toForm(data.defaults);
    const body: Record<string, unknown> = {};
    for (const key of Object.keys(form) as (keyof Form)[]) {
      if (form[key] === defaults[key]) continue;
      body[key] = key === "allowed_origins" ? form[key].split(/[\s,]+/).filter(Boolean) : form[key];
    }
    try {
      await model.api.put("/api/v1/admin/settings/widget", body);
      setSaved(true);
      reload();
    } catch (e) {
      setError(message(e));
    }
  }

  const snippet = `<script src="${location.origin}/widget.js" async></script>`;
  return (
    <>
      <Head title="Widget">
        <p class="muted">How the chat looks and behaves on your site. Values you leave as they are follow the server's configuration.</p>
      </Head>
      <div class="split">
        <form class="card card-body" onSubmit={submit} aria-label="Widget settings">
          <div class="form-grid">
            <label>
              Colour
              <span style="display:flex; gap:6px">
                <input type="color" aria-label="Pick a colour" value={form.color} onInput={(e) => set({ color: e.currentTarget.value })} />
                <input name="color" value={form.color} onInput={(e) => set({ color: e.currentTarget.value })} />
              </span>
            </label>
            <label>
              Position
              <select name="position" value={form.position} onChange={(e) => set({ position: e.currentTarget.value })}>
                <option value="right">Bottom right</option>
                <option value="left">Bottom left</option>
              </select>
            </label>
            <label>
              Language
              <select name="language" value={form.language} onChange={(e) => set({ language: e.currentTarget.value })}>
                <option value="">The page's language</option>
                <option value="en">English</option>
                <option value="de">German</option>
              </select>
            </label>
            <label>
              Team name in the header
              <input name="team_name" maxLength={200} placeholder="the default team's name" value={form.team_name} onInput={(e) => set({ team_name: e.currentTarget.value })} />
            </label>
            <label class="wide">
              Greeting
              <input name="greeting" maxLength={500} placeholder="the widget's own, translated" value={form.greeting} onInput={(e) => set({ greeting: e.currentTarget.value })} />
            </label>
            <label>
              Pre-chat: name
              <select name="prechat_name" value={form.prechat_name} onChange={(e) => set({ prechat_name: e.currentTarget.value })}>
                <option value="required">Required</option>
                <option value="optional">Optional</option>
                <option value="hidden">Not asked</option>
              </select>
            </label>
            <label>
              Pre-chat: email
              <select name="prechat_email" value={form.prechat_email} onChange={(e) => set({ prechat_email: e.currentTarget.value })}>
                <option value="required">Required</option>
                <option value="optional">Optional</option>
                <option value="hidden">Not asked</option>
              </select>
            </label>
            <label class="wide">
              Business hours
              <input name="business_hours" placeholder="always open, or e.g. mon-fri 09:00-17:00; sat 10:00-14:00" value={form.business_hours} onInput={(e) => set({ business_hours: e.currentTarget.value })} />
            </label>
            <label>
              Time zone
              <input name="timezone" value={form.timezone} onInput={(e) => set({ timezone: e.currentTarget.value })} />
            </label>
            <label>
              Hours as visitors read them
              <input name="hours_text" maxLength={200} placeholder="Mon–Fri, 9am–5pm CET" value={form.hours_text} onInput={(e) => set({ hours_text: e.currentTarget.value })} />
            </label>
            <label class="wide">
              Allowed origins (one per line; * allows any site)
              <textarea name="allowed_origins" rows={3} value={form.allowed_origins} onInput={(e) => set({ allowed_origins: e.currentTarget.value })} />
            </label>
          </div>
          <FormError text={error} />
          <div class="form-actions">
            {saved && <span class="muted" role="status">Saved. Visitors get it within 15 seconds.</span>}
            <button class="btn ghost" type="button" onClick={() => setForm(toForm(data.defaults))}>
              Server defaults
            </button>
            <button class="btn primary" type="submit">
              Save widget settings
            </button>
          </div>
        </form>
        <div>
          <Preview form={form} />
          <div class="card">
            <div class="card-head">
              <h2>Embed code</h2>
            </div>
            <div class="card-body">
              <p class="muted small">Paste this before &lt;/body&gt; on every page that should show the chat.</p>
              <pre class="snippet" data-testid="snippet">{snippet}</pre>
              <button class="btn small" type="button" onClick={() => void navigator.clipboard?.writeText(snippet).then(() => model.toast("info", "Copied."))}>
                Copy
              </button>
            </div>
          </div>
        </div>
      </div>
    </>
  );
}

/** A still picture of the widget with the settings being edited (the real widget lives in a
 * Shadow DOM on the customer's site; this shows its colours, texts and fields, in the words the
 * widget uses in English). */
function Preview({ form }: { form: Form }) {
  const color = /^#[0-9a-fA-F]{6}$/.test(form.color) ? form.color : "#1f5fbf";
  const ink = textOn(color);
  const left = form.position === "left";
  const asks = form.prechat_name !== "hidden" || form.prechat_email !== "hidden";
  const field = (label: string, mode: string) =>
    mode !== "hidden" && (
      <div class="wp-field">
        {label}
        {mode === "required" ? "" : " (optional)"}
      </div>
    );
  return (
    <section class="card" aria-label="Preview">
      <div class="card-head">
        <h2>Preview</h2>
      </div>
      <div class="preview-stage" data-testid="widget-preview">
        <div class={`wp-panel ${left ? "left" : ""}`}>
          <div class="wp-head" style={{ background: color, color: ink }}>
            <strong data-testid="preview-title">{form.team_name || "Support"}</strong>
            <span data-testid="preview-subtitle">{form.hours_text ? `Opening hours: ${form.hours_text}` : "We're here to help"}</span>
          </div>
          <div class="wp-body">
            <div class="wp-bubble">{form.greeting || "Hi! How can we help?"}</div>
            {asks && (
              <>
                <strong>Before we start</strong>
                <span class="muted small">So we can follow up if the chat gets cut off.</span>
              </>
            )}
            {field("Name", form.prechat_name)}
            {field("Email", form.prechat_email)}
            <div class="wp-button" style={{ background: color, color: ink }}>
              {asks ? "Start chat" : "Write a message…"}
            </div>
          </div>
        </div>
        <div class={`wp-launcher ${left ? "left" : ""}`} style={{ background: color }} aria-hidden="true">
          <svg viewBox="0 0 24 24" width="26" height="26" fill={ink} aria-hidden="true">
            <path d="M4 4h16v11H7l-3 3z" />
          </svg>
        </div>
      </div>
    </section>
  );
}

/** White or ink on the brand colour, whichever stays readable (WCAG AA): the widget's rule. */
function textOn(hex: string): string {
  const channel = (i: number) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  return 1.05 / (luminance + 0.05) >= 4.5 ? "#ffffff" : "#111418";
}
