// window.Parley: the page's handle on the widget. Calls made before the widget is ready are
// kept and run once it is.

declare const __VERSION__: string;

export type ApiEvent = "message" | "open" | "close" | "unread";
type Listener = (payload: unknown) => void;

export interface UserIdentity {
  id: string;
  name?: string | null;
  email?: string | null;
  hash?: string | null;
}

export interface InitOptions {
  server?: string;
  key?: string;
  language?: string;
  color?: string;
  position?: "left" | "right";
  greeting?: string;
  teamName?: string;
  open?: boolean;
  launcher?: boolean;
  sound?: boolean;
  titleNotification?: boolean;
  websocketOnly?: boolean;
  user?: UserIdentity;
  attributes?: Record<string, unknown>;
}

export interface Controls {
  open(): void;
  close(): void;
  toggle(): void;
  identify(user: UserIdentity): void;
  setAttributes(attributes: Record<string, unknown>): void;
  reset(): void;
}

export class Emitter {
  #listeners = new Map<ApiEvent, Set<Listener>>();

  on(event: ApiEvent, listener: Listener): void {
    if (typeof listener !== "function") return;
    if (!this.#listeners.has(event)) this.#listeners.set(event, new Set());
    this.#listeners.get(event)!.add(listener);
  }

  off(event: ApiEvent, listener: Listener): void {
    this.#listeners.get(event)?.delete(listener);
  }

  emit(event: ApiEvent, payload?: unknown): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        listener(payload);
      } catch (error) {
        // The site's handler failing must not break the chat.
        console.error("Parley: an event listener failed", error);
      }
    }
  }
}

export interface ParleyApi extends Controls {
  version: string;
  init(options?: InitOptions): void;
  on(event: ApiEvent, listener: Listener): void;
  off(event: ApiEvent, listener: Listener): void;
}

export function createApi(emitter: Emitter, start: (options: InitOptions) => Promise<Controls>): ParleyApi {
  let controls: Controls | null = null;
  let starting = false;
  const waiting: ((c: Controls) => void)[] = [];
  const later = (run: (c: Controls) => void) => {
    if (controls) run(controls);
    else waiting.push(run);
  };
  return {
    version: __VERSION__,
    init(options = {}) {
      if (starting) return;
      starting = true;
      start(options).then(
        (ready) => {
          controls = ready;
          for (const run of waiting.splice(0)) run(ready);
        },
        (error) => console.error("Parley: the chat widget could not start", error),
      );
    },
    open: () => later((c) => c.open()),
    close: () => later((c) => c.close()),
    toggle: () => later((c) => c.toggle()),
    identify: (user) => later((c) => c.identify(user)),
    setAttributes: (attributes) => later((c) => c.setAttributes(attributes)),
    reset: () => later((c) => c.reset()),
    on: (event, listener) => emitter.on(event, listener),
    off: (event, listener) => emitter.off(event, listener),
  };
}
