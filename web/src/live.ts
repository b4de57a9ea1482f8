import { useEffect, useRef, useState } from 'react';
import { refreshSession, subscribeOnce, type GqlErrorShape } from './api';

/**
 * A subscription that survives dropped sockets: after a drop it subscribes again, passing the last event
 * sequence it saw (per portfolio) as `afterSequence`, so the server first replays what was missed. Events
 * at or below the last sequence are dropped, so a replay never shows an event twice.
 */
export function useLiveEvents<T extends { sequence: number }>(opts: {
  query: string;
  /** Variables for an attempt, given the last sequence seen (undefined before the first event). */
  variables: (afterSequence: number | undefined) => Record<string, unknown>;
  /** The event out of the subscription's data. */
  pick: (data: Record<string, unknown>) => T;
  onEvent: (event: T) => void;
  /** Resubscribe when this changes (e.g. the portfolio id). */
  key: string;
  /** Start after this sequence (the portfolio's eventSequence when the page loaded). */
  startAfter?: number;
  enabled?: boolean;
}): { error: string | null } {
  const [error, setError] = useState<string | null>(null);
  const latest = useRef(opts);
  latest.current = opts;

  useEffect(() => {
    if (opts.enabled === false) return;
    const abort = new AbortController();
    let last = opts.startAfter;
    let delay = 250;
    (async () => {
      while (!abort.signal.aborted) {
        const outcome = await subscribeOnce<Record<string, unknown>>(
          latest.current.query,
          latest.current.variables(last),
          (data) => {
            const ev = latest.current.pick(data);
            if (last !== undefined && ev.sequence <= last) return;
            last = ev.sequence;
            delay = 250;
            latest.current.onEvent(ev);
          },
          abort.signal,
        );
        if (abort.signal.aborted) return;
        if (typeof outcome === 'object') {
          setError(describe(outcome.errors));
          return;
        }
        if (outcome === 'auth' && !(await refreshSession())) return;
        setError(null);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5000);
      }
    })();
    return () => abort.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [opts.key, opts.enabled]);

  return { error };
}

function describe(errors: GqlErrorShape[]): string {
  return errors.map((e) => e.message).join('; ');
}

/** Quotes for a set of symbols, live; the map is replaced on each update (for React). */
export function useQuotes(symbols: string[]): Record<string, LiveQuote> {
  const [quotes, setQuotes] = useState<Record<string, LiveQuote>>({});
  const key = [...symbols].sort().join(',');
  useEffect(() => {
    if (symbols.length === 0) return;
    const abort = new AbortController();
    let pending: Record<string, LiveQuote> = {};
    let scheduled = 0;
    // Many quotes a second: apply them once per animation frame, not once per message.
    const flush = () => {
      scheduled = 0;
      const batch = pending;
      pending = {};
      setQuotes((q) => ({ ...q, ...batch }));
    };
    (async () => {
      let delay = 250;
      while (!abort.signal.aborted) {
        const outcome = await subscribeOnce<{ quotes: LiveQuote }>(
          'subscription Quotes($s: [String!]!) { quotes(symbols: $s) { symbol exchange bid ask last timestamp } }',
          { s: symbols },
          (data) => {
            pending[data.quotes.symbol] = data.quotes;
            scheduled ||= requestAnimationFrame(flush);
          },
          abort.signal,
        );
        if (abort.signal.aborted || typeof outcome === 'object') return;
        if (outcome === 'auth' && !(await refreshSession())) return;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5000);
      }
    })();
    return () => {
      abort.abort();
      if (scheduled) cancelAnimationFrame(scheduled);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return quotes;
}

export interface LiveQuote {
  symbol: string;
  exchange: string;
  bid: string | null;
  ask: string | null;
  last: string;
  timestamp: string;
}
