import { useState, type FormEvent } from 'react';
import { Decimal } from 'decimal.js';
import { gql } from '../api';
import { formatMoney, formatNumber, formatPercent } from '../format';
import { href } from '../router';
import { Empty, ErrorNote, Loading, useQuery } from '../components/ui';

interface Smallcase {
  id: string;
  name: string;
  description: string | null;
  currency: string;
  version: number;
  visibility: string;
  minimumInvestment: string;
  indexValue: string | null;
  constituents: { weight: string; instrument: { symbol: string; exchange: string } }[];
}
interface Plan {
  investedAmount: string;
  leftoverCash: string;
  estimatedFees: string;
  maxWeightDeviation: number;
  lines: { side: string; quantity: string; estimatedPrice: string; estimatedValue: string; targetWeight: string | null; resultingWeight: string | null; instrument: { symbol: string } }[];
}

const LIST = `query Smallcases { smallcases { id name description currency version visibility minimumInvestment indexValue constituents { weight instrument { symbol exchange } } } }`;

/** Smallcases: weighted baskets, with their minimum investment from live prices. */
export function Smallcases({ id }: { id?: string }) {
  const q = useQuery<{ smallcases: Smallcase[] }>(LIST, {});
  if (q.loading && !q.data) return <Loading what="smallcases" />;
  if (q.error) return <ErrorNote error={q.error} retry={q.reload} />;
  const list = q.data?.smallcases ?? [];
  const chosen = id ? list.find((s) => s.id === id) : undefined;
  if (chosen) return <SmallcaseDetail sc={chosen} />;
  return (
    <section>
      <h2>Smallcases</h2>
      {list.length === 0 && <Empty>No smallcases yet. Create one through the API (createSmallcase), or start the embedded demo to get three.</Empty>}
      <div className="grid">
        {list.map((s) => (
          <a key={s.id} className="card portfolio-card" href={href('smallcases', s.id)}>
            <h3>{s.name}</h3>
            <p className="muted small">{s.description}</p>
            <dl className="figures">
              <dt>Constituents</dt>
              <dd>{s.constituents.length}</dd>
              <dt>Minimum</dt>
              <dd>{formatMoney(s.minimumInvestment, s.currency)}</dd>
              <dt>Index</dt>
              <dd>{formatNumber(s.indexValue, { minDigits: 2 })}</dd>
            </dl>
          </a>
        ))}
      </div>
      <Investments />
    </section>
  );
}

