import { useMemo, useState, type FormEvent } from 'react';
import { Decimal } from 'decimal.js';
import { gql } from '../api';
import { formatNumber, formatPercent, pnlClass } from '../format';
import { useLiveEvents } from '../live';
import { Chart, type ChartLine } from '../components/Chart';
import { Empty, ErrorNote, Loading, useQuery } from '../components/ui';

interface Strategy {
  id: string;
  name: string;
  kind: string;
  mode: string;
  status: string;
  schedule: string | null;
  nextRunAt: string | null;
  runs: { edges: { node: { id: string; status: string; startedAt: string; evaluated: number; error: string | null; signals: { id: string; action: string; price: string | null; barTime: string; instrument: { symbol: string } }[] } }[] };
}
interface Backtest {
  id: string;
  status: string;
  progress: number;
  barsProcessed: number;
  signals: number;
  error: string | null;
  metrics: { totalReturn: number; twr: number | null; cagr: number | null; sharpe: number | null; maxDrawdown: number; winRate: number | null; trades: number | null } | null;
  equityCurve: { time: string; value: string; drawdown: number }[];
  trades: { edges: { node: { side: string; quantity: string; entryTime: string; entryPrice: string; exitTime: string | null; exitPrice: string | null; pnl: string | null; returnPct: number | null; instrument: { symbol: string } } }[] };
}
const BT_FIELDS = `id status progress barsProcessed signals error metrics { totalReturn twr cagr sharpe maxDrawdown winRate trades }
  equityCurve(points: 200) { time value drawdown }
  trades(first: 50) { edges { node { side quantity entryTime entryPrice exitTime exitPrice pnl returnPct instrument { symbol } } } }`;

const KINDS = ['SMA_CROSS', 'MACD_VWAP', 'RSI_REVERSION', 'STD_MOMENTUM'] as const;

/** Strategies with their recent runs and signals, and backtests with live progress and the equity curve. */
export function Strategies() {
  const q = useQuery<{ strategies: Strategy[] }>(
    `query S { strategies { id name kind mode status schedule nextRunAt runs(first: 5) { edges { node { id status startedAt evaluated error signals { id action price barTime instrument { symbol } } } } } } }`,
    {},
  );
  return (
    <section>
      <h2>Strategies</h2>
      {q.loading && !q.data && <Loading what="strategies" />}
      {q.error ? <ErrorNote error={q.error} retry={q.reload} /> : null}
      {q.data?.strategies.length === 0 && <Empty>No strategies yet. Create one through the API (createStrategy), or try a backtest below.</Empty>}
      {q.data?.strategies.map((s) => (
        <details key={s.id} className="card investment">
          <summary>
            <strong>{s.name}</strong> · {s.kind} · {s.mode} · <span className={`status s-${s.status.toLowerCase()}`}>{s.status}</span>
            {s.schedule && <span className="muted small"> · {s.schedule}</span>}
            {s.nextRunAt && <span className="muted small"> · next {new Date(s.nextRunAt).toLocaleString()}</span>}
          </summary>
          {s.runs.edges.length === 0 && <p className="muted small">No runs yet.</p>}
          {s.runs.edges.map(({ node: r }) => (
            <div key={r.id} className="run small">
              {new Date(r.startedAt).toLocaleString()} · {r.status} · {r.evaluated} evaluated
              {r.error && <span className="loss"> · {r.error}</span>}
              {r.signals.map((g) => (
                <div key={g.id}>
                  {g.action.replace('_', ' ')} {g.instrument.symbol} {g.price ? `@ ${g.price}` : ''} <span className="muted">bar {new Date(g.barTime).toLocaleString()}</span>
                </div>
              ))}
            </div>
          ))}
        </details>
      ))}
      <BacktestPanel />
    </section>
  );
}

function yearAgo(): string {
  const d = new Date();
  d.setUTCFullYear(d.getUTCFullYear() - 1);
  return d.toISOString().slice(0, 10);
}

