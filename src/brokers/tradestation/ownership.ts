import type { OrderRefs } from '../connections/sessions.js';
import type { TsOrder } from './wire.js';

/**
 * Which TradeStation orders are ours, and as which of our orders. v3 orders carry no client order id, so
 * the order-ref table holds the mapping: `sent:<our id>` is claimed before an order is sent,
 * `order:<OrderID>` → our id and `ack:<our id>` → OrderID once TradeStation acknowledged it. Lookups are
 * cached (negatives for 30 s only: an order can become ours later, when a lost acknowledgement is
 * adopted or another process records it). States of orders not yet known as ours (executions streamed
 * before the acknowledgement was recorded) are held until the order is claimed or looked up as ours.
 */
export class OrderOwnership {
  private readonly ours = new Map<string, string>();
  private readonly acks = new Map<string, string>();
  private readonly notOurs = new Map<string, number>();
  private readonly pending = new Map<string, { at: number; states: TsOrder[] }>();

  constructor(
    private readonly refs: OrderRefs,
    private readonly broker: string,
  ) {}

  /** Claim our id before sending; false if it was sent before (a retry). */
  markSent(account: string, clientOrderId: string): Promise<boolean> {
    return this.refs.remember(this.broker, account, `sent:${clientOrderId}`, clientOrderId);
  }

  /** Our client order id for a TradeStation order, or null when it was not placed through us. */
  async oursOf(account: string, orderId: string): Promise<string | null> {
    const key = `${account}|${orderId}`;
    const known = this.ours.get(key);
    if (known) return known;
    if ((this.notOurs.get(key) ?? 0) > Date.now()) return null;
    const mine = await this.refs.clientOrderIdOf(this.broker, account, `order:${orderId}`);
    if (mine) {
      this.ours.set(key, mine);
      this.notOurs.delete(key);
    } else {
      if (this.notOurs.size >= 100_000) this.notOurs.clear();
      this.notOurs.set(key, Date.now() + 30_000);
    }
    return mine;
  }

  /** The OrderID acknowledged for our order, or null if none was recorded. */
  async orderIdOf(account: string, clientOrderId: string): Promise<string | null> {
    const key = `${account}|${clientOrderId}`;
    const known = this.acks.get(key) ?? (await this.refs.clientOrderIdOf(this.broker, account, `ack:${clientOrderId}`));
    if (known) this.acks.set(key, known);
    return known;
  }

  /** Record an acknowledged OrderID both ways. False if another order of ours holds it already. */
  async claim(account: string, orderId: string, clientOrderId: string): Promise<boolean> {
    const fresh = await this.refs.remember(this.broker, account, `order:${orderId}`, clientOrderId);
    if (!fresh && (await this.refs.clientOrderIdOf(this.broker, account, `order:${orderId}`)) !== clientOrderId) return false;
    await this.refs.remember(this.broker, account, `ack:${clientOrderId}`, orderId);
    this.ours.set(`${account}|${orderId}`, clientOrderId);
    this.notOurs.delete(`${account}|${orderId}`);
    this.acks.set(`${account}|${clientOrderId}`, orderId);
    return true;
  }

  /** Keep the state of an order not known as ours (yet). Bounded: 50 states an order, 10,000 orders, 5 minutes. */
  hold(account: string, o: TsOrder): void {
    const key = `${account}|${o.OrderID}`;
    const p = this.pending.get(key) ?? { at: Date.now(), states: [] };
    if (p.states.length < 50) p.states.push(o);
    this.pending.set(key, p);
    if (this.pending.size > 10_000) {
      for (const [k, v] of this.pending) if (Date.now() - v.at > 300_000 || this.pending.size > 10_000) this.pending.delete(k);
    }
  }

  /** The held states of an order, oldest first, forgotten as they are handed out. */
  takeHeld(account: string, orderId: string): TsOrder[] {
    const key = `${account}|${orderId}`;
    const p = this.pending.get(key);
    this.pending.delete(key);
    return p?.states ?? [];
  }
}
