/**
 * When a member's order may be canceled after its window closed (pure). The child is then part of a
 * parent order at the broker; canceling it means reducing the parent by the child's unfilled share:
 *
 * - only a child on the parent's (net) side: a child on the crossed side is being filled internally
 *   against the other side, and taking it out would raise the net the broker must fill (refused,
 *   CROSSED_SIDE);
 * - only while the parent is open at the broker (OPEN or PARTIALLY_FILLED with a broker order id): a
 *   parent being placed, filled, ended, or a window that netted to zero has nothing to reduce
 *   (PARENT_NOT_OPEN);
 * - only when the parent keeps some quantity open after the reduce: its unfilled quantity must exceed
 *   the child's unfilled share (else PARENT_TOO_SMALL; reducing to nothing would be a cancel of the
 *   whole parent, whose racing fills could not be split consistently);
 * - the child has something left to cancel (NOTHING_UNFILLED).
 *
 * The parent's new quantity is its quantity minus the child's unfilled share (quantities and shares are
 * whole lots, so the new quantity is too). The remaining children of that side then need exactly what
 * the reduced parent and the crossed part still bring: Σ their remaining = (parent unfilled − share) +
 * crossed, so later fills and the cross are allocated to them alone, as before.
 */
import { dec, type Decimal, type DecimalLike } from '../../lib/decimal.js';

export type ChildCancelRefusal = 'CROSSED_SIDE' | 'PARENT_NOT_OPEN' | 'PARENT_TOO_SMALL' | 'NOTHING_UNFILLED';

export interface ParentView {
  side: 'BUY' | 'SELL';
  status: string;
  quantity: DecimalLike;
  filledQuantity: DecimalLike;
  brokerOrderId: string | null;
}

export interface ChildView {
  side: 'BUY' | 'SELL';
  quantity: DecimalLike;
  filledQuantity: DecimalLike;
}

export type ChildCancelPlan = { ok: true; share: Decimal; fromQuantity: Decimal; toQuantity: Decimal } | { ok: false; reason: ChildCancelRefusal; why: string };

export function planChildCancel(parent: ParentView, child: ChildView): ChildCancelPlan {
  if ((parent.status !== 'OPEN' && parent.status !== 'PARTIALLY_FILLED') || !parent.brokerOrderId) {
    return { ok: false, reason: 'PARENT_NOT_OPEN', why: `its pooled parent order is ${parent.status} and cannot be reduced at the broker` };
  }
  if (child.side !== parent.side) {
    return { ok: false, reason: 'CROSSED_SIDE', why: 'it is filled internally against the other side of its window; canceling it would increase the net sent to the broker' };
  }
  const share = dec(child.quantity).sub(child.filledQuantity);
  if (share.lte(0)) return { ok: false, reason: 'NOTHING_UNFILLED', why: 'nothing of it is left unfilled' };
  const unfilled = dec(parent.quantity).sub(parent.filledQuantity);
  if (unfilled.lte(share)) {
    return { ok: false, reason: 'PARENT_TOO_SMALL', why: `its pooled parent has ${unfilled.toString()} left unfilled, not more than this order's ${share.toString()}` };
  }
  return { ok: true, share, fromQuantity: dec(parent.quantity), toQuantity: dec(parent.quantity).sub(share) };
}
