import { and, desc, eq, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { notificationDeliveries, notificationPreferences, notifications, users, webhooks } from '../db/schema/index.js';
import { BadInputError } from '../errors.js';
import type { Principal } from '../auth/tokens.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { PubSub } from '../events/pubsub.js';
import type { NotificationMessage, PortfolioEventMessage } from '../events/topics.js';
import { toAsyncIterator } from '../events/async-iterator.js';
import { EVENT_TYPES, eventId, isEventType, type EventType, type UserEvent } from './events.js';
import type { NotificationQueue } from './jobs.js';

export type NotificationRow = typeof notifications.$inferSelect;
export interface Preference {
  type: string;
  inApp: boolean;
  email: boolean;
  webhook: boolean;
}

export interface ChannelOptions {
  maxAttempts: number;
  backoffMs: number;
  emailEnabled: boolean;
}

/** What domain services call to tell a user something (proposals, basket runs, strategies, brokers). */
export interface NotifierPort {
  emit(e: Omit<UserEvent, 'createdAt'> & { createdAt?: string }): Promise<void>;
}

/**
 * In-app notifications, per-user preferences, and the fan-out of user events to channels. Emitting only
 * enqueues a `notify` job (job id from the event id, so a repeated event is delivered once); the job
 * writes the in-app row, pushes it to the user's sockets and enqueues one delivery job per webhook
 * and for email, each with its delivery log row.
 */
export class NotificationService implements NotifierPort {
  constructor(private readonly deps: { db: Db; clock: Clock; logger: Logger; pubsub: PubSub; queue: NotificationQueue; channels: ChannelOptions }) {}

  async emit(e: Omit<UserEvent, 'createdAt'> & { createdAt?: string }): Promise<void> {
    const event: UserEvent = { ...e, createdAt: e.createdAt ?? this.deps.clock.now().toISOString() };
    await this.deps.queue.add('notify', { event }, { jobId: `notify-${event.id}`, attempts: 5, backoffMs: 500 });
  }

  /** Order endings from the outbox become `order.filled` / `order.rejected` for the order's user. */
  fromPortfolioEvent(m: PortfolioEventMessage): void {
    if (m.type !== 'ORDER_UPDATED') return;
    const o = m.payload.order as { id: string; userId: string; status: string; side: string; quantity: string; filledQuantity: string; averageFillPrice: string | null; rejectReason: string | null; instrumentId: string; portfolioId: string };
    if (o.status !== 'FILLED' && o.status !== 'REJECTED') return;
    const type: EventType = o.status === 'FILLED' ? 'order.filled' : 'order.rejected';
    const body =
      o.status === 'FILLED'
        ? `${o.side} ${o.filledQuantity} filled at an average of ${o.averageFillPrice ?? '?'}`
        : `${o.side} ${o.quantity} was rejected${o.rejectReason ? `: ${o.rejectReason}` : ''}`;
    void this.emit({
      id: eventId(`order:${o.id}:${o.status}`),
      type,
      userId: o.userId,
      title: o.status === 'FILLED' ? 'Order filled' : 'Order rejected',
      body,
      data: { orderId: o.id, portfolioId: o.portfolioId, status: o.status, side: o.side, quantity: o.quantity, filledQuantity: o.filledQuantity, averageFillPrice: o.averageFillPrice },
      createdAt: m.createdAt,
    }).catch((err) => this.deps.logger.error({ err, orderId: o.id }, 'could not enqueue an order notification'));
  }

  /** The `notify` job: in-app row and push, then one delivery per chosen channel. Idempotent per event. */
  async fanOut(event: UserEvent): Promise<void> {
    const pref = await this.preference(event.userId, event.type);
    if (pref.inApp) {
      const [row] = await this.deps.db
        .insert(notifications)
        .values({ userId: event.userId, eventId: event.id, kind: event.type, title: event.title, body: event.body, data: event.data, createdAt: new Date(event.createdAt) })
        .onConflictDoNothing()
        .returning();
      if (row) await this.deps.pubsub.publish('notifications', event.userId, toMessage(row));
    }
    const payload = { id: event.id, type: event.type, createdAt: event.createdAt, data: event.data };
    const retry = { attempts: this.deps.channels.maxAttempts, backoffMs: this.deps.channels.backoffMs };
    if (pref.webhook) {
      const hooks = await this.deps.db
        .select({ id: webhooks.id })
        .from(webhooks)
        .where(and(eq(webhooks.userId, event.userId), eq(webhooks.active, true), isNull(webhooks.deletedAt), sql`${event.type} = any(${webhooks.events})`));
      for (const h of hooks) {
        const id = await this.delivery({ userId: event.userId, channel: 'WEBHOOK', webhookId: h.id, eventId: event.id, type: event.type, payload });
        await this.deps.queue.add('deliver-webhook', { deliveryId: id }, { jobId: `wh-${id}`, ...retry });
      }
    }
    if (pref.email && this.deps.channels.emailEnabled) {
      const id = await this.delivery({ userId: event.userId, channel: 'EMAIL', webhookId: null, eventId: event.id, type: event.type, payload: { ...payload, title: event.title, body: event.body } });
      await this.deps.queue.add('deliver-email', { deliveryId: id }, { jobId: `em-${id}`, ...retry });
    }
  }

  /** The delivery log row for (channel, target, event): created once, found again on a replay. */
  private async delivery(v: typeof notificationDeliveries.$inferInsert): Promise<string> {
    const [row] = await this.deps.db.insert(notificationDeliveries).values(v).onConflictDoNothing().returning({ id: notificationDeliveries.id });
    if (row) return row.id;
    const [existing] = await this.deps.db
      .select({ id: notificationDeliveries.id })
      .from(notificationDeliveries)
      .where(
        and(
          eq(notificationDeliveries.channel, v.channel),
          eq(notificationDeliveries.userId, v.userId),
          eq(notificationDeliveries.eventId, v.eventId),
          v.webhookId ? eq(notificationDeliveries.webhookId, v.webhookId) : isNull(notificationDeliveries.webhookId),
        ),
      );
    return existing.id;
  }

  async list(viewer: Principal, opts: { unreadOnly?: boolean | null; first: number; after?: { createdAt: Date; id: string } | null }) {
    const conds: SQL[] = [eq(notifications.userId, viewer.userId)];
    if (opts.unreadOnly) conds.push(isNull(notifications.readAt));
    if (opts.after) {
      const a = opts.after;
      conds.push(or(lt(notifications.createdAt, a.createdAt), and(eq(notifications.createdAt, a.createdAt), lt(notifications.id, a.id)))!);
    }
    const rows = await this.deps.db
      .select()
      .from(notifications)
      .where(and(...conds))
      .orderBy(desc(notifications.createdAt), desc(notifications.id))
      .limit(opts.first + 1);
    return { rows: rows.slice(0, opts.first), hasNextPage: rows.length > opts.first };
  }

  /** Mark some (or, with no ids, all) of your unread notifications read; how many changed. */
  async markRead(viewer: Principal, ids: string[] | null | undefined): Promise<number> {
    if (ids && ids.length > 1000) throw new BadInputError('At most 1000 ids', 'ids', 'TOO_MANY');
    const valid = ids?.filter((id) => /^[0-9a-f-]{36}$/i.test(id));
    if (ids && valid!.length === 0) return 0;
    const conds: SQL[] = [eq(notifications.userId, viewer.userId), isNull(notifications.readAt)];
    if (valid) conds.push(inArray(notifications.id, valid));
    const rows = await this.deps.db.update(notifications).set({ readAt: this.deps.clock.now() }).where(and(...conds)).returning({ id: notifications.id });
    return rows.length;
  }

  /** Live in-app notifications of the viewer. */
  async stream(viewer: Principal): Promise<AsyncIterableIterator<NotificationMessage>> {
    const it = toAsyncIterator<NotificationMessage>(async (push) => this.deps.pubsub.subscribe('notifications', viewer.userId, push));
    await it.ready;
    return it;
  }

  async preferences(viewer: Principal): Promise<Preference[]> {
    const rows = await this.deps.db.select().from(notificationPreferences).where(eq(notificationPreferences.userId, viewer.userId));
    const byType = new Map(rows.map((r) => [r.type, r]));
    return EVENT_TYPES.map((type) => {
      const r = byType.get(type);
      return { type, inApp: r?.inApp ?? true, email: r?.email ?? true, webhook: r?.webhook ?? true };
    });
  }

  async setPreference(viewer: Principal, type: string, change: { inApp?: boolean | null; email?: boolean | null; webhook?: boolean | null }): Promise<Preference> {
    if (!isEventType(type)) throw new BadInputError(`Unknown event type; one of ${EVENT_TYPES.join(', ')}`, 'type', 'UNKNOWN_EVENT_TYPE');
    const current = await this.preference(viewer.userId, type);
    const next = { inApp: change.inApp ?? current.inApp, email: change.email ?? current.email, webhook: change.webhook ?? current.webhook };
    await this.deps.db
      .insert(notificationPreferences)
      .values({ userId: viewer.userId, type, ...next })
      .onConflictDoUpdate({ target: [notificationPreferences.userId, notificationPreferences.type], set: next });
    return { type, ...next };
  }

  private async preference(userId: string, type: string): Promise<Preference> {
    const [r] = await this.deps.db
      .select()
      .from(notificationPreferences)
      .where(and(eq(notificationPreferences.userId, userId), eq(notificationPreferences.type, type)));
    return { type, inApp: r?.inApp ?? true, email: r?.email ?? true, webhook: r?.webhook ?? true };
  }

  /** The email address of a user (for the email channel). */
  async emailOf(userId: string): Promise<string | null> {
    const [u] = await this.deps.db.select({ email: users.email }).from(users).where(eq(users.id, userId));
    return u && !u.email.endsWith('@oidc.invalid') ? u.email : null;
  }
}

export function toMessage(r: NotificationRow): NotificationMessage {
  return { id: r.id, kind: r.kind, title: r.title, body: r.body, data: r.data ?? null, createdAt: r.createdAt.toISOString(), readAt: r.readAt?.toISOString() ?? null };
}
