// The widget on the page: a launcher and a chat panel inside a Shadow DOM, drawn from the
// Chat's state. Keyboard operable, with a live region announcing messages from the team.

import type { Chat, Upload } from "../chat";
import type { Phase } from "../conversation";
import type { Translate } from "../i18n";
import { Attention } from "../notify";
import type { Message } from "../protocol";
import { formatBytes, initials, safeUrl } from "../text";
import { upload, UploadError } from "../upload";
import { ICONS, button, clear, h, icon } from "./dom";
import { offlineForm, prechatForm } from "./forms";
import { MessageList, teamAvatar } from "./messages";
import { STYLES, textOn } from "./styles";

export interface ViewOptions {
  t: Translate;
  language: string;
  color: string;
  position: "left" | "right";
  greeting: string;
  teamName: string;
  launcher: boolean;
  sound: boolean;
  titleNotification: boolean;
}

export interface ViewEvents {
  open: () => void;
  close: () => void;
  unread: (count: number) => void;
}

type Mode = "chat" | "prechat" | "offline";

export class WidgetView {
  readonly host = h("div", { "data-parley": "" });
  readonly shadow: ShadowRoot;
  isOpen = false;
  readonly #root: HTMLElement;
  readonly #launcher: HTMLButtonElement;
  readonly #badge: HTMLElement;
  readonly #panel: HTMLElement;
  #headAvatar: HTMLElement = h("div");
  readonly #subtitle = h("p");
  readonly #title = h("h2", { id: "parley-title" });
  readonly #banner = h("div", { class: "banner", role: "status", hidden: true });
  readonly #status = h("div", { class: "status", hidden: true });
  readonly #body = h("div", { class: "body" });
  readonly #formSlot = h("div");
  readonly #typingLine = h("div", { class: "typing", hidden: true, "aria-live": "polite" });
  readonly #uploads = h("div", { class: "uploads" });
  readonly #alert = h("div", { class: "alert", role: "alert", hidden: true });
  readonly #composer = h("form", { class: "composer" });
  readonly #textarea: HTMLTextAreaElement;
  readonly #send: HTMLButtonElement;
  // Near the length limit: how much is left, or how much is over (text is never cut).
  readonly #count = h("div", { class: "count", role: "status", hidden: true });
  readonly #fileInput = h("input", { type: "file", multiple: true, hidden: true, tabindex: -1 });
  readonly #live = h("div", { class: "sr-only", "aria-live": "polite", "aria-atomic": "true" });
  readonly #list: MessageList;
  readonly #attention: Attention;
  #mode: Mode | null = null;
  #renderQueued = false;
  #lastUnread = -1;
  #alertTimer = 0;
  #thanks: string | null = null;
  #forceScroll = true;
  // The list shows its end, so new messages are followed; set by the visitor's scrolling,
  // never guessed from heights that images change after they load.
  #stuck = true;
  #last?: HTMLElement;
  readonly #newHint: HTMLButtonElement;

  readonly #chat: Chat;
  readonly #options: ViewOptions;
  readonly #events: ViewEvents;

