import { dec } from '../../lib/decimal.js';
import type { BrokerOrderStatus } from '../broker.js';

/**
 * TradeStation v3 order status codes → ours: the one table (BROKERS.md §7 and "Status mapping"; the v3
 * `Status` enum as grouped in TradeStation's order documentation: open, canceled, rejected, filled).
 *
 * - Live codes are OPEN for our state machine; their filled quantity then makes them PARTIALLY_FILLED or
 *   FILLED (TradeStation reports a partial fill of a live order as FPR, but a fill can precede the code).
 * - Replace flow (RPD, RSN, UCH, RJC, RJR) and cancel flow (UCN, LAT) keep the order live: a replace keeps
 *   the order working, a refused cancel or change leaves it as it was, "too late to cancel" will fill.
 * - OUT (UROut), CAN, SCN (recalled), BRC (bracket canceled) and FLP (partially filled, then out) end
 *   CANCELED, whatever filled before stays filled. EXP is EXPIRED.
 * - REJ and TSC (the trade server canceled it: never worked) are REJECTED, as is DOA (dead).
 */
export const TRADESTATION_STATUS: Readonly<Record<string, BrokerOrderStatus>> = {
  ACK: 'OPEN', // received
  PLA: 'OPEN', // sending
  DIS: 'OPEN', // dispatched
  DON: 'OPEN', // queued
  OPN: 'OPEN', // sent (working)
  OSO: 'OPEN', // order-sends-order, waiting
  CND: 'OPEN', // condition met
  STP: 'OPEN', // stop hit
  STT: 'OPEN', // status message
  SUS: 'OPEN', // suspended
  CHG: 'OPEN', // change
  COR: 'OPEN', // fill corrected
  BRO: 'OPEN', // broken (a busted execution): the filled quantity says what stands
  ASS: 'OPEN', // option assignment
  EXE: 'OPEN', // option exercise
  ECN: 'OPEN', // expiration cancel request
  REC: 'OPEN', // recall request
  OTHER: 'OPEN', // unmapped at TradeStation
  UCN: 'OPEN', // cancel sent
  LAT: 'OPEN', // too late to cancel
  RPD: 'OPEN', // replace pending
  RSN: 'OPEN', // replace sent
  UCH: 'OPEN', // replaced
  RJC: 'OPEN', // cancel request rejected
  RJR: 'OPEN', // change request rejected
  FPR: 'PARTIALLY_FILLED', // partial fill, alive
  FLL: 'FILLED',
  BRF: 'FILLED', // bracket filled
  FLP: 'CANCELED', // partial fill, then out
  OUT: 'CANCELED', // UROut
  CAN: 'CANCELED',
  SCN: 'CANCELED', // recalled
  BRC: 'CANCELED', // bracket canceled
  EXP: 'EXPIRED',
  REJ: 'REJECTED',
  TSC: 'REJECTED', // trade server canceled
  DOA: 'REJECTED', // dead
};

/** Our status for a TradeStation order; an unknown code counts as live (never as an end we cannot undo). */
export function tradeStationStatus(code: string, filledQty: string, qty: string): BrokerOrderStatus {
  const s = TRADESTATION_STATUS[code.trim().toUpperCase()] ?? 'OPEN';
  if (s === 'OPEN' || s === 'PARTIALLY_FILLED') {
    const filled = dec(filledQty || '0');
    if (filled.gt(0) && qty && filled.gte(qty)) return 'FILLED';
    if (filled.gt(0)) return 'PARTIALLY_FILLED';
    return 'OPEN';
  }
  return s;
}
