import { EventEmitter } from 'node:events';
import type { BrokerEvent, BrokerOrder } from '../broker.js';
import type { FillLedger } from './fill-ledger.js';
import type { OrderOwnership } from './ownership.js';
import { orderFigures, toBrokerOrder, type TsOrder } from './wire.js';
import { OnceEvents } from '../connections/once-events.js';

const ENDINGS = new Set(['CANCELED', 'EXPIRED', 'REJECTED']);

/**
 * Order states seen by the adapter, in our terms: which orders are ours (through {@link OrderOwnership}),
 * new fills into the {@link FillLedger}, and the fill and ending events that come out, each once.
 */
export class OrderObserver {
  private readonly events = new EventEmitter();
  private readonly once = new OnceEvents();

  constructor(
    private readonly owners: OrderOwnership,
    private readonly ledger: FillLedger,
    private readonly exchanges: Map<string, string>,
  ) {}

  order(o: TsOrder, clientOrderId: string): BrokerOrder {
    const symbol = orderFigures(o).symbol;
    return toBrokerOrder(o, clientOrderId, this.exchanges.get(symbol) ?? '', new Date().toISOString());
  }

  oursOf(account: string, orderId: string): Promise<string | null> {
    return this.owners.oursOf(account, orderId);
  }

  /** Record an acknowledged OrderID (see OrderOwnership); states held until now are observed first. */
  async claim(account: string, orderId: string, clientOrderId: string): Promise<boolean> {
    if (!(await this.owners.claim(account, orderId, clientOrderId))) return false;
    for (const state of this.owners.takeHeld(account, orderId)) this.observe(account, state, clientOrderId);
    return true;
  }

  onEvent(listener: (event: BrokerEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  private emit(e: BrokerEvent): void {
    if (!this.once.first(e)) return;
    this.events.emit('event', e);
  }

  /**
   * Whatever the source (stream, poll, a read), an order state of ours: new fills into the ledger and out
   * as fill events, an ending out as an order event. Returns the order in our terms.
   */
  observe(account: string, o: TsOrder, clientOrderId: string): BrokerOrder {
    if (clientOrderId) for (const state of this.owners.takeHeld(account, o.OrderID)) this.observe(account, state, clientOrderId);
    const order = this.order(o, clientOrderId);
    const fresh = this.ledger.observe(account, o, new Date().toISOString());
    if (!clientOrderId) return order;
    for (const f of fresh) this.emit({ kind: 'fill', account, fill: { ...f, clientOrderId } });
    if (ENDINGS.has(order.status)) this.emit({ kind: 'order', account, order });
    return order;
  }

  /** An order message from a connection's stream: ours are observed, others kept a while (they may be ours yet). */
  async handleStreamOrder(account: string, o: TsOrder): Promise<void> {
    if (!o?.OrderID) return;
    const mine = await this.oursOf(account, o.OrderID);
    if (mine) {
      this.observe(account, o, mine);
      return;
    }
    this.owners.hold(account, o);
  }

  /** No more events: every listener is let go. */
  close(): void {
    this.events.removeAllListeners();
  }
}
