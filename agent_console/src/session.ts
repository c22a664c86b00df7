// The signed-in agent's session: the token, the socket and REST clients, and the toasts
// that report what happened. The console's model builds on it.
import { Api, ApiError } from "./api";
import { humanError } from "./errors";
import type { AgentSocket, ConnectionState } from "./socket";
import { Observable } from "./store";
import type { LoginAgent, Me } from "./types";

export const TOKEN_KEY = "parley-console:token";
export const AGENT_KEY = "parley-console:agent";

export interface Toast {
  id: number;
  kind: "error" | "info";
  text: string;
}

export abstract class ConsoleSession extends Observable {
  token: string | null = sessionStorage.getItem(TOKEN_KEY);
  agent: LoginAgent | null = JSON.parse(sessionStorage.getItem(AGENT_KEY) ?? "null");
  me: Me | null = null;
  connection: ConnectionState = "connecting";
  toasts: Toast[] = [];
  readonly api = new Api(
    () => this.token,
    () => this.signedOut("Your session has ended. Please sign in again."),
  );
  socket: AgentSocket | null = null;
  signInMessage: string | null = null;
  private toastId = 0;

  get isAdmin(): boolean {
    return (this.me?.role ?? this.agent?.role) === "admin";
  }

  call<T>(event: string, payload: unknown = {}): Promise<T> {
    if (!this.socket) return Promise.reject(new ApiError("offline", "Not connected."));
    return this.socket.call<T>(event, payload);
  }

  // -- feedback ----------------------------------------------------------------------------------
  toast(kind: Toast["kind"], text: string): void {
    const toast = { id: ++this.toastId, kind, text };
    this.toasts = [...this.toasts, toast];
    this.changed();
    setTimeout(() => this.dismiss(toast.id), kind === "error" ? 8000 : 4000);
  }

  dismiss(id: number): void {
    this.toasts = this.toasts.filter((t) => t.id !== id);
    this.changed();
  }

  fail(error: unknown): void {
    const text = humanError(error);
    if (!(error instanceof ApiError)) console.error(error);
    this.toast("error", text);
  }

  /** Forget the session (and say why on the sign-in page). */
  protected abstract signedOut(message: string | null): void;
}
