import { memo, useCallback, useEffect, useRef, useState } from 'react';
import { gql } from '../api';
import { add, formatDateTime, formatMoney, formatNumber, formatSignedMoney, formatTime, pnl, pnlClass, times } from '../format';
import { useLiveEvents, useQuotes } from '../live';
import { OrderTicket } from '../components/OrderTicket';
import { PerformancePanel } from '../components/PerformancePanel';
import { Empty, ErrorNote, explain, Loading, useQuery } from '../components/ui';

interface Instrument {
  symbol: string;
  exchange: string;
}
interface Position {
  instrument: Instrument;
  quantity: string;
  averageCost: string;
  marketPrice: string | null;
  realizedPnl: string;
}
export interface OrderRow {
  id: string;
  side: 'BUY' | 'SELL';
  type: string;
  timeInForce: string;
  quantity: string;
  limitPrice: string | null;
  stopPrice: string | null;
  status: string;
  filledQuantity: string;
  averageFillPrice: string | null;
  rejectReason: string | null;
  createdAt: string;
  updatedAt: string;
  instrument: Instrument;
}
interface Portfolio {
  id: string;
  name: string;
  broker: string;
  baseCurrency: string;
  cash: string;
  availableCash: string;
  eventSequence: number;
  positions: Position[];
  orders: { edges: { node: OrderRow }[] };
}
interface FillRow {
  sequence: number;
  id: string;
  quantity: string;
  price: string;
  fee: string;
  executedAt: string;
  side: string;
  symbol: string;
}

const ORDER_FIELDS = 'id side type timeInForce quantity limitPrice stopPrice status filledQuantity averageFillPrice rejectReason createdAt updatedAt instrument { symbol exchange }';
const QUERY = `query Portfolio($id: ID!) { portfolio(id: $id) { id name broker baseCurrency cash availableCash eventSequence
  positions { instrument { symbol exchange } quantity averageCost marketPrice realizedPnl }
  orders(first: 25) { edges { node { ${ORDER_FIELDS} } } } } }`;
const OPEN = new Set(['PENDING', 'SUBMITTING', 'OPEN', 'PARTIALLY_FILLED', 'CANCEL_REQUESTED']);
const FEED_LIMIT = 200;

/**
 * One portfolio, live: cash and available cash from balance events, positions at live prices with exact
 * P&L, the order ticket, the orders table and the fill feed, all resumed after a dropped socket.
 */
export function PortfolioPage({ id }: { id: string }) {
  const q = useQuery<{ portfolio: Portfolio }>(QUERY, { id }, [id]);
  const [instruments, setInstruments] = useState<string[]>([]);
  useEffect(() => {
    gql<{ instruments: Instrument[] }>('query I { instruments(first: 200) { symbol exchange } }').then(
      (r) => setInstruments(r.instruments.map((i) => i.symbol)),
      () => undefined,
    );
  }, []);
  if (q.loading && !q.data) return <Loading what="the portfolio" />;
  if (q.error) return <ErrorNote error={q.error} retry={q.reload} />;
  if (!q.data) return null;
  return <LivePortfolio key={`${id}:${q.data.portfolio.eventSequence}`} initial={q.data.portfolio} instruments={instruments} reload={q.reload} />;
}

