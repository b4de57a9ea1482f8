/**
 * When a member's order may be canceled after its window closed (pure). The child is then part of a
 * parent order at the broker; canceling it takes its unfilled share out of the parent:
 *
 * - only a child on the parent's (net) side: a child on the crossed side is being filled internally
 *   against the other side, and taking it out would raise the net the broker must fill (refused,
 *   CROSSED_SIDE);
 * - only while the parent is open at the broker (OPEN or PARTIALLY_FILLED with a broker order id): a
 *   parent being placed, filled, ended, or a window that netted to zero has nothing to reduce
 *   (PARENT_NOT_OPEN);
 * - the child has something left to cancel (NOTHING_UNFILLED).
 *
 * Then, with `othersRemaining` the unfilled quantity of the other open children on the parent's side:
 *
 * - REDUCE while others remain and the parent keeps some quantity open after the reduce: its unfilled
 *   quantity exceeds the child's unfilled share. The new quantity is the parent's quantity minus the
 *   share (whole lots). The remaining children of that side then need exactly what the reduced parent
 *   and the crossed part still bring: Σ their remaining = (parent unfilled − share) + crossed, so later
 *   fills and the cross are allocated to them alone, as before.
 * - CANCEL the whole parent when the child is the last one on its side with anything unfilled (a member
 *   alone on the net side of its window, or the others filled): its share is then all the parent still
 *   has to fill plus the crossed part. The parent is canceled at the broker; what the broker filled
 *   before the cancel took effect, and the crossed part (the other side's fill, at the parent's average
 *   price), are its own. Refused (CROSS_NOT_PRICED) while a parent with a crossed part has filled
 *   nothing: the cross would have no price, and the other side's orders would end unfilled.
 * - otherwise PARENT_TOO_SMALL: the child's share reaches into the crossed part (more than the parent
 *   has left at the broker) while other children of its side still share that crossed part.
 */
import { dec, type Decimal, type DecimalLike } from '../../lib/decimal.js';

export type ChildCancelRefusal = 'CROSSED_SIDE' | 'PARENT_NOT_OPEN' | 'PARENT_TOO_SMALL' | 'NOTHING_UNFILLED' | 'CROSS_NOT_PRICED';

export interface ParentView {
  side: 'BUY' | 'SELL';
  status: string;
  quantity: DecimalLike;
  filledQuantity: DecimalLike;
  crossedQuantity: DecimalLike;
  brokerOrderId: string | null;
}

export interface ChildView {
  side: 'BUY' | 'SELL';
  quantity: DecimalLike;
  filledQuantity: DecimalLike;
}

export type ChildCancelPlan =
  | { ok: true; kind: 'REDUCE' | 'CANCEL'; share: Decimal; fromQuantity: Decimal; toQuantity: Decimal }
  | { ok: false; reason: ChildCancelRefusal; why: string };

/** `othersRemaining`: Σ (quantity − filled) of the parent's other open children on its side. */
export function planChildCancel(parent: ParentView, child: ChildView, othersRemaining: DecimalLike): ChildCancelPlan {
  if ((parent.status !== 'OPEN' && parent.status !== 'PARTIALLY_FILLED') || !parent.brokerOrderId) {
    return { ok: false, reason: 'PARENT_NOT_OPEN', why: `its pooled parent order is ${parent.status} and cannot be reduced at the broker` };
  }
  if (child.side !== parent.side) {
    return { ok: false, reason: 'CROSSED_SIDE', why: 'it is filled internally against the other side of its window; canceling it would increase the net sent to the broker' };
  }
  const share = dec(child.quantity).sub(child.filledQuantity);
  if (share.lte(0)) return { ok: false, reason: 'NOTHING_UNFILLED', why: 'nothing of it is left unfilled' };
  const unfilled = dec(parent.quantity).sub(parent.filledQuantity);
  if (dec(othersRemaining).lte(0)) {
    if (dec(parent.crossedQuantity).gt(0) && dec(parent.filledQuantity).lte(0)) {
      return { ok: false, reason: 'CROSS_NOT_PRICED', why: 'its window’s crossed part takes the price of its pooled parent’s fills, and the parent has filled nothing yet; try again once it has' };
    }
    return { ok: true, kind: 'CANCEL', share, fromQuantity: dec(parent.quantity), toQuantity: dec(parent.filledQuantity) };
  }
  if (unfilled.lte(share)) {
    return {
      ok: false,
      reason: 'PARENT_TOO_SMALL',
      why: `its unfilled ${share.toString()} is not less than the ${unfilled.toString()} its pooled parent has left at the broker (the rest is its part of the window’s crossed fill), which other orders on its side share`,
    };
  }
  return { ok: true, kind: 'REDUCE', share, fromQuantity: dec(parent.quantity), toQuantity: dec(parent.quantity).sub(share) };
}
