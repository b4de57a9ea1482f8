import { dec } from '../../lib/decimal.js';
import type { BrokerOrderStatus } from '../broker.js';

/**
 * SmartAPI order statuses (lowercase `status`/`orderstatus`, BROKERS.md §4; the full list is not
 * published: these are the values seen in Angel One's docs and forum). No partial-fill status: an open
 * order with filledshares > 0 is PARTIALLY_FILLED.
 */
export const ANGEL_STATUS: Readonly<Record<string, BrokerOrderStatus>> = {
  'put order req received': 'OPEN',
  'validation pending': 'OPEN',
  'open pending': 'OPEN',
  'after market order req received': 'OPEN',
  open: 'OPEN',
  'trigger pending': 'OPEN',
  'modify pending': 'OPEN',
  'modify validation pending': 'OPEN',
  modified: 'OPEN',
  'not modified': 'OPEN',
  'cancel pending': 'OPEN',
  complete: 'FILLED',
  rejected: 'REJECTED',
  cancelled: 'CANCELED',
};

export function angelStatus(status: string, filled: string): BrokerOrderStatus {
  const s = ANGEL_STATUS[status.trim().toLowerCase()] ?? 'OPEN';
  if (s === 'OPEN' && dec(filled).gt(0)) return 'PARTIALLY_FILLED';
  return s;
}
