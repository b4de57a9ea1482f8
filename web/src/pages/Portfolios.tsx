import { useState, type FormEvent } from 'react';
import { gql } from '../api';
import { formatMoney } from '../format';
import { href } from '../router';
import { Empty, ErrorNote, Loading, useQuery } from '../components/ui';

interface PortfolioSummary {
  id: string;
  name: string;
  broker: string;
  baseCurrency: string;
  cash: string;
  availableCash: string;
  marketValue: string;
  totalValue: string;
  positions: { quantity: string }[];
}

const QUERY = `query Portfolios { portfolios { id name broker baseCurrency cash availableCash marketValue totalValue positions { quantity } } }`;

/** Every portfolio of the user, with its cash and value, and a form to open another. */
export function Portfolios() {
  const q = useQuery<{ portfolios: PortfolioSummary[] }>(QUERY, {});
  return (
    <section>
      <h2>Portfolios</h2>
      {q.loading && !q.data && <Loading what="portfolios" />}
      {q.error ? <ErrorNote error={q.error} retry={q.reload} /> : null}
      {q.data && q.data.portfolios.length === 0 && <Empty>No portfolios yet. Open one below, then deposit paper cash to start trading.</Empty>}
      <div className="grid">
        {q.data?.portfolios.map((p) => (
          <a key={p.id} className="card portfolio-card" href={href('portfolio', p.id)}>
            <h3>{p.name}</h3>
            <p className="muted">
              {p.broker} · {p.baseCurrency} · {p.positions.length} position{p.positions.length === 1 ? '' : 's'}
            </p>
            <dl className="figures">
              <dt>Total value</dt>
              <dd className="big">{formatMoney(p.totalValue, p.baseCurrency)}</dd>
              <dt>Cash</dt>
              <dd>{formatMoney(p.cash, p.baseCurrency)}</dd>
              <dt>Available</dt>
              <dd>{formatMoney(p.availableCash, p.baseCurrency)}</dd>
            </dl>
          </a>
        ))}
      </div>
      <NewPortfolio onCreated={q.reload} />
    </section>
  );
}

function NewPortfolio({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [currency, setCurrency] = useState('INR');
  const [error, setError] = useState<unknown>(null);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      await gql('mutation Create($n: String!, $c: String) { createPortfolio(name: $n, baseCurrency: $c) { id } }', { n: name, c: currency });
      setName('');
      onCreated();
    } catch (err) {
      setError(err);
    }
  }
  return (
    <form className="card inline-form" onSubmit={submit} aria-label="Open a portfolio">
      <h3>Open a paper portfolio</h3>
      <label>
        Name
        <input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Currency
        <select value={currency} onChange={(e) => setCurrency(e.target.value)}>
          <option>INR</option>
          <option>USD</option>
        </select>
      </label>
      <button type="submit">Open</button>
      {error ? <ErrorNote error={error} /> : null}
    </form>
  );
}
