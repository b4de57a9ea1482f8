import { useEffect, useState, type FormEvent } from 'react';
import { gql, refreshSession, subscribeOnce } from '../api';
import { formatMoney, formatPercent, pnlClass } from '../format';
import { Sparkline } from '../components/Chart';
import { Empty, ErrorNote, Loading, useQuery } from '../components/ui';

interface Item {
  note: string | null;
  dayChange: string | null;
  dayChangePercent: number | null;
  instrument: { symbol: string; exchange: string; currency: string };
  quote: { last: string; bid: string | null; ask: string | null } | null;
}
interface Watchlist {
  id: string;
  name: string;
  items: Item[];
}
const LIST = `query W { watchlists { id name items { note dayChange dayChangePercent instrument { symbol exchange currency } quote { last bid ask } } } }`;

/** Watchlists with live quotes (one watchlistQuotes subscription per list) and recent-price sparklines. */
export function Watchlists() {
  const q = useQuery<{ watchlists: Watchlist[] }>(LIST, {});
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>(null);
  async function create(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      await gql('mutation C($n: String!) { createWatchlist(name: $n) { id } }', { n: name.trim() });
      setName('');
      q.reload();
    } catch (err) {
      setError(err);
    }
  }
  return (
    <section>
      <h2>Watchlists</h2>
      {q.loading && !q.data && <Loading what="watchlists" />}
      {q.error ? <ErrorNote error={q.error} retry={q.reload} /> : null}
      {q.data?.watchlists.length === 0 && <Empty>No watchlists yet. Create one below, then add symbols.</Empty>}
      {q.data?.watchlists.map((w) => <WatchlistCard key={w.id} w={w} onChange={q.reload} />)}
      <form className="card inline-form" onSubmit={create} aria-label="New watchlist">
        <h3>New watchlist</h3>
        <label>
          Name
          <input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <button type="submit">Create</button>
        {error ? <ErrorNote error={error} /> : null}
      </form>
    </section>
  );
}

function WatchlistCard({ w, onChange }: { w: Watchlist; onChange: () => void }) {
  const [live, setLive] = useState<Record<string, string>>({});
  const [spark, setSpark] = useState<Record<string, number[]>>({});
  const [symbol, setSymbol] = useState('');
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    const abort = new AbortController();
    (async () => {
      while (!abort.signal.aborted) {
        const outcome = await subscribeOnce<{ watchlistQuotes: { symbol: string; last: string } }>(
          'subscription WQ($w: ID!) { watchlistQuotes(watchlistId: $w) { symbol last } }',
          { w: w.id },
          (d) => setLive((cur) => ({ ...cur, [d.watchlistQuotes.symbol]: d.watchlistQuotes.last })),
          abort.signal,
        );
        if (abort.signal.aborted || typeof outcome === 'object') return;
        if (outcome === 'auth' && !(await refreshSession())) return;
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    return () => abort.abort();
  }, [w.id, w.items.length]);

  useEffect(() => {
    for (const it of w.items) {
      gql<{ candles: { close: string }[] }>('query C($s: String!, $e: String) { candles(symbol: $s, exchange: $e, interval: M5, last: 48) { close } }', {
        s: it.instrument.symbol,
        e: it.instrument.exchange,
      }).then(
        (r) => setSpark((cur) => ({ ...cur, [it.instrument.symbol]: r.candles.map((c) => Number(c.close)) })),
        () => undefined,
      );
    }
  }, [w.items]);

  async function add(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      await gql('mutation A($w: ID!, $s: String!) { addToWatchlist(watchlistId: $w, symbol: $s) { id } }', { w: w.id, s: symbol.trim().toUpperCase() });
      setSymbol('');
      onChange();
    } catch (err) {
      setError(err);
    }
  }
  async function remove(s: string, x: string) {
    try {
      await gql('mutation R($w: ID!, $s: String!, $x: String) { removeFromWatchlist(watchlistId: $w, symbol: $s, exchange: $x) { id } }', { w: w.id, s, x });
      onChange();
    } catch (err) {
      setError(err);
    }
  }

  return (
    <div className="card watchlist" aria-label={`Watchlist ${w.name}`}>
      <h3>{w.name}</h3>
      {w.items.length === 0 ? (
        <Empty>Empty. Add a symbol below.</Empty>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Symbol</th>
                <th className="num">Last</th>
                <th className="num">Day</th>
                <th>Trend (4 h)</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {w.items.map((it) => {
                const last = live[it.instrument.symbol] ?? it.quote?.last ?? null;
                return (
                  <tr key={`${it.instrument.exchange}:${it.instrument.symbol}`} data-symbol={it.instrument.symbol}>
                    <td>
                      {it.instrument.symbol} <span className="muted small">{it.instrument.exchange}</span>
                      {it.note && <div className="small muted">{it.note}</div>}
                    </td>
                    <td className="num live-price">{formatMoney(last, it.instrument.currency)}</td>
                    <td className={`num ${pnlClass(it.dayChange)}`}>{formatPercent(it.dayChangePercent === null ? null : it.dayChangePercent / 100)}</td>
                    <td>
                      <Sparkline values={spark[it.instrument.symbol] ?? []} />
                    </td>
                    <td>
                      <button type="button" className="link" onClick={() => remove(it.instrument.symbol, it.instrument.exchange)} aria-label={`Remove ${it.instrument.symbol}`}>
                        Remove
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <form className="inline-form" onSubmit={add} aria-label={`Add to ${w.name}`}>
        <label>
          Symbol
          <input required value={symbol} onChange={(e) => setSymbol(e.target.value)} placeholder="TCS" />
        </label>
        <button type="submit">Add</button>
      </form>
      {error ? <ErrorNote error={error} /> : null}
    </div>
  );
}
