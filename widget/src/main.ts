// The script a site embeds: <script src="https://chat.example.com/widget.js" async></script>.
// It finds its own tag, reads data-parley-* options, fetches the server's widget settings and
// puts the widget on the page. Sites that configure it in code add data-parley-manual and call
// Parley.init({...}); calls queued in a `window.Parley = []` array before the script loaded run
// once it has.

import { Chat } from "./chat";
import { type Controls, Emitter, type InitOptions, createApi } from "./api";
import { pickLanguage, translator } from "./i18n";
import { type WidgetSettings, mergeSettings } from "./protocol";
import { Store } from "./storage";
import { WidgetView } from "./view/widget";

declare global {
  interface Window {
    Parley?: unknown;
  }
}

function ownScript(): HTMLScriptElement | null {
  const current = document.currentScript;
  if (current instanceof HTMLScriptElement) return current;
  return document.querySelector<HTMLScriptElement>("script[data-parley-key], script[src*='widget.js']");
}

const TEXT_OPTIONS = ["server", "key", "language", "color", "position"] as const;
const FLAG_OPTIONS = ["open", "launcher", "sound", "titleNotification", "websocketOnly"] as const;

/** Options from the tag: data-parley-language="de", data-parley-open="true", ... */
function fromAttributes(script: HTMLScriptElement | null): InitOptions {
  const options: Record<string, unknown> = {};
  const data = script?.dataset ?? {};
  const read = (name: string) => data[`parley${name[0].toUpperCase()}${name.slice(1)}`];
  for (const name of TEXT_OPTIONS) if (read(name) !== undefined) options[name] = read(name);
  for (const name of FLAG_OPTIONS) if (read(name) !== undefined) options[name] = read(name) !== "false";
  return options as InitOptions;
}

function serverOf(options: InitOptions, script: HTMLScriptElement | null): string {
  const candidate = options.server ?? (script?.src ? script.src : location.href);
  try {
    return new URL(candidate, location.href).origin;
  } catch {
    return location.origin;
  }
}

/** The server's settings; `revalidate` asks past the browser's cache (an unchanged answer is
 * a 304). Null when offline or the server cannot answer. */
async function fetchSettings(server: string, revalidate = false): Promise<WidgetSettings | null> {
  try {
    // Give up on a slow server after a few seconds (browsers without AbortSignal.timeout wait).
    const signal = AbortSignal.timeout?.(6000);
    const response = await fetch(`${server}/api/v1/widget/settings`, { signal, credentials: "omit", cache: revalidate ? "no-cache" : "default" });
    const body = await response.json();
    return mergeSettings(body?.data);
  } catch {
    return null;
  }
}

function bodyReady(): Promise<void> {
  if (document.body) return Promise.resolve();
  return new Promise((resolve) => document.addEventListener("DOMContentLoaded", () => resolve(), { once: true }));
}

async function start(explicit: InitOptions, script: HTMLScriptElement | null, emitter: Emitter): Promise<Controls> {
  const options = { ...fromAttributes(script), ...withoutUndefined(explicit) };
  const server = serverOf(options, script);
  // Offline or an older server: the defaults still make a working chat.
  const settings = (await fetchSettings(server)) ?? mergeSettings(null);
  const language = pickLanguage(options.language, settings.language, document.documentElement.lang, navigator.language);
  const t = translator(language);
  const store = new Store(server);
  const ownColor = options.color && /^#[0-9a-fA-F]{6}$/.test(options.color) ? options.color : null;
  const ownPosition = options.position === "left" || options.position === "right" ? options.position : null;
  // The page's own options win over the server's settings, now and when those change.
  const looks = (s: WidgetSettings) => ({
    color: ownColor ?? s.color,
    position: ownPosition ?? s.position,
    greeting: options.greeting || s.greeting || t("greeting"),
    teamName: options.teamName || s.team_name || t("team"),
  });
  let view: WidgetView | null = null;
  const chat = new Chat(
    server,
    settings,
    store,
    {
      changed: () => view?.scheduleRender(),
      incoming: (message, fresh) => {
        if (message.sender_kind !== "customer") view?.announce(message);
        if (fresh) view?.alertNew();
        emitter.emit("message", JSON.parse(JSON.stringify(message)));
      },
      notice: (kind, name) => t(kind, { name }),
      error: (text) => view?.showError(text || t("cannotConnect")),
    },
    options.websocketOnly ?? settings.websocket_only,
  );
  view = new WidgetView(
    chat,
    {
      t,
      language,
      ...looks(settings),
      launcher: options.launcher !== false,
      sound: options.sound === true,
      titleNotification: options.titleNotification !== false,
    },
    {
      open: () => {
        store.set("open", true, true);
        emitter.emit("open");
      },
      close: () => {
        store.set("open", false, true);
        emitter.emit("close");
      },
      unread: (count) => emitter.emit("unread", count),
    },
  );
  if (options.user?.id) chat.identify(options.user);
  if (options.attributes) chat.setAttributes(options.attributes);
  await bodyReady();
  document.body.appendChild(view.host);
  view.render();
  chat.start();
  if (options.open || store.get<boolean>("open", true)) view.open(false);
  const widget = view;
  // An admin's changes reach open widgets within the 15 seconds the admin page promises.
  setInterval(async () => {
    if (document.visibilityState !== "visible") return;
    const fresh = await fetchSettings(server, true);
    if (!fresh) return;
    Object.assign(settings, fresh);
    widget.restyle(looks(fresh));
  }, 10_000);
  return {
    open: () => widget.open(),
    close: () => widget.close(),
    toggle: () => widget.toggle(),
    identify: (user) => {
      if (user && typeof user.id === "string" && user.id) chat.identify(user);
    },
    setAttributes: (attributes) => {
      if (attributes && typeof attributes === "object") chat.setAttributes(attributes);
    },
    reset: () => chat.reset(),
  };
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

(function boot() {
  const existing = window.Parley;
  if (existing && !Array.isArray(existing)) return; // loaded twice: keep the first
  const script = ownScript();
  const emitter = new Emitter();
  const api = createApi(emitter, (options) => start(options, script, emitter));
  window.Parley = api;
  const queued = Array.isArray(existing) ? (existing as unknown[][]) : [];
  const wantsInit = queued.some((call) => call[0] === "init");
  for (const [method, ...args] of queued) {
    const fn = (api as unknown as Record<string, unknown>)[String(method)];
    if (typeof fn === "function") (fn as (...a: unknown[]) => void)(...args);
  }
  if (!wantsInit && !script?.hasAttribute("data-parley-manual")) api.init();
})();
