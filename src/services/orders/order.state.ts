/**
 * The order state machine: one table of legal moves and one function that applies it. Every status
 * update in SQL is also guarded by the status it expects (`UPDATE … WHERE status = $from`).
 */
import { orderStatusEnum } from '../../db/schema/index.js';

/** The statuses, in lifecycle order: the database enum is the one list. */
export const ORDER_STATUSES = orderStatusEnum.enumValues;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<OrderStatus> = new Set(['FILLED', 'CANCELED', 'REJECTED', 'EXPIRED', 'FAILED']);
/** Statuses in which an order may still receive fills or change at the broker. */
export const ACTIVE_STATUSES: readonly OrderStatus[] = ['PENDING', 'SUBMITTING', 'OPEN', 'PARTIALLY_FILLED', 'CANCEL_REQUESTED'];

const LEGAL: Record<OrderStatus, readonly OrderStatus[]> = {
  // Recorded and funds held; not yet sent. Can be canceled without asking the broker.
  PENDING: ['SUBMITTING', 'CANCELED', 'CANCEL_REQUESTED', 'REJECTED', 'FAILED', 'EXPIRED'],
  // (PENDING → EXPIRED: a DAY order that never reached its broker before its session closed.)
  // Being sent. A market order can fill inside the broker call, before we record OPEN.
  SUBMITTING: ['OPEN', 'PARTIALLY_FILLED', 'FILLED', 'REJECTED', 'FAILED', 'CANCEL_REQUESTED', 'CANCELED', 'EXPIRED'],
  OPEN: ['PARTIALLY_FILLED', 'FILLED', 'CANCEL_REQUESTED', 'CANCELED', 'EXPIRED', 'REJECTED'],
  PARTIALLY_FILLED: ['PARTIALLY_FILLED', 'FILLED', 'CANCEL_REQUESTED', 'CANCELED', 'EXPIRED'],
  // Fills can still arrive while the broker works on the cancel.
  CANCEL_REQUESTED: ['CANCEL_REQUESTED', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'EXPIRED', 'REJECTED', 'FAILED'],
  FILLED: [],
  CANCELED: [],
  REJECTED: [],
  EXPIRED: [],
  FAILED: [],
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return LEGAL[from].includes(to);
}

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: OrderStatus,
    readonly to: OrderStatus,
  ) {
    super(`illegal order transition ${from} → ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

/** Returns `to` when the move is legal, else throws. */
export function transition(from: OrderStatus, to: OrderStatus): OrderStatus {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
  return to;
}

export function isTerminal(s: OrderStatus): boolean {
  return TERMINAL_STATUSES.has(s);
}

/**
 * The status after a fill: FILLED when complete; otherwise PARTIALLY_FILLED, except that an order whose
 * cancel is in flight stays CANCEL_REQUESTED (the cancel still applies to the rest).
 */
export function statusAfterFill(current: OrderStatus, filled: { isComplete: boolean }): OrderStatus {
  if (filled.isComplete) return transition(current, 'FILLED');
  if (current === 'CANCEL_REQUESTED') return 'CANCEL_REQUESTED';
  return transition(current, 'PARTIALLY_FILLED');
}
