// Building DOM without HTML strings: every text goes through textContent, so nothing a
// customer, agent, article or assistant writes is ever parsed as markup.

type Props = Record<string, string | number | boolean | null | undefined>;
type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = String(value);
    else if (name === "text") el.textContent = String(value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
}

export function clear(el: Node): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** A button (never a form submit) that runs `onClick`. */
export function button(props: Props, onClick: () => void, ...children: Child[]): HTMLButtonElement {
  const el = h("button", { type: "button", ...props }, ...children);
  el.addEventListener("click", onClick);
  return el;
}

const SVG = "http://www.w3.org/2000/svg";

/** A line icon from our own path data (never from the network or a message). */
export function icon(path: string, size = 20): SVGSVGElement {
  const svg = document.createElementNS(SVG, "svg");
  const attributes: Record<string, string> = {
    viewBox: "0 0 24 24",
    width: String(size),
    height: String(size),
    fill: "none",
    stroke: "currentColor",
    "stroke-width": "2",
    "stroke-linecap": "round",
    "stroke-linejoin": "round",
    "aria-hidden": "true",
    focusable: "false",
  };
  for (const name in attributes) svg.setAttribute(name, attributes[name]);
  const shape = document.createElementNS(SVG, "path");
  shape.setAttribute("d", path);
  svg.appendChild(shape);
  return svg;
}

export const ICONS = {
  chat: "M5 4h14a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2H10l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
  close: "M6 6l12 12M18 6 6 18",
  chevron: "M6 9l6 6 6-6",
  send: "M4 12 20 4l-5 16-3-7z",
  clip: "M20 11l-8 8a5 5 0 0 1-7-7l8-8a3.5 3.5 0 0 1 5 5l-8 8a2 2 0 0 1-3-3l7-7",
  check: "M5 12l4 4L19 6",
  checks: "M2 12l4 4L16 6m-3 9 1 1L23 6",
  clock: "M12 7v5l3 2m6-2a9 9 0 1 1-18 0 9 9 0 0 1 18 0",
  alert: "M12 8v5m0 4v.01M12 3l10 18H2z",
  file: "M6 3h8l5 5v13H6zm8 0v5h5",
  spark: "M12 3l2 7 7 2-7 2-2 7-2-7-7-2 7-2z",
  person: "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8m-8 9c0-4 4-6 8-6s8 2 8 6",
};
