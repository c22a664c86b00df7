// The only formatting a message gets: http(s) links and line breaks, built as DOM nodes.

import { h } from "./view/dom";

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"']+/gi;
// Punctuation that usually ends a sentence rather than a URL.
const TRAILING = /[.,;:!?)\]}'"]+$/;

/** A safe href: only absolute http(s) URLs (or server-relative paths resolved against base). */
export function safeUrl(raw: string | null | undefined, base?: string): string | null {
  if (!raw) return null;
  try {
    const url = new URL(raw, base);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

export function link(href: string, label: string): HTMLAnchorElement {
  return h("a", { href, target: "_blank", rel: "noopener noreferrer nofollow", text: label });
}

/** Message text as nodes: text, auto-linked URLs, <br> for line breaks, and lines that start
 * with ">" (the help center's passages the assistant quotes) as block quotes. */
export function richText(text: string): DocumentFragment {
  const out = document.createDocumentFragment();
  let quote: HTMLElement | null = null;
  let afterText = false;
  for (let line of text.split(/\r\n|\r|\n/)) {
    const marker = /^> ?/.exec(line);
    let into: Node = out;
    if (marker) {
      line = line.slice(marker[0].length);
      if (quote) quote.appendChild(h("br"));
      else {
        quote = h("blockquote");
        out.appendChild(quote);
      }
      into = quote;
    } else {
      // A quote is a block of its own: the blank line after it is its margin.
      if (quote && !line.trim()) continue;
      if (afterText) out.appendChild(h("br"));
      quote = null;
    }
    afterText = !marker;
    appendLine(into, line);
  }
  return out;
}

function appendLine(into: Node, line: string): void {
  let last = 0;
  for (const match of line.matchAll(URL_PATTERN)) {
    let url = match[0];
    const trailing = url.match(TRAILING);
    if (trailing) url = url.slice(0, -trailing[0].length);
    const start = match.index ?? 0;
    const href = safeUrl(url);
    if (!href) continue;
    if (start > last) into.appendChild(document.createTextNode(line.slice(last, start)));
    into.appendChild(link(href, url));
    last = start + url.length;
  }
  if (last < line.length) into.appendChild(document.createTextNode(line.slice(last)));
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] ?? "?")[0];
  return letters.toUpperCase();
}
