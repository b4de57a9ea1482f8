import { dec } from '../../lib/decimal.js';
import type { BrokerOrderStatus } from '../broker.js';

/**
 * IBKR order statuses → ours, one table (BROKERS.md §8 and "Status mapping"; IB's `orderStatus`
 * vocabulary, which the Client Portal's `status` / `order_status` fields carry). Every live status is
 * OPEN (PARTIALLY_FILLED / FILLED are derived from the filled quantity); `Inactive` is IB's refusal
 * (rejected by the system or the exchange); `Cancelled` and `ApiCancelled` are ends. The Client Portal
 * also reports `PendingNew`-style words in some builds and `Expired` for good-till-date: both mapped.
 */
export const IBKR_STATUS: Readonly<Record<string, BrokerOrderStatus>> = {
  ApiPending: 'OPEN',
  PendingSubmit: 'OPEN',
  PreSubmitted: 'OPEN',
  Submitted: 'OPEN',
  PendingCancel: 'OPEN',
  ApiCancelled: 'CANCELED',
  Cancelled: 'CANCELED',
  Filled: 'FILLED',
  Inactive: 'REJECTED',
  Rejected: 'REJECTED',
  Expired: 'EXPIRED',
  WarnState: 'OPEN',
  SortByTime: 'OPEN',
};

/** Our status for an IBKR order. Unknown words count as live (never as an end we cannot undo). */
export function ibkrStatus(status: string, filledQty: string, qty: string): BrokerOrderStatus {
  const key = Object.keys(IBKR_STATUS).find((k) => k.toLowerCase() === (status ?? '').trim().toLowerCase());
  const s = key ? IBKR_STATUS[key] : 'OPEN';
  const filled = dec(filledQty || '0');
  if (s === 'OPEN' || s === 'FILLED') {
    if (filled.gt(0) && qty && filled.gte(qty)) return 'FILLED';
    if (filled.gt(0)) return 'PARTIALLY_FILLED';
    return s === 'FILLED' ? 'FILLED' : 'OPEN';
  }
  return s;
}
