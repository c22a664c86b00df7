import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { duration } from "../format";
import { model } from "../model";
import { Head, useLoad } from "./common";

interface Row {
  day: string;
  team: string | null;
  team_id: string | null;
  conversations: number;
  assigned: number;
  resolved: number;
  wait_avg: number | null;
  wait_median: number | null;
  first_response_avg: number | null;
  resolution_avg: number | null;
  assistant_resolved: number;
  handovers: number;
}

interface Report {
  from: string;
  to: string;
  days: string[];
  rows: Row[];
  totals: {
    conversations: number;
    assigned: number;
    resolved: number;
    assistant_resolved: number;
    handovers: number;
    wait_avg: number | null;
    first_response_avg: number | null;
    resolution_avg: number | null;
  };
  handover_reasons: { reason: string; count: number }[];
}

function isoDay(offset: number): string {
  return new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
}

const secs = (v: number | null) => (v === null ? "–" : duration(v));

export function ReportsPage() {
  const [from, setFrom] = useState(isoDay(-13));
  const [to, setTo] = useState(isoDay(0));
  const [team, setTeam] = useState("");
  const query = `from=${from}&to=${to}${team ? `&team_id=${team}` : ""}`;
  const { data, error } = useLoad<Report>(`/api/v1/admin/reports?${query}`);
  const teams = model.directory?.teams ?? [];

  async function exportCsv() {
    try {
      const response = await model.api.fetch(`/api/v1/admin/reports.csv?${query}`);
      const url = URL.createObjectURL(await response.blob());
      const link = document.createElement("a");
      link.href = url;
      link.download = `parley-report-${from}-${to}.csv`;
      link.click();
      URL.revokeObjectURL(url);
    } catch (e) {
      model.fail(e);
    }
  }

  return (
    <>
      <Head title="Reports">
        <p class="muted">Per day (UTC) and team.</p>
      </Head>
      <div class="card">
        <div class="toolbar">
          <label class="check">
            From <input type="date" value={from} max={to} onChange={(e) => setFrom(e.currentTarget.value)} />
          </label>
          <label class="check">
            To <input type="date" value={to} min={from} onChange={(e) => setTo(e.currentTarget.value)} />
          </label>
          <select aria-label="Team" value={team} onChange={(e) => setTeam(e.currentTarget.value)} style="max-width:200px">
            <option value="">All teams</option>
            {teams.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
          <button class="btn" type="button" style="margin-left:auto" onClick={() => void exportCsv()}>
            Export CSV
          </button>
        </div>
      </div>
      {error && <p class="form-error">{error}</p>}
      {data && <ReportBody report={data} />}
    </>
  );
}

function ReportBody({ report }: { report: Report }) {
  const t = report.totals;
  const byDay = new Map<string, { conversations: number; resolved: number; waitSum: number; assigned: number }>();
  for (const day of report.days) byDay.set(day, { conversations: 0, resolved: 0, waitSum: 0, assigned: 0 });
  for (const r of report.rows) {
    const d = byDay.get(r.day);
    if (!d) continue;
    d.conversations += r.conversations;
    d.resolved += r.resolved;
    d.assigned += r.assigned;
    d.waitSum += (r.wait_avg ?? 0) * r.assigned;
  }
  const days = [...byDay.entries()];
  return (
    <>
      <div class="kpis" data-testid="kpis">
        <Kpi label="Conversations" value={String(t.conversations)} />
        <Kpi label="Resolved" value={String(t.resolved)} />
        <Kpi label="Average wait" value={secs(t.wait_avg)} />
        <Kpi label="First response" value={secs(t.first_response_avg)} />
        <Kpi label="Resolution time" value={secs(t.resolution_avg)} />
        <Kpi label="Resolved by the assistant" value={String(t.assistant_resolved)} />
        <Kpi label="Handed over by the assistant" value={String(t.handovers)} />
      </div>
      <div class="split">
        <div class="card">
          <div class="card-head">
            <h2>Conversation volume</h2>
            <span class="legend">
              <i class="sw accent" /> started <i class="sw ok" /> resolved
            </span>
          </div>
          <div class="card-body">
            <BarChart days={days.map(([day, d]) => ({ day, a: d.conversations, b: d.resolved }))} />
          </div>
          <div class="card-head">
            <h2>Average wait before an agent</h2>
          </div>
          <div class="card-body">
            <LineChart points={days.map(([day, d]) => ({ day, value: d.assigned ? d.waitSum / d.assigned : null }))} />
          </div>
        </div>
        <div class="card">
          <div class="card-head">
            <h2>Why the assistant handed over</h2>
          </div>
          {report.handover_reasons.length === 0 ? (
            <p class="empty">No hand-overs in this period.</p>
          ) : (
            <table class="grid">
              <tbody>
                {report.handover_reasons.map((r) => (
                  <tr key={r.reason}>
                    <td>{r.reason.replace(/_/g, " ")}</td>
                    <td class="num">{r.count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
      <div class="card">
        <div class="card-head">
          <h2>Per day and team</h2>
        </div>
        <table class="grid" data-testid="report-table">
          <thead>
            <tr>
              <th>Day</th>
              <th>Team</th>
              <th class="num">Started</th>
              <th class="num">Assigned</th>
              <th class="num">Resolved</th>
              <th class="num">Avg wait</th>
              <th class="num">Median wait</th>
              <th class="num">First response</th>
              <th class="num">Resolution</th>
              <th class="num">Assistant resolved</th>
              <th class="num">Hand-overs</th>
            </tr>
          </thead>
          <tbody>
            {report.rows.map((r) => (
              <tr key={`${r.day}-${r.team_id}`}>
                <td class="nowrap">{r.day}</td>
                <td>{r.team ?? "—"}</td>
                <td class="num">{r.conversations}</td>
                <td class="num">{r.assigned}</td>
                <td class="num">{r.resolved}</td>
                <td class="num">{secs(r.wait_avg)}</td>
                <td class="num">{secs(r.wait_median)}</td>
                <td class="num">{secs(r.first_response_avg)}</td>
                <td class="num">{secs(r.resolution_avg)}</td>
                <td class="num">{r.assistant_resolved}</td>
                <td class="num">{r.handovers}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {report.rows.length === 0 && <p class="empty">No conversations in this period.</p>}
      </div>
    </>
  );
}

function Kpi({ label, value }: { label: string; value: string }) {
  return (
    <div class="kpi">
      <div class="value">{value}</div>
      <div class="label">{label}</div>
    </div>
  );
}

const W = 640;
const H = 180;
// Room on the left for the longest axis label ("59m 59s").
const PAD = { left: 58, right: 8, top: 10, bottom: 24 };

function scale(max: number): number[] {
  const top = Math.max(1, max);
  const step = Math.max(1, Math.ceil(top / 4));
  return [0, step, step * 2, step * 3, step * 4];
}

function BarChart({ days }: { days: { day: string; a: number; b: number }[] }) {
  const ticks = scale(Math.max(0, ...days.map((d) => Math.max(d.a, d.b))));
  const top = ticks[ticks.length - 1];
  const inner = W - PAD.left - PAD.right;
  const slot = inner / Math.max(1, days.length);
  const bar = Math.max(2, Math.min(14, slot / 2 - 2));
  const y = (v: number) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - v / top);
  const [tip, setTip] = useState<number | null>(null);
  return (
    <div class="chart-wrap">
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label="Conversations started and resolved per day">
      {ticks.map((t) => (
        <g key={t}>
          <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} stroke="#e1e5eb" />
          <text x={PAD.left - 6} y={y(t) + 4} text-anchor="end">
            {t}
          </text>
        </g>
      ))}
      {days.map((d, i) => {
        const x = PAD.left + i * slot + slot / 2;
        return (
          <g key={d.day}>
            <rect x={x - bar - 1} y={y(d.a)} width={bar} height={y(0) - y(d.a)} fill="#1f5fbf">
              <title>{`${d.day}: ${d.a} started`}</title>
            </rect>
            <rect x={x + 1} y={y(d.b)} width={bar} height={y(0) - y(d.b)} fill="#1e7d4f">
              <title>{`${d.day}: ${d.b} resolved`}</title>
            </rect>
            {(days.length <= 16 || i % Math.ceil(days.length / 12) === 0) && (
              <text x={x} y={H - 6} text-anchor="middle">
                {d.day.slice(5)}
              </text>
            )}
            <HoverBand index={i} x={x - slot / 2} width={slot} label={`${d.day}: ${d.a} started, ${d.b} resolved`} onTip={setTip} />
          </g>
        );
      })}
    </svg>
    {tip !== null && days[tip] && (
      <ChartTip left={(PAD.left + tip * slot + slot / 2) / W}>
        <strong>{days[tip].day}</strong> · {days[tip].a} started · {days[tip].b} resolved
      </ChartTip>
    )}
    </div>
  );
}

/** A day's column, hovered or focused (charts are read by keyboard too): shows its tooltip. */
function HoverBand(props: { index: number; x: number; width: number; label: string; onTip: (i: number | null) => void }) {
  const show = () => props.onTip(props.index);
  const hide = () => props.onTip(null);
  return (
    // biome-ignore lint/a11y/noInteractiveElementToNoninteractiveRole: a focusable chart column announced as its value; focusing it shows the same tooltip as hovering
    <rect
      class="hover-band"
      x={props.x}
      y={0}
      width={props.width}
      height={H}
      tabIndex={0}
      role="img"
      aria-label={props.label}
      onMouseEnter={show}
      onMouseLeave={hide}
      onFocus={show}
      onBlur={hide}
    />
  );
}

function ChartTip({ left, children }: { left: number; children: ComponentChildren }) {
  return (
    <div class="chart-tip" role="tooltip" data-testid="chart-tip" style={{ left: `${(Math.min(0.85, Math.max(0.15, left)) * 100).toFixed(2)}%` }}>
      {children}
    </div>
  );
}

function LineChart({ points }: { points: { day: string; value: number | null }[] }) {
  const values = points.map((p) => p.value ?? 0);
  const ticks = scale(Math.max(0, ...values));
  const top = ticks[ticks.length - 1];
  const inner = W - PAD.left - PAD.right;
  const slot = inner / Math.max(1, points.length);
  const y = (v: number) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - v / top);
  const x = (i: number) => PAD.left + i * slot + slot / 2;
  const path = points
    .map((p, i) => (p.value === null ? null : `${x(i)},${y(p.value)}`))
    .filter(Boolean)
    .join(" ");
  const [tip, setTip] = useState<number | null>(null);
  return (
    <div class="chart-wrap">
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label="Average wait per day">
      {ticks.map((t) => (
        <g key={t}>
          <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} stroke="#e1e5eb" />
          <text x={PAD.left - 6} y={y(t) + 4} text-anchor="end">
            {duration(t)}
          </text>
        </g>
      ))}
      <polyline points={path} fill="none" stroke="#1f5fbf" stroke-width="2" />
      {points.map((p, i) =>
        p.value === null ? null : (
          <circle key={p.day} cx={x(i)} cy={y(p.value)} r="3" fill="#1f5fbf">
            <title>{`${p.day}: ${duration(p.value)}`}</title>
          </circle>
        ),
      )}
      {points.map((p, i) =>
        points.length <= 16 || i % Math.ceil(points.length / 12) === 0 ? (
          <text key={`l${p.day}`} x={x(i)} y={H - 6} text-anchor="middle">
            {p.day.slice(5)}
          </text>
        ) : null,
      )}
      {points.map((p, i) => (
        <HoverBand
          key={`h${p.day}`}
          index={i}
          x={x(i) - slot / 2}
          width={slot}
          label={`${p.day}: ${p.value === null ? "nobody waited" : `average wait ${duration(p.value)}`}`}
          onTip={setTip}
        />
      ))}
    </svg>
    {tip !== null && points[tip] && (
      <ChartTip left={x(tip) / W}>
        <strong>{points[tip].day}</strong> · {points[tip].value === null ? "nobody waited" : `average wait ${duration(points[tip].value!)}`}
      </ChartTip>
    )}
    </div>
  );
}
