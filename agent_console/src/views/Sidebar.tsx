import { clock, customerName } from "../format";
import { model, type ConvState } from "../model";
import { go } from "../router";

export function Sidebar({ state, onClose }: { state: ConvState; onClose: () => void }) {
  const profile = model.profiles.get(state.conv.customer_id);
  const customer = profile?.customer;
  const summary = state.summary?.customer;
  const name = customerName(customer?.name ?? summary?.name, customer?.email ?? summary?.email);
  const verified = customer?.identity_verified ?? summary?.identity_verified ?? false;
  const meta = state.conv.metadata as Record<string, unknown>;
  const attributes = Object.entries(customer?.attributes ?? {});
  const previous = (profile?.conversations ?? []).filter((c) => c.id !== state.conv.id);
  return (
    <aside class="sidebar" aria-label="Customer details" data-testid="sidebar">
      <section>
        <div class="sidebar-head">
          <h3>Customer</h3>
          <button type="button" class="icon" aria-label="Close customer details" onClick={onClose}>
            ×
          </button>
        </div>
        <p class="customer-name">{name}</p>
        <dl class="facts">
          <dt>Email</dt>
          <dd>{customer?.email ?? summary?.email ?? <span class="muted">not given</span>}</dd>
          <dt>Identity</dt>
          <dd>
            {verified ? (
              <span class="badge ok" title="The site signed this customer's user id">Verified</span>
            ) : (
              <span class="badge warn" title="Name and email were typed by the visitor">Not verified</span>
            )}
          </dd>
          {customer?.external_id && (
            <>
              <dt>User id</dt>
              <dd>{customer.external_id}</dd>
            </>
          )}
          {typeof meta.page_url === "string" && (
            <>
              <dt>Page</dt>
              <dd class="break">
                <a href={safeUrl(meta.page_url)} target="_blank" rel="noopener noreferrer nofollow">
                  {meta.page_url}
                </a>
              </dd>
            </>
          )}
          {typeof meta.referrer === "string" && (
            <>
              <dt>Referrer</dt>
              <dd class="break">{meta.referrer}</dd>
            </>
          )}
          {customer && (
            <>
              <dt>First seen</dt>
              <dd>{clock(customer.created_at)}</dd>
            </>
          )}
        </dl>
      </section>
      {attributes.length > 0 && (
        <section>
          <h3>Attributes</h3>
          <dl class="facts">
            {attributes.map(([key, value]) => (
              <>
                <dt>{key}</dt>
                <dd class="break">{typeof value === "string" ? value : JSON.stringify(value)}</dd>
              </>
            ))}
          </dl>
        </section>
      )}
      <section>
        <h3>Previous conversations</h3>
        {!profile && <p class="muted small">Loading…</p>}
        {profile && previous.length === 0 && <p class="muted small">None.</p>}
        <ul class="previous" role="list">
          {previous.map((c) => (
            <li key={c.id}>
              <button type="button" class="linkish" onClick={() => go(`inbox/${c.id}`)}>
                {clock(c.created_at)}
              </button>{" "}
              <span class={`status ${c.status}`}>{c.status}</span>
              <span class="muted small"> · {c.last_seq} messages</span>
            </li>
          ))}
        </ul>
      </section>
    </aside>
  );
}

/** Only http(s) links are clickable; anything else (javascript:, data:) becomes inert. */
function safeUrl(url: string): string | undefined {
  return /^https?:\/\//i.test(url) ? url : undefined;
}