  constructor(
    chat: Chat,
    options: ViewOptions,
    events: ViewEvents,
  ) {
    this.#chat = chat;
    this.#options = options;
    this.#events = events;
    const { t } = options;
    this.shadow = this.host.attachShadow({ mode: "open" });
    this.shadow.appendChild(h("style", { text: STYLES }));
    this.#list = new MessageList({ chat, t, language: options.language, greeting: options.greeting, teamName: options.teamName });
    this.#attention = new Attention(options.titleNotification, options.sound);

    this.#badge = h("span", { class: "badge", hidden: true, "aria-hidden": "true" });
    this.#launcher = button(
      { class: "launcher", "aria-expanded": "false", "aria-controls": "parley-panel" },
      () => this.toggle(),
      icon(ICONS.chat, 28),
      this.#badge,
    );
    const minimize = button({ class: "icon-btn", "aria-label": t("closeChat") }, () => this.close(), icon(ICONS.chevron, 24));
    const head = h(
      "header",
      { class: "head" },
      this.#headAvatar,
      h("div", { class: "titles" }, this.#title, this.#subtitle),
      minimize,
    );

    this.#textarea = h("textarea", {
      rows: 1,
      placeholder: t("composer"),
      "aria-label": t("message"),
    });
    const attach = h("button", { class: "icon-btn attach", type: "button", "aria-label": t("attach"), title: t("attach") }, icon(ICONS.clip, 22));
    this.#send = h("button", { class: "send", type: "submit", "aria-label": t("send"), title: t("send"), disabled: true }, icon(ICONS.send, 18));
    this.#composer.append(this.#textarea, this.#fileInput, attach, this.#send);
    this.#wireComposer(attach);

    this.#newHint = button({ class: "chip new-hint", hidden: true }, () => this.#toEnd(), icon(ICONS.chevron, 16), t("newMessages"));
    this.#body.append(this.#list.element, this.#formSlot, this.#newHint);
    this.#body.addEventListener("scroll", () => {
      this.#stuck = this.#atEnd();
      this.#seen();
    });
    // Images and growing answers change the list's height without a render: keep following.
    new ResizeObserver(() => {
      if (this.#stuck && this.#mode === "chat") this.#body.scrollTop = this.#body.scrollHeight;
      this.#seen();
    }).observe(this.#list.element);
    this.#panel = h(
      "div",
      { class: "panel", id: "parley-panel", role: "dialog", "aria-labelledby": "parley-title", hidden: true },
      head,
      this.#banner,
      this.#status,
      this.#body,
      this.#typingLine,
      this.#uploads,
      this.#alert,
      this.#count,
      this.#composer,
      this.#live,
      h("div", { class: "drop", text: t("dropFiles") }),
    );
    this.#panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.stopPropagation();
        this.close();
      }
    });
    this.#wireDrop();

    this.#root = h("div", { class: `root${options.launcher ? "" : " no-launcher"}`, "data-position": options.position });
    this.#root.style.setProperty("--p", options.color);
    this.#root.style.setProperty("--pt", textOn(options.color));
    this.#root.append(this.#panel);
    if (options.launcher) this.#root.append(this.#launcher);
    this.shadow.appendChild(this.#root);
    document.addEventListener("visibilitychange", () => this.scheduleRender());
    window.addEventListener("focus", () => this.scheduleRender());
  }

  /** New looks and texts from the server's settings (an admin changed them). */
  restyle(looks: Pick<ViewOptions, "color" | "position" | "greeting" | "teamName">): void {
    Object.assign(this.#options, looks);
    this.#root.style.setProperty("--p", looks.color);
    this.#root.style.setProperty("--pt", textOn(looks.color));
    this.#root.dataset.position = looks.position;
    this.#list.retext(looks.greeting, looks.teamName);
    this.scheduleRender();
  }

  // -- opening and closing --------------------------------------------------------------

  /** Opens the panel; `focus` moves the keyboard focus into it (not when restoring on load). */
  open(focus = true): void {
    if (this.isOpen) return;
    this.isOpen = true;
    this.#forceScroll = true;
    this.render();
    if (focus) this.#focusFirst();
    this.#events.open();
  }

  close(): void {
    if (!this.isOpen) return;
    const hadFocus = this.shadow.activeElement !== null;
    this.isOpen = false;
    this.render();
    if (hadFocus && this.#options.launcher) this.#launcher.focus();
    this.#events.close();
  }

  toggle(): void {
    if (this.isOpen) this.close();
    else this.open();
  }

  #focusFirst(): void {
    const target = this.#mode === "chat" ? this.#textarea : this.#formSlot.querySelector<HTMLElement>("input, textarea, button");
    target?.focus();
  }

  // -- drawing --------------------------------------------------------------------------

  scheduleRender(): void {
    if (this.#renderQueued) return;
    this.#renderQueued = true;
    queueMicrotask(() => {
      this.#renderQueued = false;
      this.render();
    });
  }

  announce(message: Message): void {
    const { t } = this.#options;
    const who = message.sender_name || (message.sender_kind === "assistant" ? t("assistant") : this.#options.teamName);
    this.#live.textContent = "";
    this.#live.textContent = `${who}: ${message.body || message.attachments.map((a) => a.filename).join(", ")}`;
  }

  alertNew(): void {
    if (!this.isOpen || document.visibilityState !== "visible") {
      this.#attention.alert(this.#options.t("newMessageTitle", { n: Math.max(1, this.#chat.state.unread) }));
    }
  }

  showError(text: string): void {
    this.#alert.textContent = text;
    this.#alert.hidden = false;
    clearTimeout(this.#alertTimer);
    this.#alertTimer = setTimeout(() => {
      this.#alert.hidden = true;
    }, 6000);
  }

  render(): void {
    const chat = this.#chat;
    const visible = this.isOpen && document.visibilityState === "visible";
    this.#root.classList.toggle("open", this.isOpen);
    this.#panel.hidden = !this.isOpen;
    this.#launcher.setAttribute("aria-expanded", String(this.isOpen));
    this.#launcher.setAttribute("aria-label", this.#options.t(this.isOpen ? "closeChat" : "openChat"));

    const mode = this.#currentMode();
    if (mode !== this.#mode) this.#switchMode(mode);
    const phase = chat.state.phase;
    this.#renderHeader(phase);
    this.#renderBanner();
    this.#renderStatus(phase);
    if (mode === "chat") {
      this.#list.render();
      // To the end; but a new answer taller than the view is read from its start (a streamed
      // one was followed as it grew, so its final message keeps the place).
      const last = this.#list.element.lastElementChild as HTMLElement;
      const jump = last !== this.#last && last.matches(".in") && !this.#last?.matches(".streaming");
      this.#last = last;
      if (this.isOpen && (this.#stuck || this.#forceScroll)) {
        this.#body.scrollTop = jump ? last.offsetTop - 12 : this.#body.scrollHeight;
        this.#forceScroll = false;
        this.#stuck = this.#atEnd();
      }
      this.#seen();
    }
    this.#renderTyping();
    this.#renderUploads();
    this.#composerState();

    if (visible) this.#attention.stop();
    const unread = chat.state.unread;
    this.#badge.hidden = unread === 0 || this.isOpen;
    this.#badge.textContent = unread > 9 ? "9+" : String(unread);
    if (unread && !this.isOpen) {
      this.#launcher.setAttribute("aria-label", `${this.#options.t("openChat")} (${this.#options.t("unread", { n: unread })})`);
    }
    if (unread !== this.#lastUnread) {
      this.#lastUnread = unread;
      this.#events.unread(unread);
    }
  }

  #atEnd(): boolean {
    const body = this.#body;
    return body.scrollHeight - body.scrollTop - body.clientHeight < 24;
  }

  #toEnd(): void {
    this.#body.scrollTop = this.#body.scrollHeight;
    this.#stuck = true;
    this.#seen();
    this.#textarea.focus();
  }

  /** Read means seen: marks read up to the last message the visitor has had in view (its
   * whole height, or the view's for a taller one), and offers a way down to newer ones. */
  #seen(): void {
    const chat = this.#chat;
    if (!this.isOpen || document.visibilityState !== "visible" || this.#mode !== "chat") return;
    const body = this.#body;
    const bottom = body.scrollTop + body.clientHeight + 2;
    const shown = [...this.#list.element.querySelectorAll<HTMLElement>(".msg[data-seq]")];
    let upTo = 0;
    for (const el of shown) {
      if (el.offsetTop + Math.min(el.offsetHeight, body.clientHeight) > bottom) break;
      upTo = Number(el.dataset.seq);
    }
    const all = upTo > 0 && upTo === Number(shown[shown.length - 1]?.dataset.seq);
    // Past the last message there are only notes the visitor never gets; all seen is all read.
    chat.markRead(all ? undefined : upTo);
    this.#newHint.hidden = this.#stuck || chat.state.unread === 0;
  }

  #currentMode(): Mode {
    const chat = this.#chat;
    if (chat.started || this.#thanks) return "chat";
    if (chat.away) return "offline";
    const pre = chat.settings.pre_chat;
    const asks = pre.name !== "hidden" || pre.email !== "hidden";
    return asks && !chat.profile.done ? "prechat" : "chat";
  }

  #switchMode(mode: Mode): void {
    const { t } = this.#options;
    const wasFocused = this.shadow.activeElement !== null;
    this.#mode = mode;
    clear(this.#formSlot);
    this.#list.element.hidden = mode !== "chat";
    this.#composer.hidden = mode !== "chat";
    if (mode === "prechat") {
      this.#formSlot.appendChild(
        prechatForm(t, this.#chat.settings.pre_chat, this.#chat.profile, (result) => {
          this.#chat.saveProfile(result, true);
          this.#forceScroll = true;
          this.render();
          this.#textarea.focus();
        }),
      );
    } else if (mode === "offline") {
      const hours = this.#chat.settings.business_hours.text;
      this.#formSlot.appendChild(
        offlineForm(t, this.#chat.settings.pre_chat.name, hours, this.#chat.profile, (result) => {
          this.#chat.saveProfile({ name: result.name, email: result.email });
          this.#thanks = result.email;
          this.#chat.send(result.message);
          this.#forceScroll = true;
          this.render();
          this.#showThanks(result.email);
          this.#textarea.focus();
        }),
      );
    }
    if (wasFocused && this.isOpen) this.#focusFirst();
  }

  #showThanks(email: string): void {
    const text = this.#options.t("offlineThanks", { email });
    this.#chat.state.addNotice(text, Number.MAX_SAFE_INTEGER);
    this.scheduleRender();
  }

  #renderHeader(phase: Phase): void {
    const { t } = this.#options;
    const helper = this.#chat.state.helper;
    this.#title.textContent = this.#options.teamName;
    const texts: Record<Phase, string> = {
      new: this.#chat.settings.business_hours.text ? t("hours", { text: this.#chat.settings.business_hours.text }) : t("subtitle"),
      waiting: t("waiting"),
      assistant: t("withAssistant"),
      agent: t("withAgent", { name: helper?.display_name || t("team") }),
      resolved: t("resolved"),
    };
    this.#subtitle.textContent = texts[phase];
    const key = phase === "agent" ? `agent:${helper?.display_name}:${helper?.avatar_url}` : phase === "assistant" ? "bot" : "team";
    if (this.#headAvatar.dataset.key === key) return;
    let avatar: HTMLElement;
    if (phase === "assistant") avatar = h("div", { class: "avatar bot" }, icon(ICONS.spark, 20));
    else if (phase === "agent" && helper?.display_name) {
      const url = safeUrl(helper.avatar_url, this.#chat.server);
      avatar = h("div", { class: "avatar" }, url ? h("img", { src: url, alt: "" }) : initials(helper.display_name));
    } else avatar = teamAvatar();
    avatar.setAttribute("aria-hidden", "true");
    avatar.dataset.key = key;
    this.#headAvatar.replaceWith(avatar);
    this.#headAvatar = avatar;
  }

  #renderBanner(): void {
    // Reconnecting usually takes a blink and needs no word; a failed attempt or the browser
    // going offline does.
    const link = this.#chat.link;
    const text = link === "offline" ? this.#options.t("offline") : link === "unreachable" ? this.#options.t("cannotConnect") : "";
    this.#banner.hidden = !text;
    this.#banner.textContent = text;
  }

  #renderStatus(phase: Phase): void {
    const { t } = this.#options;
    const chat = this.#chat;
    const { queue } = this.#chat.state;
    const key = `${phase}|${JSON.stringify(queue)}`;
    if (this.#status.dataset.key === key) return;
    this.#status.dataset.key = key;
    clear(this.#status);
    this.#status.dataset.phase = phase;
    const parts: (HTMLElement | string)[] = [];
    if (phase === "waiting" && queue?.position) {
      let text = t("queuePosition", { n: queue.position });
      const wait = queue.estimated_wait_seconds;
      if (queue.enough_data && typeof wait === "number") {
        text += ` · ${t("queueWait", { n: Math.max(1, Math.round(wait / 60)) })}`;
      }
      parts.push(h("span", { class: "grow queue", text }));
    } else if (phase === "assistant") {
      // The header already says who is answering; this row offers the way to a person.
      parts.push(button({ class: "chip human" }, () => {
          this.#forceScroll = true; // to the confirmation, wherever the visitor was reading
          void chat.requestHuman();
        }, icon(ICONS.person, 16), t("talkToHuman")));
    } else if (phase === "resolved") {
      parts.push(h("span", { class: "grow", text: t("resolvedHint") }));
      parts.push(
        button({ class: "chip new-conversation", text: t("newConversation") }, () => {
          this.#forceScroll = true;
          void chat.startNew();
          this.#textarea.focus();
        }),
      );
    }
    this.#status.append(...parts);
    this.#status.hidden = parts.length === 0;
  }

  #renderTyping(): void {
    const { t } = this.#options;
    const names = this.#chat.state.typingNames();
    const text = names.length ? t("typing", { name: names[0] || this.#options.teamName }) : "";
    if (this.#typingLine.dataset.text === text) return;
    this.#typingLine.dataset.text = text;
    clear(this.#typingLine);
    if (text) this.#typingLine.append(h("span", { class: "dots", "aria-hidden": "true" }, h("i"), h("i"), h("i")), text);
    this.#typingLine.hidden = !text || this.#mode !== "chat";
  }

  #renderUploads(): void {
    clear(this.#uploads);
    for (const item of this.#chat.uploads) {
      const cancel = button({ class: "icon-btn", "aria-label": this.#options.t("cancel") }, item.cancel, icon(ICONS.close, 16));
      const bar = h("progress", { max: 1, value: item.progress, "aria-label": this.#options.t("uploading", { name: item.name }) });
      this.#uploads.append(h("div", { class: "upload" }, h("span", { text: this.#options.t("uploading", { name: item.name }) }), bar, cancel));
    }
  }

  // -- composing ------------------------------------------------------------------------

  #wireComposer(attach: HTMLButtonElement): void {
    const submit = () => {
      const text = this.#textarea.value;
      if (!text.trim() || this.#tooLong()) return;
      this.#textarea.value = "";
      this.#resizeComposer();
      this.#forceScroll = true;
      this.#chat.send(text);
      this.#textarea.focus();
    };
    this.#composer.addEventListener("submit", (event) => {
      event.preventDefault();
      submit();
    });
    this.#textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submit();
      }
    });
    this.#textarea.addEventListener("input", () => {
      this.#resizeComposer();
      this.#composerState();
      this.#chat.composerChanged(this.#textarea.value);
    });
    this.#textarea.addEventListener("paste", (event) => {
      const files = [...(event.clipboardData?.files ?? [])];
      if (files.length) {
        event.preventDefault();
        void this.sendFiles(files);
      }
    });
    attach.addEventListener("click", () => this.#fileInput.click());
    this.#fileInput.addEventListener("change", () => {
      void this.sendFiles([...(this.#fileInput.files ?? [])]);
      this.#fileInput.value = "";
    });
  }

  #tooLong(): boolean {
    return this.#textarea.value.length > this.#chat.settings.max_message_length;
  }

  /** The send button, and the counter once the text nears the server's limit. */
  #composerState(): void {
    const { t } = this.#options;
    const max = this.#chat.settings.max_message_length;
    const length = this.#textarea.value.length;
    const over = length - max;
    this.#send.disabled = !this.#textarea.value.trim() || over > 0;
    this.#count.hidden = length < max * 0.9;
    this.#count.classList.toggle("over", over > 0);
    const text = over > 0 ? t("tooLong", { n: over }) : `${length} / ${max}`;
    if (this.#count.textContent !== text) this.#count.textContent = text;
    this.#textarea.setAttribute("aria-invalid", String(over > 0));
  }

  #resizeComposer(): void {
    this.#textarea.style.height = "auto";
    this.#textarea.style.height = `${Math.min(this.#textarea.scrollHeight, 132)}px`;
  }

  #wireDrop(): void {
    let depth = 0;
    const hasFiles = (event: DragEvent) => [...(event.dataTransfer?.types ?? [])].includes("Files");
    this.#panel.addEventListener("dragenter", (event) => {
      if (!hasFiles(event) || this.#mode !== "chat") return;
      depth++;
      this.#panel.classList.add("dragging");
    });
    this.#panel.addEventListener("dragover", (event) => {
      if (hasFiles(event) && this.#mode === "chat") event.preventDefault();
    });
    this.#panel.addEventListener("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (!depth) this.#panel.classList.remove("dragging");
    });
    this.#panel.addEventListener("drop", (event) => {
      depth = 0;
      this.#panel.classList.remove("dragging");
      if (!hasFiles(event) || this.#mode !== "chat") return;
      event.preventDefault();
      void this.sendFiles([...(event.dataTransfer?.files ?? [])]);
    });
  }

  /** Uploads each file with a progress bar, then sends it as its own message. */
  async sendFiles(files: File[]): Promise<void> {
    const { t } = this.#options;
    const chat = this.#chat;
    const limits = chat.settings.attachments;
    for (const file of files) {
      if (!chat.connection.online) {
        this.showError(t("offline"));
        return;
      }
      if (file.size > limits.max_bytes) {
        this.showError(t("tooLarge", { name: file.name, size: formatBytes(limits.max_bytes) }));
        continue;
      }
      if (limits.types.length && !limits.types.includes(file.type)) {
        this.showError(t("badType", { name: file.name }));
        continue;
      }
      const conversation = await chat.ensureConversation();
      if (!conversation) {
        this.showError(t("cannotConnect"));
        return;
      }
      const entry: Upload = { id: `${Date.now()}-${file.name}`, name: file.name, progress: 0, cancel: () => undefined };
      const handle = upload({
        server: chat.server,
        token: chat.visitor().token,
        conversationId: conversation.id,
        file,
        onProgress: (fraction) => {
          entry.progress = fraction;
          this.#renderUploads();
        },
      });
      entry.cancel = handle.cancel;
      chat.uploads.push(entry);
      this.#renderUploads();
      try {
        const attachment = await handle.done;
        this.#forceScroll = true;
        chat.send("", [attachment]);
      } catch (error) {
        const reason = error instanceof UploadError ? error.message : String(error);
        if (reason !== "cancelled") this.showError(t("uploadFailed", { name: file.name, reason }));
      } finally {
        chat.uploads = chat.uploads.filter((u) => u !== entry);
        this.#renderUploads();
      }
    }
  }
}
