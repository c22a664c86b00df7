// The message list: one keyed item per message, notice and pending message. An item is rebuilt
// only when what it shows changed, so images do not reload and the scroll position holds.

import type { Chat } from "../chat";
import type { Outgoing } from "../outbox";
import { type Attachment, type Message, citationsOf } from "../protocol";
import type { Translate } from "../i18n";
import { formatBytes, initials, link, richText, safeUrl } from "../text";
import { ICONS, append, button, h, icon } from "./dom";

interface Item {
  key: string;
  sig: string;
  build: () => HTMLElement;
}

export interface ListContext {
  chat: Chat;
  t: Translate;
  language: string;
  greeting: string;
  teamName: string;
}

const GROUP_GAP_MS = 5 * 60 * 1000;

export class MessageList {
  readonly element = h("ol", { class: "log", "aria-label": "" });
  #rendered = new Map<string, { sig: string; el: HTMLElement }>();
  #refreshed = new Set<number>();

  readonly #ctx: ListContext;

  constructor(ctx: ListContext) {
    this.#ctx = ctx;
    this.element.setAttribute("aria-label", ctx.t("messages"));
  }

  retext(greeting: string, teamName: string): void {
    this.#ctx.greeting = greeting;
    this.#ctx.teamName = teamName;
  }

  render(): void {
    const items = this.#items();
    const next = new Map<string, { sig: string; el: HTMLElement }>();
    items.forEach((item, index) => {
      const known = this.#rendered.get(item.key);
      const el = known && known.sig === item.sig ? known.el : item.build();
      next.set(item.key, { sig: item.sig, el });
      const at = this.element.children[index];
      if (at !== el) this.element.insertBefore(el, at ?? null);
    });
    while (this.element.children.length > items.length) this.element.lastElementChild?.remove();
    this.#rendered = next;
  }

