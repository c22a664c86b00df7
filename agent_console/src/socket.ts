// The /agent Socket.IO connection: acknowledged calls that throw ApiErrors, and reconnects.
import { io, type Socket } from "socket.io-client";
import { ApiError } from "./api";
import type { ServerEvents } from "./generated/wire";
import { backoffDelay } from "./retry";

export type ConnectionState = "connecting" | "online" | "offline";

export class AgentSocket {
  readonly socket: Socket;
  private attempts = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(token: string) {
    this.socket = io(`${location.origin}/agent`, {
      auth: { token },
      // Websocket first; long-polling only where websockets are blocked.
      transports: ["websocket", "polling"],
      reconnectionDelayMax: 5000,
    });
    // A call that timed out is reported as failed; it must not go out later by surprise.
    this.socket.on("connect", () => {
      this.attempts = 0;
    });
    this.socket.on("disconnect", (reason) => {
      this.socket.sendBuffer = [];
      // socket.io-client gives up for good after a server-side disconnect; a server that
      // restarts must not strand the console, so that case is retried here, with backoff.
      if (reason === "io server disconnect") this.retryLater();
    });
    this.socket.on("connect_error", (error: Error & { data?: { code?: string } }) => {
      // A refused namespace connect is not retried by the client either (unless unauthorized).
      if (!this.socket.active && error.data?.code !== "unauthorized") this.retryLater();
    });
    // Browsers keep a dead socket open for a long time after the network is gone: the
    // connectivity events are the fastest signal in both directions.
    addEventListener("offline", this.wentOffline);
    addEventListener("online", this.cameOnline);
  }

  private wentOffline = (): void => {
    this.socket.disconnect();
  };

  private cameOnline = (): void => {
    if (!this.socket.connected) this.socket.connect();
  };

  private retryLater(): void {
    if (this.closed || this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.closed && !this.socket.connected && navigator.onLine) this.socket.connect();
    }, backoffDelay(this.attempts++));
  }

  /** Resolves once connected (at once if already), or after `timeoutMs` in any case. */
  whenConnected(timeoutMs: number): Promise<void> {
    if (this.socket.connected) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.socket.off("connect", done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.socket.on("connect", done);
    });
  }

  /** Connection lifecycle: "connect", "disconnect", "connect_error". */
  // biome-ignore lint/suspicious/noExplicitAny: socket.io-client types its own events' arguments loosely
  on(event: string, handler: (data: any) => void): void {
    this.socket.on(event, handler);
  }

  /** A server event, typed by the generated wire types (docs/protocol.md). */
  onEvent<K extends keyof ServerEvents>(event: K, handler: (data: ServerEvents[K]) => void): void {
    this.socket.on(event as string, handler as (data: unknown) => void);
  }

  async call<T>(event: string, payload: unknown = {}, timeoutMs = 10_000): Promise<T> {
    let ack: { ok: boolean; data?: T; error?: { code: string; message: string; details?: Record<string, unknown> } };
    try {
      ack = await this.socket.timeout(timeoutMs).emitWithAck(event, payload);
    } catch {
      throw new ApiError("timeout", "The server did not answer in time. Try again.");
    }
    if (!ack.ok) throw new ApiError(ack.error?.code ?? "internal", ack.error?.message ?? "failed", 0, ack.error?.details);
    return ack.data as T;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    removeEventListener("offline", this.wentOffline);
    removeEventListener("online", this.cameOnline);
    this.socket.disconnect();
  }
}