function LivePortfolio({ initial, instruments, reload }: { initial: Portfolio; instruments: string[]; reload: () => void }) {
  const ccy = initial.baseCurrency;
  const [balance, setBalance] = useState({ cash: initial.cash, availableCash: initial.availableCash });
  const [positions, setPositions] = useState<Position[]>(initial.positions);
  const [orders, setOrders] = useState<OrderRow[]>(initial.orders.edges.map((e) => e.node));
  const [fills, setFills] = useState<FillRow[]>([]);
  const quotes = useQuotes(positions.map((p) => p.instrument.symbol));

  // Many events a second: collect them and apply once per animation frame.
  const pendingOrders = useRef<OrderRow[]>([]);
  const pendingFills = useRef<FillRow[]>([]);
  const frame = useRef(0);
  const flush = useCallback(() => {
    frame.current = 0;
    const os = pendingOrders.current;
    const fs = pendingFills.current;
    pendingOrders.current = [];
    pendingFills.current = [];
    if (os.length) {
      setOrders((cur) => {
        const next = cur.slice();
        for (const o of os) {
          const i = next.findIndex((x) => x.id === o.id);
          if (i >= 0) next[i] = o;
          else next.unshift(o);
        }
        return next.slice(0, FEED_LIMIT);
      });
    }
    if (fs.length) setFills((cur) => [...fs.reverse(), ...cur].slice(0, FEED_LIMIT));
  }, []);
  const schedule = () => {
    frame.current ||= requestAnimationFrame(flush);
  };
  useEffect(() => () => cancelAnimationFrame(frame.current), []);

  const base = { key: initial.id, startAfter: initial.eventSequence };
  const vars = (after: number | undefined) => ({ p: initial.id, a: after ?? null });
  const ordersLive = useLiveEvents<{ sequence: number; order: OrderRow }>({
    ...base,
    query: `subscription O($p: ID, $a: Int) { orderUpdated(portfolioId: $p, afterSequence: $a) { sequence order { ${ORDER_FIELDS} } } }`,
    variables: vars,
    pick: (d) => d.orderUpdated as { sequence: number; order: OrderRow },
    onEvent: (ev) => {
      pendingOrders.current.push(ev.order);
      schedule();
    },
  });
  useLiveEvents<{ sequence: number; fill: Omit<FillRow, 'sequence' | 'side' | 'symbol'>; order: { side: string; instrument: Instrument } }>({
    ...base,
    query: `subscription F($p: ID, $a: Int) { fillReceived(portfolioId: $p, afterSequence: $a) { sequence fill { id quantity price fee executedAt } order { side instrument { symbol } } } }`,
    variables: vars,
    pick: (d) => d.fillReceived as never,
    onEvent: (ev) => {
      pendingFills.current.push({ ...ev.fill, sequence: ev.sequence, side: ev.order.side, symbol: ev.order.instrument.symbol });
      schedule();
    },
  });
  useLiveEvents<{ sequence: number; cash: string; availableCash: string }>({
    ...base,
    query: `subscription B($p: ID, $a: Int) { balanceChanged(portfolioId: $p, afterSequence: $a) { sequence cash availableCash } }`,
    variables: vars,
    pick: (d) => d.balanceChanged as never,
    onEvent: (ev) => setBalance({ cash: ev.cash, availableCash: ev.availableCash }),
  });
  useLiveEvents<{ sequence: number; position: Position }>({
    ...base,
    query: `subscription P($p: ID, $a: Int) { positionChanged(portfolioId: $p, afterSequence: $a) { sequence position { instrument { symbol exchange } quantity averageCost marketPrice realizedPnl } } }`,
    variables: vars,
    pick: (d) => d.positionChanged as never,
    onEvent: (ev) =>
      setPositions((cur) => {
        const rest = cur.filter((p) => p.instrument.symbol !== ev.position.instrument.symbol || p.instrument.exchange !== ev.position.instrument.exchange);
        return ev.position.quantity === '0' || /^0(\.0+)?$/.test(ev.position.quantity) ? rest : [...rest, ev.position].sort((a, b) => a.instrument.symbol.localeCompare(b.instrument.symbol));
      }),
  });

  const rows = positions.map((p) => {
    const price = quotes[p.instrument.symbol]?.last ?? p.marketPrice;
    const value = price ? times(p.quantity, price) : null;
    const unrealized = price ? pnl(price, p.averageCost, p.quantity) : null;
    return { p, price, value, unrealized };
  });
  const marketValue = add(...rows.map((r) => r.value));
  const totalValue = add(balance.cash, marketValue);
  const totalUnrealized = add(...rows.map((r) => r.unrealized));

  const cancel = useCallback(async (orderId: string) => {
    try {
      await gql('mutation C($id: ID!) { cancelOrder(id: $id) { id status } }', { id: orderId });
    } catch (err) {
      alert(explain(err));
    }
  }, []);

  return (
    <section>
      <header className="page-head">
        <h2>{initial.name}</h2>
        <span className="muted">
          {initial.broker} · {ccy}
        </span>
        <button type="button" className="link" onClick={reload}>
          Refresh
        </button>
      </header>
      <dl className="figures wide" aria-label="Balances">
        <div>
          <dt>Total value</dt>
          <dd className="big" data-testid="total-value">
            {formatMoney(totalValue, ccy)}
          </dd>
        </div>
        <div>
          <dt>Cash</dt>
          <dd data-testid="cash">{formatMoney(balance.cash, ccy)}</dd>
        </div>
        <div>
          <dt>Available cash</dt>
          <dd data-testid="available-cash">{formatMoney(balance.availableCash, ccy)}</dd>
        </div>
        <div>
          <dt>Market value</dt>
          <dd>{formatMoney(marketValue, ccy)}</dd>
        </div>
        <div>
          <dt>Unrealised P&amp;L</dt>
          <dd className={pnlClass(totalUnrealized)}>{formatSignedMoney(totalUnrealized, ccy)}</dd>
        </div>
      </dl>
      <PerformancePanel portfolioId={initial.id} currency={ccy} />
      {ordersLive.error && <ErrorNote error={new Error(`Live updates stopped: ${ordersLive.error}`)} />}
      <div className="two-col">
        <div>
          <h3>Positions</h3>
          {rows.length === 0 ? (
            <Empty>No positions yet. Place a buy order with the ticket.</Empty>
          ) : (
            <div className="table-wrap">
              <table aria-label="Positions">
                <thead>
                  <tr>
                    <th>Symbol</th>
                    <th className="num">Qty</th>
                    <th className="num">Avg cost</th>
                    <th className="num">Price</th>
                    <th className="num">Value</th>
                    <th className="num">Unrealised</th>
                    <th className="num">Realised</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map(({ p, price, value, unrealized }) => (
                    <tr key={`${p.instrument.exchange}:${p.instrument.symbol}`}>
                      <td>
                        {p.instrument.symbol} <span className="muted small">{p.instrument.exchange}</span>
                      </td>
                      <td className="num">{formatNumber(p.quantity)}</td>
                      <td className="num">{formatMoney(p.averageCost, ccy)}</td>
                      <td className="num">{formatMoney(price, ccy)}</td>
                      <td className="num">{formatMoney(value, ccy)}</td>
                      <td className={`num ${pnlClass(unrealized)}`}>{formatSignedMoney(unrealized, ccy)}</td>
                      <td className={`num ${pnlClass(p.realizedPnl)}`}>{formatSignedMoney(p.realizedPnl, ccy)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <h3>Orders</h3>
          {orders.length === 0 ? (
            <Empty>No orders yet.</Empty>
          ) : (
            <div className="table-wrap">
              <table aria-label="Orders">
                <thead>
                  <tr>
                    <th>Time</th>
                    <th>Order</th>
                    <th className="num">Filled</th>
                    <th className="num">Avg price</th>
                    <th>Status</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {orders.map((o) => (
                    <OrderLine key={o.id} o={o} ccy={ccy} onCancel={cancel} />
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
        <aside>
          <OrderTicket portfolioId={initial.id} symbols={instruments} />
          <h3>Fills, live</h3>
          {fills.length === 0 ? (
            <Empty>Fills appear here the moment they happen.</Empty>
          ) : (
            <ul className="feed" aria-label="Fills">
              {fills.map((f) => (
                <FillLine key={f.id} f={f} ccy={ccy} />
              ))}
            </ul>
          )}
          <p className="small muted">Loaded {formatDateTime(new Date().toISOString())}; updates arrive over graphql-ws and resume after a dropped connection.</p>
        </aside>
      </div>
    </section>
  );
}

/** One order row; re-rendered only when its order changes (many events a second touch a few rows). */
const OrderLine = memo(function OrderLine({ o, ccy, onCancel }: { o: OrderRow; ccy: string; onCancel: (id: string) => void }) {
  return (
    <tr data-order-id={o.id} data-status={o.status}>
      <td className="small">{formatTime(o.createdAt)}</td>
      <td>
        <span className={o.side === 'BUY' ? 'buy-text' : 'sell-text'}>{o.side}</span> {formatNumber(o.quantity)} {o.instrument.symbol}{' '}
        <span className="muted small">
          {o.type.replace('_', ' ')}
          {o.limitPrice ? ` @ ${o.limitPrice}` : ''}
          {o.stopPrice ? ` stop ${o.stopPrice}` : ''} · {o.timeInForce}
        </span>
      </td>
      <td className="num">{formatNumber(o.filledQuantity)}</td>
      <td className="num">{formatMoney(o.averageFillPrice, ccy)}</td>
      <td>
        <span className={`status s-${o.status.toLowerCase()}`} title={o.rejectReason ?? undefined}>
          {o.status.replace('_', ' ')}
        </span>
        {o.rejectReason && <div className="small loss">{o.rejectReason}</div>}
      </td>
      <td>
        {OPEN.has(o.status) && o.status !== 'CANCEL_REQUESTED' && (
          <button type="button" className="link" onClick={() => onCancel(o.id)} aria-label={`Cancel order ${o.id}`}>
            Cancel
          </button>
        )}
      </td>
    </tr>
  );
});

const FillLine = memo(function FillLine({ f, ccy }: { f: FillRow; ccy: string }) {
  return (
    <li data-fill-id={f.id}>
      <span className="small muted">{formatTime(f.executedAt)}</span> <span className={f.side === 'BUY' ? 'buy-text' : 'sell-text'}>{f.side}</span> {formatNumber(f.quantity)} {f.symbol} @{' '}
      {formatMoney(f.price, ccy)}
      <span className="small muted"> fee {formatMoney(f.fee, ccy)}</span>
    </li>
  );
});
