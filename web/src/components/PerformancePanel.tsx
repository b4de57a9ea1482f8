import { useMemo, useState } from 'react';
import { formatMoney, formatPercent, formatSignedMoney, pnlClass } from '../format';
import { Chart, type ChartLine } from './Chart';
import { ErrorNote, Loading, useQuery } from './ui';

const RANGES = ['D1', 'W1', 'MTD', 'YTD', 'Y1', 'MAX'] as const;
type Range = (typeof RANGES)[number];

interface Perf {
  from: string;
  to: string;
  startValue: string;
  endValue: string;
  netFlows: string;
  profit: string;
  metrics: { totalReturn: number; twr: number | null; xirr: number | null; volatility: number | null; sharpe: number | null; maxDrawdown: number; maxDrawdownFrom: string | null; maxDrawdownTo: string | null };
  series: { time: string; value: string; twrIndex: number; drawdown: number }[];
}

const QUERY = `query Perf($p: ID!, $r: PerformanceRange) { performance(portfolioId: $p, range: $r) { from to startValue endValue netFlows profit
  metrics { totalReturn twr xirr volatility sharpe maxDrawdown maxDrawdownFrom maxDrawdownTo }
  series(points: 300) { time value twrIndex drawdown } } }`;

/** Value, time-weighted return and drawdown of a portfolio over a range, as the analytics API reports them. */
export function PerformancePanel({ portfolioId, currency }: { portfolioId: string; currency: string }) {
  const [range, setRange] = useState<Range>('MTD');
  const q = useQuery<{ performance: Perf }>(QUERY, { p: portfolioId, r: range }, [portfolioId, range]);
  const p = q.data?.performance;
  const lines = useMemo<ChartLine[]>(
    () =>
      p
        ? [
            { name: 'Value', color: '#4aa3ff', area: true, points: p.series.map((s) => ({ time: s.time, value: Number(s.value) })) },
            { name: 'TWR %', color: '#e3b341', scale: 'left', points: p.series.map((s) => ({ time: s.time, value: (s.twrIndex - 1) * 100 })) },
            { name: 'Drawdown %', color: '#f0545c', scale: 'left', points: p.series.map((s) => ({ time: s.time, value: s.drawdown * 100 })) },
          ]
        : [],
    [p],
  );
  return (
    <section className="card perf" aria-label="Performance">
      <div className="page-head">
        <h3>Performance</h3>
        <div className="segmented small-seg" role="radiogroup" aria-label="Range">
          {RANGES.map((r) => (
            <label key={r} className={r === range ? 'on' : ''}>
              <input type="radio" name="range" value={r} checked={r === range} onChange={() => setRange(r)} />
              {r}
            </label>
          ))}
        </div>
      </div>
      {q.loading && !p && <Loading what="performance" />}
      {q.error ? <ErrorNote error={q.error} retry={q.reload} /> : null}
      {p && (
        <>
          <dl className="figures wide">
            <div>
              <dt>Profit</dt>
              <dd className={pnlClass(p.profit)}>{formatSignedMoney(p.profit, currency)}</dd>
            </div>
            <div>
              <dt>TWR</dt>
              <dd>{formatPercent(p.metrics.twr)}</dd>
            </div>
            <div>
              <dt>XIRR</dt>
              <dd>{formatPercent(p.metrics.xirr)}</dd>
            </div>
            <div>
              <dt>Volatility</dt>
              <dd>{formatPercent(p.metrics.volatility)}</dd>
            </div>
            <div>
              <dt>Sharpe</dt>
              <dd>{p.metrics.sharpe === null ? '—' : p.metrics.sharpe.toFixed(2)}</dd>
            </div>
            <div>
              <dt>Max drawdown</dt>
              <dd className="loss">{formatPercent(p.metrics.maxDrawdown)}</dd>
            </div>
            <div>
              <dt>Net deposits</dt>
              <dd>{formatMoney(p.netFlows, currency)}</dd>
            </div>
          </dl>
          {p.series.length > 1 ? <Chart lines={lines} label={`Value, TWR and drawdown, ${range}`} /> : <p className="empty">Not enough history in this range for a chart yet.</p>}
        </>
      )}
    </section>
  );
}
