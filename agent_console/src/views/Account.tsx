// The agent's own account: changing the password (current one required), and the page an
// admin's one-time reset link opens.
import { useState } from "preact/hooks";
import { ApiError } from "../api";
import { model } from "../model";
import { go } from "../router";

function failure(error: unknown): string {
  return error instanceof ApiError ? error.message : "Something went wrong. Try again.";
}

export function PasswordDialog({ onClose }: { onClose: () => void }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    if (next !== again) return setError("The new passwords do not match.");
    setBusy(true);
    setError(null);
    try {
      await model.changePassword(current, next);
      model.toast("info", "Password changed. Your other sessions were signed out.");
      onClose();
    } catch (e) {
      setError(failure(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="modal-backdrop" onClick={onClose}>
      <form class="modal" role="dialog" aria-modal="true" aria-labelledby="password-title" onClick={(e) => e.stopPropagation()} onSubmit={submit}>
        <h2 id="password-title">Change your password</h2>
        <label>
          Current password
          <input name="current_password" type="password" autocomplete="current-password" required value={current} onInput={(e) => setCurrent(e.currentTarget.value)} />
        </label>
        <label>
          New password
          <input name="new_password" type="password" autocomplete="new-password" required minLength={10} value={next} onInput={(e) => setNext(e.currentTarget.value)} />
        </label>
        <label>
          New password again
          <input name="new_password_again" type="password" autocomplete="new-password" required value={again} onInput={(e) => setAgain(e.currentTarget.value)} />
        </label>
        <p class="muted small">At least 10 characters, and not a common password. Your other sessions will be signed out.</p>
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <div class="modal-actions">
          <button type="button" class="btn ghost" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn primary" disabled={busy}>
            Change password
          </button>
        </div>
      </form>
    </div>
  );
}

export function ResetPassword({ token }: { token: string | null }) {
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [error, setError] = useState<string | null>(token ? null : "This link is incomplete. Ask an admin for a new one.");
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    if (next !== again) return setError("The passwords do not match.");
    setBusy(true);
    setError(null);
    try {
      const data = await model.api.post<{ email: string }>("/api/v1/auth/password-reset", { token, new_password: next });
      setDone(data.email);
    } catch (e) {
      setError(failure(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="login">
      <form class="login-card" onSubmit={submit} aria-labelledby="reset-title">
        <div class="brand brand-lg" aria-hidden="true">
          <span class="brand-mark">P</span> Parley
        </div>
        <h1 id="reset-title">Set a new password</h1>
        {done ? (
          <>
            <p role="status" data-testid="reset-done">
              The password for <strong>{done}</strong> is set. Sign in with it now.
            </p>
            <button class="btn primary block" type="button" onClick={() => go("inbox")}>
              Go to sign-in
            </button>
          </>
        ) : (
          <>
            <label>
              New password
              <input name="new_password" type="password" autocomplete="new-password" required minLength={10} value={next} onInput={(e) => setNext(e.currentTarget.value)} />
            </label>
            <label>
              New password again
              <input name="new_password_again" type="password" autocomplete="new-password" required value={again} onInput={(e) => setAgain(e.currentTarget.value)} />
            </label>
            {error && (
              <p class="form-error" role="alert">
                {error}
              </p>
            )}
            <button class="btn primary block" type="submit" disabled={busy || !token}>
              Set password
            </button>
          </>
        )}
      </form>
    </main>
  );
}
