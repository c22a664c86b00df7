// One conversation's messages by sequence number: duplicates dropped, always in seq order.

import type { Message } from "./protocol";

export class Timeline {
  #bySeq = new Map<number, Message>();
  #sorted: Message[] | null = [];
  #clientIds = new Set<string>();
  // The highest seq this tab has (received, replayed, or read from another tab's cache).
  lastSeq = 0;

  /** Adds a message; false when it is already here. */
  add(message: Message): boolean {
    if (this.#bySeq.has(message.seq)) return false;
    this.#bySeq.set(message.seq, message);
    if (message.client_id) this.#clientIds.add(message.client_id);
    this.lastSeq = Math.max(this.lastSeq, message.seq);
    this.#sorted = null;
    return true;
  }

  /** Replaces a message already here (fresh download links after a history reload). */
  replace(message: Message): void {
    if (this.#bySeq.has(message.seq)) {
      this.#bySeq.set(message.seq, message);
      this.#sorted = null;
    }
  }


  hasClientId(clientId: string): boolean {
    return this.#clientIds.has(clientId);
  }


  list(): Message[] {
    if (this.#sorted === null) this.#sorted = [...this.#bySeq.values()].sort((a, b) => a.seq - b.seq);
    return this.#sorted;
  }



  /** The newest messages, for the local cache. */
  tail(count: number): Message[] {
    const list = this.list();
    return list.slice(Math.max(0, list.length - count));
  }
}
