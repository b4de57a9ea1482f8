import { createHash } from 'node:crypto';

/** Event types for notifications, webhooks and preferences (API.md). */
export const EVENT_TYPES = [
  'order.filled',
  'order.rejected',
  'basket_run.completed',
  'proposal.received',
  'proposal.decided',
  'strategy.signal',
  'broker_connection.expired',
  'pooled.reconciliation_mismatch',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export function isEventType(t: string): t is EventType {
  return (EVENT_TYPES as readonly string[]).includes(t);
}

/** Something that happened to one user, to be delivered on the channels they chose. JSON-safe. */
export interface UserEvent {
  /** Stable per event: a republished event has the same id, so every channel delivers it once. */
  id: string;
  type: EventType;
  userId: string;
  title: string;
  body: string;
  data: Record<string, unknown>;
  createdAt: string;
}

/** A UUID derived from a stable name (what happened to what), so replays dedupe. */
export function eventId(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
