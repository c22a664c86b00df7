// Quick responses in the composer: the "/shortcut" being typed, matching, and variables.
import type { QuickResponse } from "./types";

export interface SlashQuery {
  query: string;
  start: number;
  end: number;
}

/** The "/word" right before the caret, at the start of the text or after a space. */
export function slashQuery(text: string, caret: number): SlashQuery | null {
  const before = text.slice(0, caret);
  const match = /(^|\s)\/([\w-]*)$/.exec(before);
  if (!match) return null;
  const start = before.length - match[2].length - 1;
  return { query: match[2].toLowerCase(), start, end: caret };
}

/** Shortcut prefix matches first, then shortcut or title containing the query. */
export function matchQuickResponses(all: QuickResponse[], query: string, limit = 8): QuickResponse[] {
  const q = query.toLowerCase();
  const score = (r: QuickResponse): number => {
    const shortcut = r.shortcut.toLowerCase();
    if (shortcut === q) return 0;
    if (shortcut.startsWith(q)) return 1;
    if (shortcut.includes(q)) return 2;
    if (r.title.toLowerCase().includes(q)) return 3;
    return 9;
  };
  return all
    .map((r) => ({ r, s: score(r) }))
    .filter((x) => x.s < 9)
    .sort((a, b) => a.s - b.s || a.r.shortcut.localeCompare(b.r.shortcut))
    .slice(0, limit)
    .map((x) => x.r);
}

const VARIABLE = /\{\{\s*([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*)\s*\}\}/gi;

/** Replace {{name}} with its value; names without a value are reported as missing. */
export function fillVariables(body: string, values: Record<string, string | null | undefined>): { text: string; missing: string[] } {
  const missing = new Set<string>();
  const text = body.replace(VARIABLE, (whole, name: string) => {
    const value = values[name.toLowerCase()];
    if (value === null || value === undefined || value === "") {
      missing.add(name.toLowerCase());
      return whole;
    }
    return value;
  });
  return { text, missing: [...missing] };
}
