import { dec } from '../../lib/decimal.js';
import type { BrokerOrderStatus } from '../broker.js';

/**
 * Kite order statuses → ours (BROKERS.md §1, Kite docs "Order statuses"). Kite has no partial-fill or
 * expired status: a partial fill is an OPEN order with filled_quantity > 0, and an order the exchange
 * lets lapse (IOC, end of day) ends CANCELLED. Interim statuses mean the order is live at the OMS:
 * for our state machine they are OPEN once Kite has given an order id.
 */
export const KITE_STATUS: Readonly<Record<string, BrokerOrderStatus>> = {
  'PUT ORDER REQ RECEIVED': 'OPEN',
  'VALIDATION PENDING': 'OPEN',
  'OPEN PENDING': 'OPEN',
  'AMO REQ RECEIVED': 'OPEN',
  OPEN: 'OPEN',
  'TRIGGER PENDING': 'OPEN',
  'MODIFY VALIDATION PENDING': 'OPEN',
  'MODIFY PENDING': 'OPEN',
  'NOT MODIFIED': 'OPEN',
  MODIFIED: 'OPEN',
  'CANCEL PENDING': 'OPEN',
  COMPLETE: 'FILLED',
  CANCELLED: 'CANCELED',
  'CANCELLED AMO': 'CANCELED',
  REJECTED: 'REJECTED',
};

/** Our status for a Kite order row; unknown statuses count as live (never as an end we cannot undo). */
export function kiteStatus(status: string, filledQuantity: string): BrokerOrderStatus {
  const s = KITE_STATUS[status.trim().toUpperCase()] ?? 'OPEN';
  if (s === 'OPEN' && dec(filledQuantity).gt(0)) return 'PARTIALLY_FILLED';
  return s;
}
