import { dec } from '../../lib/decimal.js';
import type { BrokerOrderStatus } from '../broker.js';

/**
 * Upstox order statuses (lowercase; BROKERS.md §2) → ours. No partial-fill status: an open order with
 * filled_quantity > 0 is PARTIALLY_FILLED. Upstox has no expiry status either (lapsed orders end cancelled).
 */
export const UPSTOX_STATUS: Readonly<Record<string, BrokerOrderStatus>> = {
  'put order req received': 'OPEN',
  'validation pending': 'OPEN',
  'open pending': 'OPEN',
  open: 'OPEN',
  'trigger pending': 'OPEN',
  'modify pending': 'OPEN',
  'modify validation pending': 'OPEN',
  modified: 'OPEN',
  'not modified': 'OPEN',
  'cancel pending': 'OPEN',
  'not cancelled': 'OPEN',
  'after market order req received': 'OPEN',
  'modify after market order req received': 'OPEN',
  complete: 'FILLED',
  rejected: 'REJECTED',
  cancelled: 'CANCELED',
  'cancelled after market order': 'CANCELED',
};

export function upstoxStatus(status: string, filledQuantity: string): BrokerOrderStatus {
  const s = UPSTOX_STATUS[status.trim().toLowerCase()] ?? 'OPEN';
  if (s === 'OPEN' && dec(filledQuantity).gt(0)) return 'PARTIALLY_FILLED';
  return s;
}
