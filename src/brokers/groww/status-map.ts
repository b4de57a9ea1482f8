import { dec } from '../../lib/decimal.js';
import type { BrokerOrderStatus } from '../broker.js';

/** Groww order statuses (BROKERS.md §5, Groww annexures) → ours; partial fills from filled_quantity. */
export const GROWW_STATUS: Readonly<Record<string, BrokerOrderStatus>> = {
  NEW: 'OPEN',
  ACKED: 'OPEN',
  APPROVED: 'OPEN',
  TRIGGER_PENDING: 'OPEN',
  MODIFICATION_REQUESTED: 'OPEN',
  CANCELLATION_REQUESTED: 'OPEN',
  EXECUTED: 'FILLED',
  DELIVERY_AWAITED: 'FILLED',
  COMPLETED: 'FILLED',
  CANCELLED: 'CANCELED',
  REJECTED: 'REJECTED',
  FAILED: 'REJECTED',
};

/**
 * EXECUTED means the order traded; with a partial quantity Groww still reports it working, so a
 * "filled" status below the order quantity is read as PARTIALLY_FILLED (never as FILLED).
 */
export function growwStatus(status: string, filled: string, quantity: string): BrokerOrderStatus {
  const s = GROWW_STATUS[status.trim().toUpperCase()] ?? 'OPEN';
  if ((s === 'OPEN' || s === 'FILLED') && dec(filled).gt(0) && dec(filled).lt(quantity)) return 'PARTIALLY_FILLED';
  return s;
}
