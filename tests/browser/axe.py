"""axe-core (from npm, installed with the console's dev dependencies) run inside pages: the
accessibility rules a real checker applies, across the widget's Shadow DOM too."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import CONSOLE_DIR, _missing

AXE = CONSOLE_DIR / "node_modules" / "axe-core" / "axe.min.js"

# Serious and critical findings, one line each: the rule, and where.
RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" >> ")).join(", ")}`);
}"""


async def with_axe(context: Any) -> None:
    """Load axe-core into every page of `context` (before the page's scripts and past its CSP)."""
    if not AXE.exists():
        _missing(f"{AXE} is missing; `make console` installs the console's npm packages")
    await context.add_init_script(path=str(AXE))


# Colours are judged once opening transitions are over (mid-fade text is lighter than it is).
SETTLED = """() => [document, ...[...document.querySelectorAll("*")].map((e) => e.shadowRoot).filter(Boolean)]
  .flatMap((root) => root.getAnimations())
  .every((a) => a.playState !== "running" || a.effect?.getTiming().iterations === Infinity)"""


async def serious_violations(page: Any) -> list[str]:
    await page.wait_for_function(SETTLED)
    return list(await page.evaluate(RUN))