  #items(): Item[] {
    const chat = this.#ctx.chat;
    const items: Item[] = [];
    items.push({ key: "greeting", sig: this.#ctx.greeting, build: () => this.#greeting() });
    const state = chat.state;
    const messages = state.timeline.list();
    const notices = [...state.notices];
    messages.forEach((message, index) => {
      while (notices.length && notices[0].afterSeq < message.seq) items.push(this.#notice(notices.shift()!));
      const previous = messages[index - 1];
      const following = messages[index + 1];
      const first = !previous || !sameGroup(previous, message);
      const last = !following || !sameGroup(message, following);
      const status = message.sender_kind === "customer" ? this.#serverStatus(message.seq) : "";
      // Times and receipts once per group, and wherever a receipt changes inside one.
      const nextStatus = following && !last ? this.#serverStatus(following.seq) : null;
      const foot = last || (status !== "" && status !== nextStatus);
      const urls = message.attachments.map((a) => a.url ?? "").join(" ");
      items.push({
        key: `m${message.seq}`,
        sig: `${first}|${foot}|${status}|${urls}|${this.#avatarOf(message) ?? ""}`,
        build: () => this.#message(message, first, foot, status),
      });
    });
    for (const notice of notices) items.push(this.#notice(notice));
    const pending: Outgoing[] = [...state.acked.values(), ...chat.outbox.all()];
    for (const item of pending) {
      if (state.timeline.hasClientId(item.clientId)) continue;
      const shown = state.acked.has(item.clientId)
        ? "sent"
        : item.failed
          ? "failed"
          : chat.sending.has(item.clientId) || chat.link === "online"
            ? "sending"
            : "queued";
      items.push({ key: `p${item.clientId}`, sig: `${shown}|${item.failed ?? ""}`, build: () => this.#pending(item, shown) });
    }
    for (const [stream, text] of state.streams) {
      items.push({ key: `s${stream}`, sig: text, build: () => this.#streaming(text) });
    }
    return items;
  }

  // -- items --------------------------------------------------------------------------------

  #greeting(): HTMLElement {
    return h(
      "li",
      { class: "msg in first greeting" },
      teamAvatar(),
      h("div", { class: "stack" }, h("div", { class: "who", text: this.#ctx.teamName }), h("div", { class: "bubble", text: this.#ctx.greeting })),
    );
  }

  #notice(notice: { key: string; text: string }): Item {
    return { key: `n${notice.key}`, sig: notice.text, build: () => h("li", { class: "notice", text: notice.text }) };
  }


  #message(message: Message, first: boolean, withFoot: boolean, status: string): HTMLElement {
    const { t } = this.#ctx;
    const out = message.sender_kind === "customer";
    const assistant = message.sender_kind === "assistant";
    // The assistant's name is the server's (PARLEY_ASSISTANT_NAME), as on its typing indicator.
    const name = out ? t("you") : message.sender_name || (assistant ? t("assistant") : this.#ctx.teamName);
    const li = h("li", {
      class: `msg ${out ? "out" : "in"}${assistant ? " assistant" : ""}${first ? " first" : ""}`,
      "data-seq": message.seq,
      "data-sender": message.sender_kind,
    });
    if (!out) li.appendChild(first ? this.#avatar(message, name) : h("div", { class: "avatar spacer" }));
    const stack = h("div", { class: "stack" });
    if (first && !out) stack.appendChild(h("div", { class: "who", text: name, "aria-hidden": "true" }));
    stack.appendChild(h("span", { class: "sr-only", text: `${name}: ` }));
    if (message.body) stack.appendChild(h("div", { class: "bubble" }, richText(message.body)));
    if (message.attachments.length) stack.appendChild(this.#media(message.attachments, message.seq));
    const citations = citationsOf(message);
    if (citations.length) {
      const list = h("ol");
      for (const citation of citations) {
        const label = citation.title || citation.slug || citation.url || "";
        const href = safeUrl(citation.url);
        list.appendChild(h("li", {}, href ? link(href, label) : label));
      }
      stack.appendChild(h("div", { class: "citations" }, h("strong", { text: t("sources") }), list));
    }
    if (withFoot) stack.appendChild(this.#foot(message.created_at, status));
    li.appendChild(stack);
    return li;
  }

  #pending(item: Outgoing, state: string): HTMLElement {
    const { chat, t } = this.#ctx;
    const stack = h("div", { class: "stack" });
    stack.appendChild(h("span", { class: "sr-only", text: `${t("you")}: ` }));
    if (item.body) stack.appendChild(h("div", { class: "bubble" }, richText(item.body)));
    if (item.attachments.length) stack.appendChild(this.#media(item.attachments, 0));
    const foot = this.#foot(item.createdAt, state);
    if (state === "failed") {
      append(
        foot,
        button({ text: t("retry") }, () => chat.retry(item.clientId)),
        button({ text: t("remove") }, () => chat.discard(item.clientId)),
      );
      if (item.failed) foot.title = item.failed;
    }
    stack.appendChild(foot);
    return h("li", { class: "msg out pending", "data-client-id": item.clientId, "data-state": state }, stack);
  }

  #streaming(text: string): HTMLElement {
    const { chat, t } = this.#ctx;
    const name = chat.state.typing.get("assistant")?.name || t("assistant");
    return h(
      "li",
      { class: "msg in assistant first streaming" },
      h("div", { class: "avatar bot" }, icon(ICONS.spark, 16)),
      h("div", { class: "stack" }, h("div", { class: "who", text: name }), h("div", { class: "bubble" }, richText(text))),
    );
  }

  // -- parts --------------------------------------------------------------------------------

  #foot(iso: string, status: string): HTMLElement {
    const { t } = this.#ctx;
    const foot = h("div", { class: "foot" }, h("time", { datetime: iso, text: this.#time(iso) }));
    const states: Record<string, [string, string, string]> = {
      queued: [ICONS.clock, t("queued"), ""],
      sending: [ICONS.clock, t("sending"), ""],
      sent: [ICONS.check, t("sent"), ""],
      delivered: [ICONS.checks, t("delivered"), ""],
      read: [ICONS.checks, t("read"), "is-read"],
      failed: [ICONS.alert, t("failed"), "is-failed"],
    };
    const found = states[status];
    if (found) {
      append(foot, " · ", h("span", { class: `state ${found[2]}`, "data-status": status }, icon(found[0], 15), " ", found[1]));
    }
    return foot;
  }

  #media(attachments: Attachment[], seq: number): HTMLElement {
    const box = h("div", { class: "media" });
    for (const attachment of attachments) {
      const href = safeUrl(attachment.url, this.#ctx.chat.server);
      if (href && attachment.content_type.startsWith("image/")) {
        const img = h("img", { src: href, alt: attachment.filename, loading: "lazy", width: 220, height: 165 });
        img.addEventListener("error", () => {
          // Signed links expire; ask once for a fresh one.
          if (seq && !this.#refreshed.has(seq)) {
            this.#refreshed.add(seq);
            void this.#ctx.chat.refreshLinks(seq);
          }
        });
        const anchor = h("a", { href, target: "_blank", rel: "noopener noreferrer" }, img);
        box.appendChild(anchor);
      } else {
        const label = h("span", { text: attachment.filename });
        const size = h("small", { text: formatBytes(attachment.size_bytes) });
        const content = [icon(ICONS.file, 18), label, size];
        box.appendChild(
          href
            ? h("a", { class: "file", href, target: "_blank", rel: "noopener noreferrer", download: attachment.filename }, ...content)
            : h("div", { class: "file" }, ...content),
        );
      }
    }
    return box;
  }

  #avatar(message: Message, name: string): HTMLElement {
    if (message.sender_kind === "assistant") return h("div", { class: "avatar bot" }, icon(ICONS.spark, 16));
    const url = this.#avatarOf(message);
    return h("div", { class: "avatar", "aria-hidden": "true" }, url ? h("img", { src: url, alt: "" }) : initials(name));
  }

  #avatarOf(message: Message): string | null {
    const helper = this.#ctx.chat.state.helper;
    if (message.sender_kind !== "agent" || !helper?.avatar_url || helper.id !== message.sender_id) return null;
    return safeUrl(helper.avatar_url, this.#ctx.chat.server);
  }

  #serverStatus(seq: number): string {
    const { state } = this.#ctx.chat;
    if (state.staffRead >= seq) return "read";
    if (state.staffDelivered >= seq) return "delivered";
    return "sent";
  }

  /** "14:05" today, "3 Jan, 14:05" before. */
  #time(iso: string): string {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return "";
    const format: Intl.DateTimeFormatOptions = { hour: "numeric", minute: "2-digit" };
    if (date.toDateString() !== new Date().toDateString()) Object.assign(format, { day: "numeric", month: "short" });
    return new Intl.DateTimeFormat(this.#ctx.language, format).format(date);
  }

}

export function teamAvatar(): HTMLElement {
  return h("div", { class: "avatar", "aria-hidden": "true" }, icon(ICONS.person, 16));
}

function sameGroup(a: Message, b: Message): boolean {
  return (
    a.sender_kind === b.sender_kind &&
    a.sender_id === b.sender_id &&
    new Date(b.created_at).getTime() - new Date(a.created_at).getTime() < GROUP_GAP_MS
  );
}

