// The stylesheet (minified into the bundle as a string by the build) and the brand colour's
// readable text colour.

import css from "./widget.css";

export const STYLES = css;


/** Text colour on the brand colour: white where it reads well enough (WCAG 4.5:1), else ink. */
export function textOn(hex: string): string {
  const channel = (i: number) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  return 1.05 / (luminance + 0.05) >= 4.5 ? "#ffffff" : "#111418";
}
