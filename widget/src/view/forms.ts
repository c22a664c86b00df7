// The pre-chat form (who are you?) and the offline form (leave us a message).

import type { FieldMode } from "../protocol";
import type { Translate } from "../i18n";
import { h } from "./dom";

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

interface Field {
  input: HTMLInputElement | HTMLTextAreaElement;
  error: HTMLElement;
  label: HTMLLabelElement;
  required: boolean;
  email: boolean;
}

let sequence = 0;

function field(
  t: Translate,
  name: string,
  label: string,
  mode: FieldMode,
  kind: "text" | "email" | "textarea",
  value = "",
): Field {
  const id = `parley-${name}-${++sequence}`;
  const required = mode === "required";
  const error = h("span", { class: "err", id: `${id}-err`, "aria-live": "polite" });
  const attributes = {
    id,
    name,
    required,
    "aria-required": required ? "true" : null,
    "aria-describedby": `${id}-err`,
  };
  const input =
    kind === "textarea"
      ? h("textarea", { ...attributes, rows: 4, maxlength: 5000 })
      : h("input", {
          ...attributes,
          type: kind,
          autocomplete: kind === "email" ? "email" : "name",
          maxlength: kind === "email" ? 320 : 200,
          inputmode: kind === "email" ? "email" : null,
        });
  input.value = value;
  input.addEventListener("input", () => {
    error.textContent = "";
    input.removeAttribute("aria-invalid");
  });
  const labelEl = h(
    "label",
    { for: id },
    h("span", {}, label, required ? null : h("small", { text: ` (${t("optional")})` })),
    input,
    error,
  );
  return { input, error, label: labelEl, required, email: kind === "email" };
}

/** Checks every field, shows what is wrong next to it, and focuses the first problem. */
function valid(t: Translate, fields: Field[]): boolean {
  let first: Field | null = null;
  for (const f of fields) {
    const value = f.input.value.trim();
    let problem = "";
    if (f.required && !value) problem = t("fieldRequired");
    else if (f.email && value && !EMAIL.test(value)) problem = t("invalidEmail");
    f.error.textContent = problem;
    f.input.setAttribute("aria-invalid", problem ? "true" : "false");
    if (problem && !first) first = f;
  }
  first?.input.focus();
  return first === null;
}

export interface PrechatResult {
  name: string;
  email: string;
}

export function prechatForm(
  t: Translate,
  modes: { name: FieldMode; email: FieldMode },
  known: { name?: string | null; email?: string | null },
  submit: (result: PrechatResult) => void,
): HTMLFormElement {
  const fields: Field[] = [];
  const name = modes.name === "hidden" ? null : field(t, "name", t("name"), modes.name, "text", known.name ?? "");
  const email = modes.email === "hidden" ? null : field(t, "email", t("email"), modes.email, "email", known.email ?? "");
  if (name) fields.push(name);
  if (email) fields.push(email);
  const form = h(
    "form",
    { class: "form prechat", novalidate: true, "aria-labelledby": "parley-prechat-title" },
    h("h3", { id: "parley-prechat-title", text: t("prechatTitle") }),
    h("p", { text: t("prechatIntro") }),
    ...fields.map((f) => f.label),
    h("button", { class: "primary", type: "submit", text: t("startChat") }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!valid(t, fields)) return;
    submit({ name: name?.input.value.trim() ?? "", email: email?.input.value.trim() ?? "" });
  });
  return form;
}

export interface OfflineResult extends PrechatResult {
  message: string;
}

export function offlineForm(
  t: Translate,
  nameMode: FieldMode,
  hoursText: string | null,
  known: { name?: string | null; email?: string | null },
  submit: (result: OfflineResult) => void,
): HTMLFormElement {
  const name = nameMode === "hidden" ? null : field(t, "name", t("name"), "optional", "text", known.name ?? "");
  // Without an email address nobody could answer a message left while we are away.
  const email = field(t, "email", t("email"), "required", "email", known.email ?? "");
  const message = field(t, "message", t("message"), "required", "textarea");
  const fields = [name, email, message].filter((f): f is Field => f !== null);
  const form = h(
    "form",
    { class: "form offline", novalidate: true, "aria-labelledby": "parley-offline-title" },
    h("h3", { id: "parley-offline-title", text: t("offlineTitle") }),
    h("p", { text: t("offlineIntro") }),
    hoursText ? h("div", { class: "hours", text: t("hours", { text: hoursText }) }) : null,
    ...fields.map((f) => f.label),
    h("button", { class: "primary", type: "submit", text: t("sendMessage") }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!valid(t, fields)) return;
    submit({
      name: name?.input.value.trim() ?? "",
      email: email.input.value.trim(),
      message: message.input.value.trim(),
    });
  });
  return form;
}
