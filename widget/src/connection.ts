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
      this.#setState("online");
      options.onConnect();
    });
    this.socket.on("disconnect", () => {
      // Whatever was buffered for the old connection is resent by our own outbox instead.
      this.socket.sendBuffer = [];
      this.#setState(navigator.onLine ? "connecting" : "offline");
    });
    this.socket.on("connect_error", (error: Error & { data?: { code?: string } }) => {
      if (error.data?.code === "unauthorized") {
        // The stored visitor token is no longer valid: start over as a new visitor.
        options.forgetToken();
        this.socket.connect();
        return;
      }
      this.#setState(navigator.onLine ? "unreachable" : "offline");
      if (!this.socket.active) setTimeout(() => this.#reconnect(), 3000);
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
