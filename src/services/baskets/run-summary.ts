import { dec, fmt } from '../../lib/decimal.js';
import type { OrderStatus } from '../orders/order.state.js';
import type { RefusedLine } from './run-placer.js';

/** One line of a run's execution summary: per order (or per line refused before it became one). */
export interface ExecutionLineJson {
  instrumentId: string;
  side: 'BUY' | 'SELL';
  quantity: string;
  filledQuantity: string;
  averagePrice: string | null;
  status: OrderStatus;
  reason: string | null;
  orderId: string | null;
}

export interface RunOrderView {
  id: string;
  instrumentId: string;
  side: 'BUY' | 'SELL';
  quantity: string;
  filledQuantity: string;
  averageFillPrice: string | null;
  /** Σ quantity × price over the order's fills, exact (averageFillPrice is rounded to 8 places). */
  filledValue: string;
  feesPaid: string;
  status: string;
  rejectReason: string | null;
}

export const TERMINAL: readonly string[] = ['FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'FAILED'];

export function isTerminal(status: string): boolean {
  return TERMINAL.includes(status);
}

/** The execution summary: every order as it stands, then the refused lines (REJECTED, with their reason). */
export function summarize(orders: RunOrderView[], refused: RefusedLine[]): ExecutionLineJson[] {
  return [
    ...orders.map((o) => ({
      instrumentId: o.instrumentId,
      side: o.side,
      quantity: o.quantity,
      filledQuantity: o.filledQuantity,
      averagePrice: o.averageFillPrice,
      status: o.status as OrderStatus,
      reason: o.rejectReason ?? (o.status !== 'FILLED' && isTerminal(o.status) ? o.status : null),
      orderId: o.id,
    })),
    ...refused.map((r) => ({
      instrumentId: r.instrumentId,
      side: r.side,
      quantity: r.quantity,
      filledQuantity: '0',
      averagePrice: null,
      status: 'REJECTED' as OrderStatus,
      reason: r.reason,
      orderId: null,
    })),
  ];
}

/** How a run ended: COMPLETED when every line filled in full, FAILED when nothing filled at all, else PARTIAL. */
export function finalStatus(lines: ExecutionLineJson[]): 'COMPLETED' | 'PARTIAL' | 'FAILED' {
  if (lines.every((l) => l.status === 'FILLED')) return 'COMPLETED';
  if (lines.every((l) => dec(l.filledQuantity).isZero())) return 'FAILED';
  return 'PARTIAL';
}

/** Net cash the filled sells raised: Σ over their fills of quantity × price, less fees. */
export function sellProceeds(orders: RunOrderView[]): string {
  return fmt(
    orders
      .filter((o) => o.side === 'SELL')
      .reduce((a, o) => a.add(o.filledValue).sub(o.feesPaid), dec(0)),
    8,
  );
}
