import { AgentsPage } from "./Agents";
import { AuditPage } from "./Audit";
import { KnowledgePage } from "./Knowledge";
import { QuickResponsesPage } from "./QuickResponses";
import { ReportsPage } from "./Reports";
import { TeamsPage } from "./Teams";
import { WidgetPage } from "./Widget";

const PAGES = [
  { id: "quick-responses", label: "Quick responses", view: QuickResponsesPage },
  { id: "agents", label: "Agents", view: AgentsPage },
  { id: "teams", label: "Teams & routing", view: TeamsPage },
  { id: "knowledge", label: "Knowledge base", view: KnowledgePage },
  { id: "widget", label: "Widget", view: WidgetPage },
  { id: "reports", label: "Reports", view: ReportsPage },
  { id: "audit", label: "Audit log", view: AuditPage },
];

export function Admin({ page }: { page: string | null }) {
  const current = PAGES.find((p) => p.id === page) ?? PAGES[0];
  const View = current.view;
  return (
    <div class="admin">
      <nav class="admin-nav" aria-label="Admin">
        {PAGES.map((p) => (
          <a key={p.id} href={`#/admin/${p.id}`} class={p.id === current.id ? "active" : ""} aria-current={p.id === current.id ? "page" : undefined}>
            {p.label}
          </a>
        ))}
      </nav>
      <div class="admin-content">
        <View />
      </div>
    </div>
  );
}