function SmallcaseDetail({ sc }: { sc: Smallcase }) {
  const pq = useQuery<{ portfolios: { id: string; name: string; baseCurrency: string; availableCash: string }[] }>('query P { portfolios { id name baseCurrency availableCash } }', {});
  const eligible = (pq.data?.portfolios ?? []).filter((p) => p.baseCurrency === sc.currency);
  const [portfolioId, setPortfolioId] = useState('');
  // A round amount comfortably above the minimum, which moves with prices.
  const [amount, setAmount] = useState(() => new Decimal(sc.minimumInvestment).mul('1.1').div(1000).ceil().mul(1000).toFixed(0));
  const [plan, setPlan] = useState<Plan | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const pid = portfolioId || eligible[0]?.id || '';

  async function preview(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setDone(null);
    try {
      const r = await gql<{ previewInvestment: Plan }>(
        `query Preview($s: ID!, $p: ID!, $a: Decimal!) { previewInvestment(smallcaseId: $s, portfolioId: $p, amount: $a) { investedAmount leftoverCash estimatedFees maxWeightDeviation lines { side quantity estimatedPrice estimatedValue targetWeight resultingWeight instrument { symbol } } } }`,
        { s: sc.id, p: pid, a: amount.trim() },
      );
      setPlan(r.previewInvestment);
    } catch (err) {
      setPlan(null);
      setError(err);
    }
  }

  async function invest() {
    setError(null);
    try {
      await gql(`mutation Invest($s: ID!, $p: ID!, $a: Decimal!, $k: String) { investInSmallcase(smallcaseId: $s, portfolioId: $p, amount: $a, clientRequestId: $k) { id status } }`, {
        s: sc.id,
        p: pid,
        a: amount.trim(),
        // One key per click: a retry of the same request is answered with the first investment.
        k: newKey(),
      });
      setDone('Investment placed: its orders are on their way. Follow it under Investments.');
      setPlan(null);
    } catch (err) {
      setError(err);
    }
  }

  return (
    <section>
      <p>
        <a href={href('smallcases')}>← Smallcases</a>
      </p>
      <h2>{sc.name}</h2>
      <p className="muted">
        {sc.description} · version {sc.version} · {sc.visibility.toLowerCase()} · index {formatNumber(sc.indexValue, { minDigits: 2 })}
      </p>
      <div className="two-col">
        <div>
          <h3>Constituents</h3>
          <div className="table-wrap">
            <table aria-label="Constituents">
              <thead>
                <tr>
                  <th>Symbol</th>
                  <th className="num">Weight</th>
                </tr>
              </thead>
              <tbody>
                {sc.constituents.map((c) => (
                  <tr key={c.instrument.symbol}>
                    <td>
                      {c.instrument.symbol} <span className="muted small">{c.instrument.exchange}</span>
                    </td>
                    <td className="num">{formatPercent(Number(c.weight))}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {plan && (
            <>
              <h3>Planned orders</h3>
              <div className="table-wrap">
                <table aria-label="Planned orders">
                  <thead>
                    <tr>
                      <th>Order</th>
                      <th className="num">Est. price</th>
                      <th className="num">Value</th>
                      <th className="num">Target</th>
                      <th className="num">Result</th>
                    </tr>
                  </thead>
                  <tbody>
                    {plan.lines.map((l) => (
                      <tr key={l.instrument.symbol + l.side}>
                        <td>
                          <span className={l.side === 'BUY' ? 'buy-text' : 'sell-text'}>{l.side}</span> {formatNumber(l.quantity)} {l.instrument.symbol}
                        </td>
                        <td className="num">{formatMoney(l.estimatedPrice, sc.currency)}</td>
                        <td className="num">{formatMoney(l.estimatedValue, sc.currency)}</td>
                        <td className="num">{l.targetWeight ? formatPercent(Number(l.targetWeight)) : '—'}</td>
                        <td className="num">{l.resultingWeight ? formatPercent(Number(l.resultingWeight)) : '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <p className="muted small">
                Invests {formatMoney(plan.investedAmount, sc.currency)}, fees up to {formatMoney(plan.estimatedFees, sc.currency)}, leaves {formatMoney(plan.leftoverCash, sc.currency)}; largest weight deviation{' '}
                {formatPercent(plan.maxWeightDeviation)}.
              </p>
              <button type="button" className="buy" onClick={invest}>
                Invest {formatMoney(amount, sc.currency)}
              </button>
            </>
          )}
          {done && (
            <p className="ok" role="status">
              {done}
            </p>
          )}
        </div>
        <form className="card" onSubmit={preview} aria-label="Invest">
          <h3>Invest</h3>
          <p className="small muted">Minimum {formatMoney(sc.minimumInvestment, sc.currency)} at live prices.</p>
          {pq.data && eligible.length === 0 && <Empty>No {sc.currency} portfolio to invest from. Open one on the Portfolios page.</Empty>}
          <label>
            Portfolio
            <select value={pid} onChange={(e) => setPortfolioId(e.target.value)}>
              {eligible.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name} ({formatMoney(p.availableCash, p.baseCurrency)} available)
                </option>
              ))}
            </select>
          </label>
          <label>
            Amount ({sc.currency})
            <input name="amount" inputMode="decimal" required value={amount} onChange={(e) => setAmount(e.target.value)} />
          </label>
          <button type="submit" disabled={!pid}>
            Preview orders
          </button>
          {error ? <ErrorNote error={error} /> : null}
        </form>
      </div>
    </section>
  );
}

interface Investment {
  id: string;
  status: string;
  investedAmount: string;
  currentValue: string;
  drift: number;
  rebalanceAvailable: boolean;
  smallcase: { name: string; currency: string };
  portfolio: { name: string };
  runs: { id: string; kind: string; status: string; createdAt: string; summary: { side: string; quantity: string; filledQuantity: string; averagePrice: string | null; status: string; reason: string | null; instrument: { symbol: string } }[] }[];
}

/** Investments with their drift against target and each run's execution summary. */
function Investments() {
  const q = useQuery<{ investments: Investment[] }>(
    `query Inv { investments { id status investedAmount currentValue drift rebalanceAvailable smallcase { name currency } portfolio { name }
      runs { id kind status createdAt summary { side quantity filledQuantity averagePrice status reason instrument { symbol } } } } }`,
    {},
  );
  if (q.loading && !q.data) return <Loading what="investments" />;
  if (q.error) return <ErrorNote error={q.error} retry={q.reload} />;
  const list = q.data?.investments ?? [];
  return (
    <section>
      <div className="page-head">
        <h3>Investments</h3>
        <button type="button" className="link" onClick={q.reload}>
          Refresh
        </button>
      </div>
      {list.length === 0 && <Empty>No investments yet: open a smallcase and invest an amount.</Empty>}
      {list.map((inv) => (
        <details key={inv.id} className="card investment" data-status={inv.status}>
          <summary>
            <strong>{inv.smallcase.name}</strong> in {inv.portfolio.name} · <span className={`status s-${inv.status.toLowerCase()}`}>{inv.status.replace('_', ' ')}</span> · invested{' '}
            {formatMoney(inv.investedAmount, inv.smallcase.currency)} · now {formatMoney(inv.currentValue, inv.smallcase.currency)} · drift {formatPercent(inv.drift)}
            {inv.rebalanceAvailable && <span className="badge">rebalance available</span>}
          </summary>
          {inv.runs.map((r) => (
            <div key={r.id} className="run">
              <p className="small">
                {r.kind} run · <span className={`status s-${r.status.toLowerCase()}`}>{r.status}</span> · {new Date(r.createdAt).toLocaleString()}
              </p>
              <div className="table-wrap">
                <table aria-label={`${r.kind} run summary`}>
                  <tbody>
                    {r.summary.map((l, i) => (
                      <tr key={i}>
                        <td>
                          <span className={l.side === 'BUY' ? 'buy-text' : 'sell-text'}>{l.side}</span> {l.instrument.symbol}
                        </td>
                        <td className="num">
                          {formatNumber(l.filledQuantity)} / {formatNumber(l.quantity)}
                        </td>
                        <td className="num">{formatMoney(l.averagePrice, inv.smallcase.currency)}</td>
                        <td>
                          <span className={`status s-${l.status.toLowerCase()}`}>{l.status}</span> {l.reason && <span className="small loss">{l.reason}</span>}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </div>
          ))}
        </details>
      ))}
    </section>
  );
}

/** A random idempotency key (crypto.getRandomValues works outside secure contexts too, unlike randomUUID). */
function newKey(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return `web-${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}`;
}
