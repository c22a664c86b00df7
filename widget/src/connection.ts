// The socket to the /customer namespace: reconnection, the visitor token, and calls with
// acknowledgements that fail fast instead of queueing while disconnected.

import { io, type Socket } from "socket.io-client";
import type { Ack } from "./protocol";

export type LinkState = "connecting" | "online" | "offline" | "unreachable";

export interface ConnectionOptions {
  server: string;
  websocketOnly: boolean;
  token: () => string | null;
  forgetToken: () => void;
  onState: (state: LinkState) => void;
  onConnect: () => void;
}

const CALL_TIMEOUT_MS = 10_000;

export class Connection {
  readonly socket: Socket;
  #state: LinkState = "connecting";
  readonly #options: ConnectionOptions;
  #attempts = 0;

  constructor(options: ConnectionOptions) {
    this.#options = options;
    this.socket = io(`${options.server}/customer`, {
      autoConnect: false,
      // Polling first works through proxies that block websockets; the server upgrades.
      transports: options.websocketOnly ? ["websocket"] : ["polling", "websocket"],
      auth: (send) => send({ token: options.token() }),
      reconnectionDelay: 1000,
      reconnectionDelayMax: 10_000,
      randomizationFactor: 0.5,
      timeout: 10_000,
    });
    this.socket.on("connect", () => {
      this.#attempts = 0;
      this.#setState("online");
      options.onConnect();
    });
    this.socket.on("disconnect", (reason) => {
      // Whatever was buffered for the old connection is resent by our own outbox instead.
      this.socket.sendBuffer = [];
      this.#setState(navigator.onLine ? "connecting" : "offline");
      // socket.io-client gives up for good after a server-side disconnect; a server that
      // restarts must not strand the visitor, so that case is retried here, with backoff.
      if (reason === "io server disconnect") this.#retryLater();
    });
    this.socket.on("connect_error", (error: Error & { data?: { code?: string } }) => {
      if (error.data?.code === "unauthorized") {
        // The stored visitor token is no longer valid: start over as a new visitor.
        options.forgetToken();
        this.socket.connect();
        return;
      }
      this.#setState(navigator.onLine ? "unreachable" : "offline");
      if (!this.socket.active) this.#retryLater();
    });
    // Browsers keep an idle socket open for a long time after the network is gone, so the
    // connectivity events are the fastest signal we get in both directions.
    window.addEventListener("offline", () => {
      this.#setState("offline");
      this.socket.disconnect();
    });
    window.addEventListener("online", () => this.#reconnect());
  }

  start(): void {
    if (navigator.onLine) this.socket.connect();
    else this.#setState("offline");
  }

  get online(): boolean {
    return this.socket.connected;
  }


  /** Emit with an acknowledgement; rejects when not connected or after a timeout. */
  async call<T>(event: string, data: unknown): Promise<Ack<T>> {
    if (!this.socket.connected) throw new Error("not connected");
    return (await this.socket.timeout(CALL_TIMEOUT_MS).emitWithAck(event, data)) as Ack<T>;
  }

  /** Fire and forget, only while connected (typing and receipts are not worth queueing). */
  signal(event: string, data: unknown): void {
    if (this.socket.connected) this.socket.emit(event, data, () => undefined);
  }

  // Exponential backoff (0.5 s doubling to 8 s) with jitter, so that the visitors of a restarted
  // server do not all come back at once. A second timer is harmless: connecting while
  // connecting or connected does nothing.
  #retryLater(): void {
    const ceiling = Math.min(8000, 500 * 2 ** this.#attempts++);
    setTimeout(() => this.#reconnect(), ceiling * (0.25 + 0.75 * Math.random()));
  }

  #reconnect(): void {
    if (!navigator.onLine || this.socket.connected) return;
    this.#setState("connecting");
    this.socket.connect();
  }

  #setState(state: LinkState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#options.onState(state);
  }
}
