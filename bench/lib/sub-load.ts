/**
 * One load-generator process of bench:subscribers (started with child_process.fork): opens its share of
 * the sockets as raw `ws` clients speaking graphql-transport-ws (connection_init → connection_ack →
 * subscribe), one subscription per socket, and records what arrives. No graphql-ws Client objects: a
 * socket here costs one `ws` and a few numbers, so 11,000 of them fit in a handful of processes.
 *
 * Messages from the parent: `{ kind: 'open', ... }`, `{ kind: 'window', from, to }` (quotes whose
 * timestamp is in [from, to) are counted), `{ kind: 'report' }`, `{ kind: 'close' }`.
 */
import WebSocket from 'ws';

export interface SubSpec {
  token: string;
  /** 'quote': `quotes(symbols: [symbol])`; 'fill': `fillReceived(portfolioId)`. */
  kind: 'quote' | 'fill';
  symbol?: string;
  portfolioId?: string;
}

export type ParentMessage =
  | { kind: 'open'; wsUrl: string; subs: SubSpec[]; parallel: number }
  | { kind: 'window'; from: number; to: number }
  | { kind: 'report' }
  | { kind: 'close' };

export interface ChildReport {
  /** Per quote socket: its symbol and the distinct in-window ticks it received. */
  quoteCounts: { symbol: string; n: number }[];
  /** Every in-window tick seen by any socket of this process, per symbol (the union is what was sent). */
  ticksBySymbol: Record<string, number[]>;
  /** Receive time minus the quote's own timestamp, ms, per in-window message. */
  quoteLatencies: number[];
  /** Duplicate in-window quotes (same socket, same timestamp). */
  duplicates: number;
  /** Receive wall-clock time per fill, by clientOrderId; one entry per (socket, fill). */
  fills: [string, number][];
  errors: string[];
  closed: number;
}

const QUOTES = 'subscription($s: [String!]!) { quotes(symbols: $s) { symbol exchange last bid ask timestamp } }';
const FILLS = 'subscription($p: ID) { fillReceived(portfolioId: $p) { sequence fill { id quantity price } order { clientOrderId status } } }';

const sockets: WebSocket[] = [];
const quoteConns: { symbol: string; seen: Set<number> }[] = [];
const ticksBySymbol = new Map<string, Set<number>>();
const quoteLatencies: number[] = [];
const fills: [string, number][] = [];
const errors: string[] = [];
let duplicates = 0;
let closed = 0;
let window = { from: Number.POSITIVE_INFINITY, to: Number.POSITIVE_INFINITY };

function send(m: ChildReport | { kind: string; [k: string]: unknown }): void {
  process.send?.(m);
}

function open(wsUrl: string, spec: SubSpec): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(wsUrl, 'graphql-transport-ws', { perMessageDeflate: false });
    sockets.push(ws);
    const conn = spec.kind === 'quote' ? { symbol: spec.symbol!, seen: new Set<number>() } : null;
    if (conn) quoteConns.push(conn);
    let settled = false;
    const done = () => {
      if (!settled) {
        settled = true;
        resolve();
      }
    };
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${spec.token}` } })));
    ws.on('message', (raw: Buffer) => {
      const at = Date.now();
      const m = JSON.parse(raw.toString('utf8')) as { type: string; payload?: { data?: Record<string, unknown>; errors?: unknown } | unknown[] };
      if (m.type === 'connection_ack') {
        const payload =
          spec.kind === 'quote' ? { query: QUOTES, variables: { s: [spec.symbol] } } : { query: FILLS, variables: { p: spec.portfolioId } };
        ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload }));
        done(); // subscribed (the server admits it before the first quote: the current one arrives at once)
      } else if (m.type === 'next') {
        const p = m.payload as { data?: Record<string, unknown>; errors?: unknown };
        if (p.errors) errors.push(JSON.stringify(p.errors).slice(0, 300));
        if (conn) {
          const q = p.data?.quotes as { timestamp: string } | undefined;
          if (!q) return;
          const ts = Date.parse(q.timestamp);
          if (ts < window.from || ts >= window.to) return;
          if (conn.seen.has(ts)) {
            duplicates++;
            return;
          }
          conn.seen.add(ts);
          let u = ticksBySymbol.get(conn.symbol);
          if (!u) ticksBySymbol.set(conn.symbol, (u = new Set()));
          u.add(ts);
          quoteLatencies.push(at - ts);
        } else {
          const f = p.data?.fillReceived as { order: { clientOrderId: string } } | undefined;
          if (f) fills.push([f.order.clientOrderId, at]);
        }
      } else if (m.type === 'error') {
        errors.push(JSON.stringify(m.payload).slice(0, 300));
      }
    });
    ws.on('error', (err) => {
      errors.push(`socket: ${err.message}`);
      done();
    });
    ws.on('close', (code, reason) => {
      closed++;
      if (code !== 1000) errors.push(`closed ${code} ${reason.toString()}`);
      done();
    });
  });
}

process.on('message', (m: ParentMessage) => {
  void (async () => {
    if (m.kind === 'open') {
      let next = 0;
      await Promise.all(
        Array.from({ length: m.parallel }, async () => {
          while (next < m.subs.length) await open(m.wsUrl, m.subs[next++]);
        }),
      );
      send({ kind: 'opened', n: m.subs.length, errors: errors.length });
    } else if (m.kind === 'window') {
      window = { from: m.from, to: m.to };
      send({ kind: 'windowed' });
    } else if (m.kind === 'report') {
      const report: ChildReport = {
        quoteCounts: quoteConns.map((c) => ({ symbol: c.symbol, n: c.seen.size })),
        ticksBySymbol: Object.fromEntries([...ticksBySymbol].map(([s, set]) => [s, [...set]])),
        quoteLatencies,
        duplicates,
        fills,
        errors: errors.slice(0, 20),
        closed,
      };
      send({ kind: 'report', report });
    } else if (m.kind === 'close') {
      for (const ws of sockets) ws.close(1000);
      setTimeout(() => process.exit(0), 500);
    }
  })().catch((err: unknown) => send({ kind: 'failed', message: String((err as Error)?.stack ?? err) }));
});
