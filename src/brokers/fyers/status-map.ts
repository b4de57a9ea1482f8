import { dec } from '../../lib/decimal.js';
import type { BrokerOrderStatus } from '../broker.js';

/**
 * Fyers order statuses are integers (BROKERS.md §3, Fyers API v3 docs): 1 cancelled, 2 traded/filled,
 * 3 (unused), 4 transit, 5 rejected, 6 pending, 7 expired. A pending order with filledQty > 0 is partially
 * filled (Fyers has no such status).
 */
export const FYERS_STATUS: Readonly<Record<number, BrokerOrderStatus>> = {
  1: 'CANCELED',
  2: 'FILLED',
  3: 'OPEN',
  4: 'OPEN',
  5: 'REJECTED',
  6: 'OPEN',
  7: 'EXPIRED',
};

export function fyersStatus(status: number, filledQty: string): BrokerOrderStatus {
  const s = FYERS_STATUS[status] ?? 'OPEN';
  if (s === 'OPEN' && dec(filledQty).gt(0)) return 'PARTIALLY_FILLED';
  return s;
}
