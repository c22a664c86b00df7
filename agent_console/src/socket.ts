// The /agent Socket.IO connection: acknowledged calls that throw ApiErrors, and reconnects.
import { io, type Socket } from "socket.io-client";
import { ApiError } from "./api";
import type { ServerEvents } from "./generated/wire";

export type ConnectionState = "connecting" | "online" | "offline";

export class AgentSocket {
  readonly socket: Socket;

  constructor(token: string) {
    this.socket = io(`${location.origin}/agent`, {
      auth: { token },
      // Websocket first; long-polling only where websockets are blocked.
      transports: ["websocket", "polling"],
      reconnectionDelayMax: 5000,
    });
    // A call that timed out is reported as failed; it must not go out later by surprise.
    this.socket.on("disconnect", () => {
      this.socket.sendBuffer = [];
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
    removeEventListener("offline", this.wentOffline);
    removeEventListener("online", this.cameOnline);
    this.socket.disconnect();
  }
}
