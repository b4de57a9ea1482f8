import { useState } from 'react';
import { gql } from '../api';
import { formatMoney, formatNumber } from '../format';
import { useLiveEvents } from '../live';
import { Empty, ErrorNote, Loading, useQuery } from '../components/ui';

interface Proposal {
  id: string;
  status: string;
  rationale: string;
  warnings: string[];
  amount: string | null;
  createdAt: string;
  expiresAt: string | null;
  advisor: { email: string };
  client: { id: string; email: string };
  portfolio: { name: string; baseCurrency: string };
  lines: { side: string; quantity: string; estimatedPrice: string; instrument: { symbol: string } }[];
}
const FIELDS = 'id status rationale warnings amount createdAt expiresAt advisor { email } client { id email } portfolio { name baseCurrency } lines { side quantity estimatedPrice instrument { symbol } }';

/**
 * Proposals: a client's inbox (approve or reject what the advisor recommends) and an advisor's view of
 * what they proposed and to whom; changes arrive live on proposalUpdated.
 */
export function Proposals() {
  const me = useQuery<{ me: { id: string; role: string; clients: { id: string; email: string; portfolios: { name: string; totalValue: string; baseCurrency: string }[] }[] } }>(
    'query Me { me { id role clients { id email portfolios { name totalValue baseCurrency } } } }',
    {},
  );
  const q = useQuery<{ proposals: { edges: { node: Proposal }[] } }>(`query P { proposals(first: 20) { edges { node { ${FIELDS} } } } }`, {});
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  useLiveEvents<{ sequence: number; p: Proposal }>({
    key: 'proposals',
    query: `subscription U { proposalUpdated { ${FIELDS} } }`,
    variables: () => ({}),
    // proposalUpdated carries no sequence: every change is newer than the last, so count them.
    pick: (d) => ({ sequence: Date.now() + Math.random(), p: d.proposalUpdated as Proposal }),
    onEvent: (ev) => q.setData((cur) => ({ proposals: { edges: upsert(cur.proposals.edges, ev.p) } })),
  });

  async function decide(id: string, approve: boolean) {
    setBusy(id);
    setError(null);
    try {
      if (approve) await gql(`mutation A($id: ID!, $k: String) { approveProposal(id: $id, clientRequestId: $k) { ${FIELDS} } }`, { id, k: `web-approve-${id}` });
      else await gql(`mutation R($id: ID!) { rejectProposal(id: $id, reason: "Declined in the dashboard") { ${FIELDS} } }`, { id });
      q.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  }

  if ((q.loading && !q.data) || (me.loading && !me.data)) return <Loading what="proposals" />;
  if (q.error) return <ErrorNote error={q.error} retry={q.reload} />;
  const list = q.data?.proposals.edges.map((e) => e.node) ?? [];
  const myId = me.data?.me.id;
  const clients = me.data?.me.clients ?? [];
  return (
    <section>
      <h2>{me.data?.me.role === 'ADVISOR' ? 'Clients and proposals' : 'Proposals'}</h2>
      {clients.length > 0 && (
        <div className="card">
          <h3>Your clients</h3>
          <div className="table-wrap">
            <table aria-label="Clients">
              <tbody>
                {clients.map((c) => (
                  <tr key={c.id}>
                    <td>{c.email}</td>
                    <td>{c.portfolios.map((p) => `${p.name} ${formatMoney(p.totalValue, p.baseCurrency)}`).join(' · ') || <span className="muted">no portfolio</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
      {error ? <ErrorNote error={error} /> : null}
      {list.length === 0 && <Empty>No proposals. When your advisor recommends trades, they appear here for you to approve or reject.</Empty>}
      {list.map((p) => (
        <article key={p.id} className="card proposal" data-status={p.status} aria-label={`Proposal ${p.id}`}>
          <header className="page-head">
            <strong>{p.client.id === myId ? `From ${p.advisor.email}` : `To ${p.client.email}`}</strong>
            <span className="muted small">
              {p.portfolio.name} · {new Date(p.createdAt).toLocaleString()}
            </span>
            <span className={`status s-${p.status.toLowerCase()}`}>{p.status}</span>
          </header>
          <p>{p.rationale}</p>
          {p.amount && <p className="small">Smallcase investment of {formatMoney(p.amount, p.portfolio.baseCurrency)}</p>}
          {p.lines.length > 0 && (
            <ul className="small">
              {p.lines.map((l, i) => (
                <li key={i}>
                  <span className={l.side === 'BUY' ? 'buy-text' : 'sell-text'}>{l.side}</span> {formatNumber(l.quantity)} {l.instrument.symbol} ≈ {formatMoney(l.estimatedPrice, p.portfolio.baseCurrency)}
                </li>
              ))}
            </ul>
          )}
          {p.warnings.length > 0 && (
            <ul className="warnings small" aria-label="Suitability warnings">
              {p.warnings.map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
          )}
          {p.status === 'PENDING' && p.client.id === myId && (
            <div className="actions">
              <button type="button" className="buy" disabled={busy === p.id} onClick={() => decide(p.id, true)}>
                Approve and place
              </button>
              <button type="button" className="sell" disabled={busy === p.id} onClick={() => decide(p.id, false)}>
                Reject
              </button>
            </div>
          )}
        </article>
      ))}
    </section>
  );
}

function upsert(edges: { node: Proposal }[], p: Proposal): { node: Proposal }[] {
  const i = edges.findIndex((e) => e.node.id === p.id);
  if (i < 0) return [{ node: p }, ...edges];
  const next = edges.slice();
  next[i] = { node: p };
  return next;
}


