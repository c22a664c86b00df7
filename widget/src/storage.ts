// Per-site persistence in localStorage, shared by every tab of the site. Each value is one
// JSON document under one key, so another tab's write arrives as one `storage` event.
// Storage can be unavailable (privacy modes, full quota): the widget then still works, it
// just forgets on reload.

export class Store {
  readonly #prefix: string;

  constructor(server: string) {
    this.#prefix = `parley:v1:${server}:`;
  }

  /** `session` reads this tab's sessionStorage instead (kept across reloads, not tabs). */
  get<T>(key: string, session = false): T | null {
    try {
      const raw = (session ? sessionStorage : localStorage).getItem(this.#prefix + key);
      return raw === null ? null : (JSON.parse(raw) as T);
    } catch {
      return null;
    }
  }

  set(key: string, value: unknown, session = false): void {
    try {
      (session ? sessionStorage : localStorage).setItem(this.#prefix + key, JSON.stringify(value));
    } catch {
      // Quota or privacy mode: keep working from memory.
    }
  }

  remove(key: string): void {
    try {
      localStorage.removeItem(this.#prefix + key);
    } catch {
      // As above.
    }
  }

  /** Calls back when another tab changes `key` (this tab's own writes do not fire). */
  watch(key: string, callback: () => void): void {
    window.addEventListener("storage", (event) => {
      if (event.key === this.#prefix + key || event.key === null) callback();
    });
  }
}

export function newId(): string {
  if (typeof crypto !== "undefined" && typeof crypto.randomUUID === "function") {
    return crypto.randomUUID();
  }
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
