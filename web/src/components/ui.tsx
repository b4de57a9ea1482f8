import { useEffect, useState, type ReactNode } from 'react';
import { ApiError, gql } from '../api';

/** Loading, error and empty states, said the same way everywhere. */
export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

export function ErrorNote({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <div className="error" role="alert">
      <p>{explain(error)}</p>
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** What an error means for the person, and what to do about it. */
export function explain(error: unknown): string {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : String(error);
  const { code, details } = error;
  const field = typeof details?.field === 'string' ? ` (${details.field})` : '';
  switch (code) {
    case 'INSUFFICIENT_FUNDS':
      return `${error.message} Deposit cash or lower the quantity.`;
    case 'INSUFFICIENT_QUANTITY':
      return `${error.message} You can only sell what you hold and have not already offered.`;
    case 'BAD_USER_INPUT':
      if (details?.reason === 'BELOW_MINIMUM_INVESTMENT' && typeof details.minimum === 'string') return `${error.message} Invest at least ${details.minimum} (it moves with prices).`;
      return `${error.message}${field}`;
    case 'RATE_LIMITED':
      return 'Too many requests just now. Wait a few seconds and try again.';
    case 'INVALID_CREDENTIALS':
      return 'Wrong email or password. Check them and try again.';
    case 'UNAUTHENTICATED':
    case 'INVALID_TOKEN':
      return 'Your session has ended. Sign in again.';
    case 'NETWORK_ERROR':
      return error.message;
    default:
      return error.message;
  }
}

/** Runs a query on mount (and when `deps` change); `reload` runs it again. */
export function useQuery<T>(query: string, variables: Record<string, unknown>, deps: unknown[] = []) {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    gql<T>(query, variables).then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [tick, ...deps]);
  return { ...state, reload: () => setTick((t) => t + 1), setData: (fn: (d: T) => T) => setState((s) => (s.data ? { ...s, data: fn(s.data) } : s)) };
}
