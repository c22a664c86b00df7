import { useState } from "preact/hooks";
import { model } from "../model";
import { FormError, Head, message, useLoad } from "./common";

interface Article {
  slug: string;
  title: string;
  source_url: string | null;
  tags: string[];
  index_status: string;
  index_error: string | null;
  chunk_count: number;
  updated_at: string;
  body?: string;
}

interface Status {
  articles: { index_status: string; embedding_model: string | null; n: number }[];
  chunks: Record<string, number>;
  needs_index: number | unknown[];
  embedding_model: string;
  llm: { configured: boolean; model: string | null; breaker: string | null };
}

interface Asked {
  answer: string;
  mode: string;
  handoff: boolean;
  citations: { title?: string; slug?: string; url?: string | null }[];
  retrieval: {
    threshold: number;
    calibrated: boolean;
    top_score: number | null;
    score: number | null; // best match + 0.06 x specificity - 0.5 x unknown name - 0.5 x missing evidence
    specificity: number;
    unknown_name: string | null; // a name the question uses that no article mentions
    missing_evidence: string | null; // what it asks that no passage found speaks of (MISSING_EVIDENCE)
    articles: { slug: string; title: string; score: number }[];
  };
}

// What each kind of missing evidence (server/assistant/answer_types.py) says in "Try a question".
const MISSING_EVIDENCE: Record<string, string> = {
  price: "asks about a price that no passage found mentions",
  platform: "asks about a platform or a way to run it (offline, self-hosted, an API) that no passage found names",
  company: "asks about the company itself, which no passage found speaks of",
  compliance: "asks about a certification, an audit or encryption that no passage found mentions",
  contact: "asks how to reach the company (a phone line, support hours), which no passage found gives",
  writing: "asks for a poem, a story or a joke, which no passage found is about",
};

function missingEvidence(kind: string): string {
  return MISSING_EVIDENCE[kind] ?? `asks about ${kind} that no passage found mentions`;
}