function BacktestPanel() {
  const [kind, setKind] = useState<(typeof KINDS)[number]>('SMA_CROSS');
  const [symbols, setSymbols] = useState('RELIANCE, TCS, INFY');
  const [from, setFrom] = useState(yearAgo());
  const [to, setTo] = useState(new Date().toISOString().slice(0, 10));
  const [cash, setCash] = useState('1000000');
  const [bt, setBt] = useState<Backtest | null>(null);
  const [error, setError] = useState<unknown>(null);

  useLiveEvents<{ sequence: number; b: Backtest }>({
    key: bt?.id ?? 'none',
    enabled: Boolean(bt) && bt?.status !== 'COMPLETED' && bt?.status !== 'FAILED' && bt?.status !== 'CANCELED',
    query: `subscription P($id: ID!) { backtestProgress(backtestId: $id) { ${BT_FIELDS} } }`,
    variables: () => ({ id: bt?.id }),
    // Each push is the backtest's whole state; order them by bars processed (never backwards).
    pick: (d) => {
      const b = d.backtestProgress as Backtest;
      return { sequence: b.barsProcessed * 10 + (b.status === 'COMPLETED' || b.status === 'FAILED' || b.status === 'CANCELED' ? 5 : 0), b };
    },
    onEvent: (ev) => setBt(ev.b),
  });

  async function run(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setBt(null);
    const list = symbols.split(/[\s,]+/).filter(Boolean).map((s) => s.toUpperCase());
    try {
      const per = new Decimal(cash.trim()).div(Math.max(list.length, 1)).toDecimalPlaces(0, Decimal.ROUND_DOWN).toFixed(0);
      const r = await gql<{ runBacktest: Backtest }>(`mutation B($i: BacktestInput!) { runBacktest(input: $i) { ${BT_FIELDS} } }`, {
        i: {
          from: `${from}T00:00:00Z`,
          to: `${to}T00:00:00Z`,
          initialCash: cash.trim(),
          definition: { name: `Backtest ${kind}`, kind, mode: 'SIGNAL_ONLY', interval: 'D1', universe: { symbols: list }, sizing: { amount: per } },
        },
      });
      setBt(r.runBacktest);
    } catch (err) {
      setError(err);
    }
  }
  async function cancel() {
    if (!bt) return;
    try {
      const r = await gql<{ cancelBacktest: Backtest }>(`mutation C($id: ID!) { cancelBacktest(id: $id) { ${BT_FIELDS} } }`, { id: bt.id });
      setBt(r.cancelBacktest);
    } catch (err) {
      setError(err);
    }
  }

  const lines = useMemo<ChartLine[]>(
    () =>
      bt && bt.equityCurve.length > 1
        ? [
            { name: 'Equity', color: '#4aa3ff', area: true, points: bt.equityCurve.map((p) => ({ time: p.time, value: Number(p.value) })) },
            { name: 'Drawdown %', color: '#f0545c', scale: 'left', points: bt.equityCurve.map((p) => ({ time: p.time, value: p.drawdown * 100 })) },
          ]
        : [],
    [bt],
  );
  const running = bt && (bt.status === 'QUEUED' || bt.status === 'RUNNING');

  return (
    <div className="two-col backtest">
      <div>
        <h3>Backtest</h3>
        {!bt && <Empty>Run a built-in strategy over stored daily candles: the result appears here, with progress as it runs.</Empty>}
        {bt && (
          <div className="card" aria-label="Backtest result" data-status={bt.status}>
            <p>
              <span className={`status s-${bt.status.toLowerCase()}`}>{bt.status}</span> · {bt.barsProcessed} bars · {bt.signals} signals
            </p>
            <progress max={1} value={bt.progress} aria-label="Backtest progress" />
            {running && (
              <button type="button" className="link" onClick={cancel}>
                Cancel
              </button>
            )}
            {bt.error && <p className="loss">{bt.error}</p>}
            {bt.metrics && (
              <dl className="figures wide">
                <div>
                  <dt>Total return</dt>
                  <dd className={bt.metrics.totalReturn >= 0 ? 'gain' : 'loss'}>{formatPercent(bt.metrics.totalReturn)}</dd>
                </div>
                <div>
                  <dt>CAGR</dt>
                  <dd>{formatPercent(bt.metrics.cagr)}</dd>
                </div>
                <div>
                  <dt>Sharpe</dt>
                  <dd>{bt.metrics.sharpe === null ? '—' : bt.metrics.sharpe.toFixed(2)}</dd>
                </div>
                <div>
                  <dt>Max drawdown</dt>
                  <dd className="loss">{formatPercent(bt.metrics.maxDrawdown)}</dd>
                </div>
                <div>
                  <dt>Win rate</dt>
                  <dd>{formatPercent(bt.metrics.winRate)}</dd>
                </div>
                <div>
                  <dt>Trades</dt>
                  <dd>{bt.metrics.trades ?? '—'}</dd>
                </div>
              </dl>
            )}
            {lines.length > 0 && <Chart lines={lines} label="Backtest equity curve and drawdown" />}
            {bt.trades.edges.length > 0 && (
              <div className="table-wrap">
                <table aria-label="Backtest trades">
                  <thead>
                    <tr>
                      <th>Trade</th>
                      <th>Entry</th>
                      <th>Exit</th>
                      <th className="num">P&amp;L</th>
                    </tr>
                  </thead>
                  <tbody>
                    {bt.trades.edges.map(({ node: t }, i) => (
                      <tr key={i}>
                        <td>
                          {t.side} {formatNumber(t.quantity)} {t.instrument.symbol}
                        </td>
                        <td className="small">
                          {new Date(t.entryTime).toLocaleDateString()} @ {t.entryPrice}
                        </td>
                        <td className="small">{t.exitTime ? `${new Date(t.exitTime).toLocaleDateString()} @ ${t.exitPrice}` : 'open'}</td>
                        <td className={`num ${pnlClass(t.pnl)}`}>{t.pnl ?? '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </div>
        )}
      </div>
      <form className="card" onSubmit={run} aria-label="Run a backtest">
        <h3>Run a backtest</h3>
        <label>
          Strategy
          <select value={kind} onChange={(e) => setKind(e.target.value as (typeof KINDS)[number])}>
            {KINDS.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          Symbols
          <input required value={symbols} onChange={(e) => setSymbols(e.target.value)} />
        </label>
        <label>
          From
          <input type="date" required value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          To
          <input type="date" required value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        <label>
          Initial cash
          <input inputMode="decimal" required value={cash} onChange={(e) => setCash(e.target.value)} />
        </label>
        <button type="submit" disabled={Boolean(running)}>
          {running ? 'Running…' : 'Run backtest'}
        </button>
        {error ? <ErrorNote error={error} /> : null}
        <p className="small muted">Each symbol trades with an equal share of the initial cash (sizing by amount).</p>
      </form>
    </div>
  );
}
