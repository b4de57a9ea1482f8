import { dec } from '../../lib/decimal.js';
import type { BrokerOrderStatus } from '../broker.js';

/**
 * Alpaca's 18 order statuses → ours (BROKERS.md §6 and "Status mapping"; alpaca-py `OrderStatus`).
 * Everything that is not an end is live (OPEN) for our state machine: pending_new, accepted,
 * pending_review, held, accepted_for_bidding, stopped, suspended, calculated, done_for_day and the
 * pending_cancel / pending_replace transitions. `replaced` ends the old order id (a new one carries on).
 */
export const ALPACA_STATUS: Readonly<Record<string, BrokerOrderStatus>> = {
  new: 'OPEN',
  partially_filled: 'PARTIALLY_FILLED',
  filled: 'FILLED',
  done_for_day: 'OPEN',
  canceled: 'CANCELED',
  expired: 'EXPIRED',
  replaced: 'CANCELED',
  pending_cancel: 'OPEN',
  pending_replace: 'OPEN',
  pending_review: 'OPEN',
  accepted: 'OPEN',
  pending_new: 'OPEN',
  accepted_for_bidding: 'OPEN',
  stopped: 'OPEN',
  rejected: 'REJECTED',
  suspended: 'OPEN',
  calculated: 'OPEN',
  held: 'OPEN',
};

/** Our status for an Alpaca order; unknown statuses count as live (never as an end we cannot undo). */
export function alpacaStatus(status: string, filledQty: string, qty: string): BrokerOrderStatus {
  const s = ALPACA_STATUS[status.trim().toLowerCase()] ?? 'OPEN';
  if (s === 'OPEN' || s === 'PARTIALLY_FILLED') {
    const filled = dec(filledQty || '0');
    if (filled.gt(0) && qty && filled.gte(qty)) return 'FILLED';
    if (filled.gt(0)) return 'PARTIALLY_FILLED';
  }
  return s;
}