export function KnowledgePage() {
  const [query, setQuery] = useState("");
  const list = useLoad<{ articles: Article[] }>(`/api/v1/knowledge/articles?limit=200&q=${encodeURIComponent(query)}`);
  const status = useLoad<Status>("/api/v1/knowledge/status");
  const [editing, setEditing] = useState<Article | "new" | null>(null);
  const [imported, setImported] = useState<string | null>(null);

  async function edit(slug: string) {
    try {
      const data = await model.api.get<{ article: Article }>(`/api/v1/knowledge/articles/${encodeURIComponent(slug)}`);
      setEditing(data.article);
    } catch (e) {
      model.fail(e);
    }
  }

  async function remove(slug: string) {
    if (!confirm(`Delete the article ${slug}? The assistant stops using it at once.`)) return;
    try {
      await model.api.delete(`/api/v1/knowledge/articles/${encodeURIComponent(slug)}`);
      list.reload();
      status.reload();
    } catch (e) {
      model.fail(e);
    }
  }

  async function importFiles(files: FileList | null) {
    if (!files?.length) return;
    const form = new FormData();
    for (const file of files) form.append("file", file, file.name);
    try {
      const data = await model.api.post<{ counts: Record<string, number> }>("/api/v1/knowledge/import", form);
      setImported(Object.entries(data.counts).map(([k, v]) => `${v} ${k}`).join(", "));
      list.reload();
      status.reload();
    } catch (e) {
      model.fail(e);
    }
  }

  const s = status.data;
  return (
    <>
      <Head title="Knowledge base">
        <p class="muted">The help-center articles the AI assistant answers from.</p>
      </Head>
      {s && (
        <div class="kpis">
          <Kpi label="Articles" value={s.articles.reduce((n, a) => n + a.n, 0)} />
          <Kpi label={`Chunks (${s.embedding_model})`} value={s.chunks[s.embedding_model] ?? 0} />
          <Kpi label="Waiting to be indexed" value={Array.isArray(s.needs_index) ? s.needs_index.length : s.needs_index} />
          <Kpi label={s.llm.configured ? "Language model" : "No language model: answers quote articles"} value={s.llm.configured ? (s.llm.model ?? "yes") : "—"} />
        </div>
      )}
      <div class="split">
        <div class="card">
          <div class="toolbar">
            <input type="search" placeholder="Search titles" aria-label="Search articles" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
            <label class="btn" style="margin-left:auto">
              Import files
              <input type="file" multiple accept=".md,.txt,.html,.htm" hidden onChange={(e) => void importFiles(e.currentTarget.files)} />
            </label>
            <button class="btn primary" type="button" onClick={() => setEditing("new")}>
              New article
            </button>
          </div>
          {imported && <p class="muted small" style="padding: 0 14px" role="status">Imported: {imported}.</p>}
          {list.error && <p class="form-error">{list.error}</p>}
          <table class="grid">
            <thead>
              <tr>
                <th>Title</th>
                <th>Slug</th>
                <th>Index</th>
                <th class="num">Chunks</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.data?.articles.map((a) => (
                <tr key={a.slug} data-slug={a.slug}>
                  <td>
                    <strong>{a.title}</strong>
                  </td>
                  <td class="muted">{a.slug}</td>
                  <td>
                    <span class={`badge ${a.index_status === "indexed" ? "ok" : "warn"}`} title={a.index_error ?? ""}>
                      {a.index_status}
                    </span>
                  </td>
                  <td class="num">{a.chunk_count}</td>
                  <td class="actions">
                    <button class="btn small" type="button" onClick={() => void edit(a.slug)}>
                      Edit
                    </button>{" "}
                    <button class="btn small danger" type="button" onClick={() => void remove(a.slug)}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {list.data && list.data.articles.length === 0 && <p class="empty">No articles{query ? " match" : " yet"}.</p>}
        </div>
        <TryQuestion />
      </div>
      {editing && (
        <ArticleForm
          article={editing === "new" ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            list.reload();
            status.reload();
          }}
        />
      )}
    </>
  );
}

function Kpi({ label, value }: { label: string; value: string | number }) {
  return (
    <div class="kpi">
      <div class="value">{value}</div>
      <div class="label">{label}</div>
    </div>
  );
}

function TryQuestion() {
  const [question, setQuestion] = useState("");
  const [result, setResult] = useState<Asked | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [calibration, setCalibration] = useState<string | null>(null);
  async function calibrate() {
    setBusy(true);
    setError(null);
    try {
      const data = await model.api.post<{ threshold: number; answerable_declined: number; answerable: number }>(
        "/api/v1/knowledge/calibrate",
        {},
      );
      setCalibration(
        `Threshold ${data.threshold} (from the articles' headings; ${data.answerable_declined} of ${data.answerable} heading questions would be declined)`,
      );
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  }
  async function ask(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setResult(await model.api.post<Asked>("/api/v1/knowledge/ask", { question }));
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <form class="card" onSubmit={ask} aria-labelledby="try-title">
      <div class="card-head">
        <h2 id="try-title">Try a question</h2>
      </div>
      <div class="card-body" style="display:grid; gap:10px">
        <label>
          Question
          <textarea name="question" rows={3} required value={question} onInput={(e) => setQuestion(e.currentTarget.value)} />
        </label>
        <button class="btn primary" type="submit" disabled={busy}>
          {busy ? "Asking…" : "Ask the assistant"}
        </button>
        <button class="btn" type="button" disabled={busy} onClick={calibrate} data-testid="calibrate">
          Calibrate the decline threshold
        </button>
        {calibration && <p class="muted small" data-testid="calibration">{calibration}</p>}
        <FormError text={error} />
        {result && (
          <div data-testid="answer">
            <p class="muted small">
              {result.handoff ? "It would hand over to a person" : `Answer (${result.mode})`}
              {result.retrieval.score !== null &&
                ` · score ${result.retrieval.score.toFixed(2)} (best match ${(result.retrieval.top_score ?? 0).toFixed(2)}, specificity ${result.retrieval.specificity.toFixed(1)}${result.retrieval.unknown_name ? `, names "${result.retrieval.unknown_name}", which no article mentions` : ""}${result.retrieval.missing_evidence ? `, ${missingEvidence(result.retrieval.missing_evidence)}` : ""}; threshold ${result.retrieval.threshold}, ${result.retrieval.calibrated ? "calibrated" : "default"})`}
            </p>
            <div class="bubble">{result.answer}</div>
            {result.retrieval.articles.length > 0 && (
              <ul class="small">
                {result.retrieval.articles.map((a) => (
                  <li key={a.slug}>
                    {a.title} <span class="muted">({a.score.toFixed(2)})</span>
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
      </div>
    </form>
  );
}

function ArticleForm({ article, onClose, onSaved }: { article: Article | null; onClose: () => void; onSaved: () => void }) {
  const [title, setTitle] = useState(article?.title ?? "");
  const [slug, setSlug] = useState(article?.slug ?? "");
  const [body, setBody] = useState(article?.body ?? "");
  const [sourceUrl, setSourceUrl] = useState(article?.source_url ?? "");
  const [tags, setTags] = useState((article?.tags ?? []).join(", "));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const payload = {
      title: title || null,
      body,
      source_url: sourceUrl || null,
      tags: tags.split(",").map((t) => t.trim()).filter(Boolean),
    };
    try {
      if (article) await model.api.put(`/api/v1/knowledge/articles/${encodeURIComponent(article.slug)}`, payload);
      else await model.api.post("/api/v1/knowledge/articles", { ...payload, slug: slug || null });
      onSaved();
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <div class="modal-backdrop" onClick={onClose}>
      <form class="modal wide-modal" role="dialog" aria-modal="true" aria-labelledby="article-title" onClick={(e) => e.stopPropagation()} onSubmit={submit}>
        <h2 id="article-title">{article ? "Edit article" : "New article"}</h2>
        <div class="form-grid">
          <label>
            Title
            <input name="title" maxLength={300} placeholder="from the first heading" value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
          </label>
          <label>
            Slug
            <input name="slug" disabled={!!article} placeholder="from the title" value={slug} onInput={(e) => setSlug(e.currentTarget.value)} />
          </label>
          <label>
            Source URL
            <input name="source_url" type="url" value={sourceUrl} onInput={(e) => setSourceUrl(e.currentTarget.value)} />
          </label>
          <label>
            Tags (comma-separated)
            <input name="tags" value={tags} onInput={(e) => setTags(e.currentTarget.value)} />
          </label>
          <label class="wide">
            Text (Markdown)
            <textarea name="body" required rows={14} value={body} onInput={(e) => setBody(e.currentTarget.value)} />
          </label>
        </div>
        <FormError text={error} />
        <div class="modal-actions">
          <button type="button" class="btn ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn primary" disabled={busy}>
            {busy ? "Saving and indexing…" : "Save"}
          </button>
        </div>
      </form>
    </div>
  );
}
