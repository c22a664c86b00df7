// Times, durations and names as an agent reads them.

export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d`;
}

export function since(iso: string | null | undefined, now = Date.now()): number {
  if (!iso) return 0;
  return (now - Date.parse(iso)) / 1000;
}

export function clock(iso: string): string {
  const date = new Date(iso);
  const today = new Date();
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (date.toDateString() === today.toDateString()) return time;
  return `${date.toLocaleDateString([], { month: "short", day: "numeric" })} ${time}`;
}

export function customerName(name: string | null | undefined, email?: string | null): string {
  return name?.trim() || email?.trim() || "Visitor";
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] ?? "?").slice(0, 2);
  return letters.toUpperCase();
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export const PRIORITY_LABEL: Record<number, string> = { 0: "urgent", 1: "high", 2: "normal", 3: "low" };

/** Why the assistant handed a conversation over (HandoffReason on the server). */
export const HANDOVER_REASON: Record<string, string> = {
  customer_request: "The customer asked for a person",
  turn_limit: "The assistant reached its answer limit",
  assistant_error: "The assistant failed to answer",
  agent_took_over: "An agent took over",
  agent_available: "An agent became available",
};
