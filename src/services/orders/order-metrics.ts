/** What the order loop counts: an order sent, adopted at the broker, refused, failed, or (partly) filled. */
export type OrderEventName = 'submitted' | 'adopted' | 'rejected' | 'failed' | 'fill';

/**
 * The order loop's counters, as a port: the services say what happened, and the process's metrics
 * (`server/metrics.ts`, exported as `orders_total{event}`) count it.
 */
export interface OrderMetrics {
  orderEvent(event: OrderEventName, count?: number): void;
}
