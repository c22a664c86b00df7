import { useEffect, useState } from "preact/hooks";
import { model } from "../model";
import { go, useRoute } from "../router";
import { useObservable } from "../store";
import type { PresenceStatus } from "../types";
import { Admin } from "../admin/Admin";
import { PasswordDialog, ResetPassword } from "./Account";
import { Inbox } from "./Inbox";
import { Login } from "./Login";
import { QuickResponsesPage } from "../admin/QuickResponses";
import { QueueView } from "./Queue";

export function App() {
  useObservable(model);
  const route = useRoute();

  useEffect(() => {
    if (route.page === "inbox") {
      if (route.id !== model.selectedId) model.select(route.id);
    } else if (model.selectedId) model.select(null);
  }, [route.page, route.id, model.token]);

  if (route.page === "reset-password") return <ResetPassword token={route.id} />;
  if (!model.token) return <Login />;
  const page = route.page === "admin" && !model.isAdmin ? "inbox" : route.page;
  return (
    <div class="shell">
      <TopBar page={page} />
      <div class="page">
        {page === "queue" && <QueueView />}
        {page === "inbox" && <Inbox id={route.id} />}
        {page === "admin" && <Admin page={route.id} />}
        {page === "quick" && (
          <div class="admin-content">
            <QuickResponsesPage mine />
          </div>
        )}
      </div>
      <Toasts />
    </div>
  );
}

function TopBar({ page }: { page: string }) {
  const [changing, setChanging] = useState(false);
  const me = model.me;
  const waiting = [...model.queues.values()].reduce((n, q) => n + (q.total ?? q.entries.length), 0);
  const unread = [...model.mine].reduce((n, id) => n + (model.convs.get(id)?.unread ?? 0), 0);
  const status = me?.presence.status ?? "offline";
  return (
    <header class="topbar">
      <div class="brand">
        <span class="brand-mark">P</span>
        <span class="brand-name">Parley</span>
      </div>
      <nav class="tabs" aria-label="Main">
        <a href="#/queue" class={page === "queue" ? "tab active" : "tab"} aria-current={page === "queue" ? "page" : undefined}>
          Queue {waiting > 0 && <span class="count" data-testid="queue-count">{waiting}</span>}
        </a>
        <a href="#/inbox" class={page === "inbox" ? "tab active" : "tab"} aria-current={page === "inbox" ? "page" : undefined}>
          My conversations {unread > 0 && <span class="count alert">{unread}</span>}
        </a>
        <a href="#/quick" class={page === "quick" ? "tab active" : "tab"} aria-current={page === "quick" ? "page" : undefined}>
          Quick responses
        </a>
        {model.isAdmin && (
          <a href="#/admin" class={page === "admin" ? "tab active" : "tab"} aria-current={page === "admin" ? "page" : undefined} data-testid="admin-tab">
            Admin
          </a>
        )}
      </nav>
      <div class="topbar-right">
        {model.connection !== "online" && (
          <span class={`conn ${model.connection}`} role="status">
            {model.connection === "connecting" ? "Connecting…" : "Offline — reconnecting"}
          </span>
        )}
        {me && (
          <span class="load" title="Open conversations assigned to you, and how many you take at most" data-testid="load">
            {me.load} / {me.capacity} chats
          </span>
        )}
        <label class={`presence ${status}`}>
          <span class="dot" aria-hidden="true" />
          <span class="sr-only">Your status</span>
          <select
            aria-label="Your status"
            data-testid="presence"
            value={status === "offline" ? "away" : status}
            disabled={!me}
            onChange={(e) => void model.setPresence(e.currentTarget.value as PresenceStatus)}
          >
            <option value="online">Online</option>
            <option value="away">Away</option>
          </select>
        </label>
        <span class="whoami" title={model.agent?.email}>
          {me?.display_name ?? model.agent?.display_name}
          {model.isAdmin && <span class="role">admin</span>}
        </span>
        <button class="btn ghost" type="button" data-testid="change-password" onClick={() => setChanging(true)}>
          Password
        </button>
        <button class="btn ghost" type="button" onClick={() => { model.logout(); go("inbox"); }}>
          Sign out
        </button>
      </div>
      {changing && <PasswordDialog onClose={() => setChanging(false)} />}
    </header>
  );
}

function Toasts() {
  return (
    <div class="toasts" aria-live="polite">
      {model.toasts.map((t) => (
        <div key={t.id} class={`toast ${t.kind}`} role={t.kind === "error" ? "alert" : "status"}>
          <span>{t.text}</span>
          <button type="button" class="icon" aria-label="Dismiss" onClick={() => model.dismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
