import type { Tx } from '../../db/client.js';
import { BrokerOrderNotFoundError, BrokerRejectedError } from '../broker.js';
import { closeOrder, isOpen, lockOrder } from './paper.book.js';
import type { PaperOrderRow } from './paper.schema.js';

/**
 * Cancel a resting paper order, in the caller's transaction, with the order locked (matching locks it
 * too, so a fill and a cancel never interleave). An order that is not open, or no longer open once
 * locked, is refused with ORDER_NOT_OPEN.
 */
export async function cancelInTx(tx: Tx, account: string, brokerOrderId: string, now: Date): Promise<PaperOrderRow> {
  const locked = await lockOrder(tx, brokerOrderId, account);
  if (!locked) throw new BrokerOrderNotFoundError(brokerOrderId);
  if (!isOpen(locked.status)) {
    throw new BrokerRejectedError(`order ${brokerOrderId} is ${locked.status} and cannot be canceled`, 'ORDER_NOT_OPEN');
  }
  const closed = await closeOrder(tx, locked, 'CANCELED', now);
  if (!closed) throw new BrokerRejectedError(`order ${brokerOrderId} is no longer open`, 'ORDER_NOT_OPEN');
  return closed;
}
