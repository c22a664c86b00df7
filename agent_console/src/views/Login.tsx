import { useEffect, useState } from "preact/hooks";
import { ApiError } from "../api";
import { model } from "../model";
import { loadSupabase, type SignInMethods, type SupabaseProject } from "../supabase/contract";

function message(e: unknown, fallback: string): string {
  return e instanceof ApiError || e instanceof Error ? e.message : fallback;
}

export function Login() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(model.signInMessage);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [methods, setMethods] = useState<SignInMethods>({ password: true, supabase: null });

  useEffect(() => {
    model.api
      .get<SignInMethods>("/api/v1/auth/methods")
      .then(async (found) => {
        setMethods(found);
        if (found.supabase && location.hash.includes("access_token=")) await returnFromLink(found.supabase);
      })
      .catch(() => undefined); // an older server: password sign-in only
  }, []);

  async function attempt(work: () => Promise<void>) {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      await work();
    } catch (e) {
      setError(message(e, "Sign-in failed. Try again."));
    } finally {
      setBusy(false);
    }
  }

  async function returnFromLink(project: SupabaseProject) {
    await attempt(async () => {
      const token = await (await loadSupabase()).sessionFromLink(project.url, project.anon_key);
      history.replaceState(null, "", location.pathname + location.search);
      if (token) await model.loginWithSupabase(token);
    });
  }

  function submit(event: Event) {
    event.preventDefault();
    void attempt(() => model.login(email.trim(), password));
  }

  function withSupabase(event: Event) {
    event.preventDefault();
    const project = methods.supabase;
    if (!project) return;
    void attempt(async () => {
      const supabase = await loadSupabase();
      const token = await supabase.withPassword(project.url, project.anon_key, email.trim(), password);
      await model.loginWithSupabase(token);
    });
  }

  function magicLink() {
    const project = methods.supabase;
    if (!project) return;
    if (!email.trim()) {
      setError("Enter your email address first.");
      return;
    }
    void attempt(async () => {
      const supabase = await loadSupabase();
      await supabase.sendMagicLink(project.url, project.anon_key, email.trim(), location.origin + location.pathname);
      setNotice(`We sent a sign-in link to ${email.trim()}.`);
    });
  }

  return (
    <main class="login">
      <form class="login-card" onSubmit={methods.password ? submit : withSupabase} aria-labelledby="login-title">
        <div class="brand brand-lg" aria-hidden="true">
          <span class="brand-mark">P</span> Parley
        </div>
        <h1 id="login-title">Sign in to the console</h1>
        <label>
          Email
          <input name="email" type="email" autocomplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        {notice && <p role="status">{notice}</p>}
        {methods.password && (
          <button class="btn primary block" type="submit" disabled={busy}>
            {busy ? "Signing in…" : "Sign in"}
          </button>
        )}
        {methods.supabase && (
          <>
            <button class={`btn block${methods.password ? "" : " primary"}`} type="button" disabled={busy} onClick={withSupabase}>
              Sign in with Supabase
            </button>
            <button class="btn block" type="button" disabled={busy} onClick={magicLink}>
              Email me a magic link
            </button>
          </>
        )}
      </form>
    </main>
  );
}
