import { createHash } from 'node:crypto';

/**
 * Our client order id in a broker's tag rules: lowercase hex of its SHA-256, cut to `length` (alphanumeric,
 * so it fits Kite's 20-character `tag`, Fyers' `orderTag`, Groww's 8–20 `order_reference_id`...). 80 bits at
 * 20 characters: two orders of one account never collide in practice. Deterministic, so a retry after a
 * lost acknowledgement looks for the same ref.
 */
export function brokerRef(clientOrderId: string, length = 20): string {
  return createHash('sha256').update(clientOrderId).digest('hex').slice(0, length);
}
