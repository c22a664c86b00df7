// Messages the customer wrote that the server has not acknowledged yet. Persisted and shared
// by every tab of the site, so a message typed offline survives a reload and is sent once the
// connection is back, by whichever tab gets there first: the `client_id` makes the server
// store it exactly once however many tabs retry it.

import type { Attachment } from "./protocol";
import type { Store } from "./storage";

export interface Outgoing {
  clientId: string;
  body: string;
  attachments: Attachment[];
  createdAt: string;
  // Set when the server refused it for good (too long, not allowed...): shown with Retry.
  failed?: string | null;
}

const KEY = "outbox";

export class Outbox {
  #items: Outgoing[];

  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
    this.#items = store.get<Outgoing[]>(KEY) ?? [];
  }

  /** Re-read what other tabs wrote. */
  reload(): void {
    this.#items = this.#store.get<Outgoing[]>(KEY) ?? this.#items;
  }

  clear(): void {
    this.#items = [];
    this.#save();
  }

  all(): readonly Outgoing[] {
    return this.#items;
  }

  add(item: Outgoing): void {
    this.reload();
    this.#items.push(item);
    this.#save();
  }

  /** The oldest message still to send. */
  next(): Outgoing | undefined {
    this.reload();
    return this.#items.find((item) => !item.failed);
  }

  remove(clientId: string): void {
    this.reload();
    const before = this.#items.length;
    this.#items = this.#items.filter((item) => item.clientId !== clientId);
    if (this.#items.length !== before) this.#save();
  }

  update(clientId: string, change: Partial<Outgoing>): void {
    this.reload();
    this.#items = this.#items.map((item) => (item.clientId === clientId ? { ...item, ...change } : item));
    this.#save();
  }

  #save(): void {
    this.#store.set(KEY, this.#items);
  }
}
