import { and, desc, eq, inArray, isNull, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { rowsOf, unnestRows } from '../db/batch-sql.js';
import { notificationDeliveries, notificationPreferences, notifications, portfolios, users } from '../db/schema/index.js';
import { BadInputError } from '../errors.js';
import type { Principal } from '../auth/tokens.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { PubSub } from '../events/pubsub.js';
import type { NotificationMessage, PortfolioEventMessage } from '../events/topics.js';
import { toAsyncIterator } from '../events/async-iterator.js';
import { EVENT_TYPES, eventId, isEventType, type EventType, type UserEvent } from './events.js';
import type { NotificationQueue } from './jobs.js';
import { GroupCommit } from '../lib/group-commit.js';

export type NotificationRow = typeof notifications.$inferSelect;
/** Order endings published in one burst share a `notify` job, this many at most. */
const ORDER_ENDINGS_PER_JOB = 500;
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
  emitMany(es: Array<Omit<UserEvent, 'createdAt'> & { createdAt?: string }>): Promise<void>;
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
    await this.emitMany([e]);
  }

  /** Many events as one job (bulk proposals): the fan-out then reads and writes in a few statements. */
  async emitMany(es: Array<Omit<UserEvent, 'createdAt'> & { createdAt?: string }>): Promise<void> {
    if (es.length === 0) return;
    const now = this.deps.clock.now().toISOString();
    const events: UserEvent[] = es.map((e) => ({ ...e, createdAt: e.createdAt ?? now }));
    const jobId = events.length === 1 ? `notify-${events[0].id}` : `notify-${eventId(events.map((e) => e.id).join(','))}`;
    await this.deps.queue.add('notify', { events }, { jobId, attempts: 5, backoffMs: 500 });
  }

  /** Order endings from the outbox become `order.filled` / `order.rejected` for the order's user. */
  fromPortfolioEvent(m: PortfolioEventMessage): void {
    if (m.type === 'BASKET_RUN_UPDATED') return this.fromRunEvent(m);
    if (m.type !== 'ORDER_UPDATED') return;
    const e = orderEndingEvent(m.payload.order, m.createdAt);
    // Not an ending, or one the order loop fans out itself (see orderEnded).
    if (!e || this.inline.has(e.id)) return;
    remember(this.queued, e.id);
    this.orderEndings.push(e);
    this.orderEndingsFlush ??= setImmediate(() => this.flushOrderEndings());
  }

  /**
   * The order loop's endings told at once (an acknowledgement batch's orders, whose submit jobs resume
   * together) fan out together: ONE statement and one publish for the batch instead of one per order.
   * Each caller still waits for its own ending's rows, and if the batch fails each hands its ending to a
   * `notify` job as before.
   */
  private readonly inlineEndings = new GroupCommit<UserEvent, void>(
    async (events) => {
      await this.fanOut([...new Map(events.map((e) => [e.id, e])).values()]);
      return events.map(() => undefined);
    },
    { maxBatch: ORDER_ENDINGS_PER_JOB, maxInFlight: 2 },
  );

  /** Endings the order loop fanned out itself; the relay's copy of them is not queued again. */
  private readonly inline = new Set<string>();
  /** Endings the relay's publish queued first (their `notify` job does them). */
  private readonly queued = new Set<string>();

  /**
   * The order loop tells of an order it ended (the submit job, once the acknowledgement with the paper
   * exchange's immediate fill has committed): its notification is fanned out here and now, inside that
   * job, instead of by a `notify` job of its own (a BullMQ job less per filled order: its add, its fetch,
   * its completion). Durable all the same: if this process dies first, the submit job runs again, finds
   * the order ended and tells again (the rows are unique per user and event). If the fan-out fails it is
   * handed to a `notify` job; if that fails too, the caller's job fails and is retried. An ending the
   * relay's publish already queued is left to that job. Endings told together are fanned out together
   * ({@link inlineEndings}).
   */
  async orderEnded(order: OrderEnding, createdAt: string): Promise<void> {
    const e = orderEndingEvent(order, createdAt);
    if (!e || this.queued.has(e.id)) return;
    remember(this.inline, e.id);
    try {
      await this.inlineEndings.push(e);
    } catch (err) {
      this.inline.delete(e.id);
      this.deps.logger.warn({ err, orderId: order.id }, 'order notification fan-out failed; handing it to a notify job');
      await this.emitMany([e]);
    }
  }

  /**
   * Order endings published together (a batch of fills, a pooled window's children) go out as one
   * `notify` job per ORDER_ENDINGS_PER_JOB instead of one each (a lone one keeps its own job id). Still
   * idempotent per event: the job writes rows unique by (user, event) and (channel, target, event).
   */
  private orderEndings: UserEvent[] = [];
  private orderEndingsFlush: NodeJS.Immediate | undefined;

  private flushOrderEndings(): void {
    this.orderEndingsFlush = undefined;
    // A republished event may arrive twice in one burst: once per job is enough (the rows dedupe anyway).
    const all = [...new Map(this.orderEndings.map((e) => [e.id, e])).values()];
    this.orderEndings = [];
    for (let i = 0; i < all.length; i += ORDER_ENDINGS_PER_JOB) {
      const some = all.slice(i, i + ORDER_ENDINGS_PER_JOB);
      void this.emitMany(some).catch((err) => this.deps.logger.error({ err, orderIds: some.map((e) => e.data.orderId) }, 'could not enqueue order notifications'));
    }
  }

  /** A basket run that ended becomes `basket_run.completed` (with its execution summary) for the portfolio's owner. */
  private fromRunEvent(m: PortfolioEventMessage<'BASKET_RUN_UPDATED'>): void {
    const r = m.payload.run;
    if (!['COMPLETED', 'PARTIAL', 'FAILED', 'CANCELED'].includes(r.status)) return;
    void (async () => {
      const [p] = await this.deps.db.select({ ownerId: portfolios.ownerId }).from(portfolios).where(eq(portfolios.id, m.portfolioId));
      if (!p) return;
      await this.emit({
        id: eventId(`run:${r.id}:${r.status}`),
        type: 'basket_run.completed',
        userId: p.ownerId,
        title: `Basket run ${r.status.toLowerCase()}`,
        body: `Your ${r.kind.toLowerCase().replace('_', ' ')} run ended ${r.status.toLowerCase()}`,
        data: { runId: r.id, portfolioId: m.portfolioId, kind: r.kind, status: r.status, summary: r.summary },
        createdAt: m.createdAt,
      });
    })().catch((err) => this.deps.logger.error({ err, runId: r.id }, 'could not enqueue a run notification'));
  }

  /**
   * The `notify` job: in-app rows and pushes, then one delivery (with its log row) per chosen channel
   * and target. Idempotent per event: rows are unique by (user, event) and (channel, target, event),
   * and delivery jobs by delivery id.
   */
  async fanOut(events: UserEvent[]): Promise<void> {
    if (events.length === 0) return;
    const payload = (e: UserEvent) => ({ id: e.id, type: e.type, createdAt: e.createdAt, data: e.data });
    const wanted: Array<typeof notificationDeliveries.$inferInsert> = [];
    for (let i = 0; i < events.length; i += 500) {
      // ONE statement (one round trip) per 500 events, its text the same whatever the count (rows as one
      // array parameter per column, db/batch-sql.ts): the users' preferences joined to the events, the in-app rows
      // inserted where wanted, and each event's channel targets (email wanted, the user's active
      // webhooks subscribed to its type) read, where they were three statements one after the other.
      const some = events.slice(i, i + 500);
      const rows = rowsOf<{ k: 'n' | 't'; r: string }>(
        await this.deps.db.execute(sql`with v as (
            select v.u, v.e, v.k, v.t, v.b, nullif(v.d, 'null') as d, v.c
            from ${unnestRows(some, { u: ['uuid', (e) => e.userId], e: ['uuid', (e) => e.id], k: ['text', (e) => e.type], t: ['text', (e) => e.title], b: ['text', (e) => e.body], d: ['jsonb', (e) => e.data ?? null], c: ['timestamptz', (e) => e.createdAt] })}),
          p as (
            select v.*, coalesce(np.in_app, true) as in_app, coalesce(np.email, true) as email, coalesce(np.webhook, true) as webhook
            from v left join notification_preferences np on np.user_id = v.u and np.type = v.k),
          ins as (
            insert into notifications (user_id, event_id, kind, title, body, data, created_at)
            select p.u, p.e, p.k, p.t, p.b, p.d, p.c from p where p.in_app
            on conflict do nothing
            returning id, user_id, event_id)
          select 'n' as k, json_build_object('id', ins.id, 'u', ins.user_id, 'e', ins.event_id)::text as r from ins
          union all
          select 't' as k, json_build_object('e', p.e, 'email', p.email, 'hook', w.id)::text as r
          from p left join webhooks w on p.webhook and w.user_id = p.u and w.active and w.deleted_at is null and p.k = any(w.events)`),
      ).map((x) => ({ k: x.k, r: JSON.parse(x.r) as Record<string, string | boolean | null> }));
      const byKey = new Map(some.map((e) => [`${e.userId}|${e.id}`.toLowerCase(), e]));
      // The pushes in one round trip where the pub/sub can (one message per user).
      const pushes = rows
        .filter((x) => x.k === 'n')
        .map(({ r }) => {
          const e = byKey.get(`${r.u as string}|${r.e as string}`)!;
          const row: NotificationRow = { id: r.id as string, userId: r.u as string, eventId: r.e as string, kind: e.type, title: e.title, body: e.body, data: e.data ?? null, readAt: null, createdAt: new Date(e.createdAt) };
          return { key: row.userId, payload: toMessage(row) };
        });
      const { pubsub } = this.deps;
      if (pubsub.publishMany) await pubsub.publishMany('notifications', pushes);
      else await Promise.all(pushes.map((m) => pubsub.publish('notifications', m.key, m.payload)));
      const targets = new Map<string, { email: boolean; hooks: Set<string> }>();
      for (const { k, r } of rows) {
        if (k !== 't') continue;
        const t = targets.get(r.e as string) ?? { email: r.email === true, hooks: new Set<string>() };
        if (r.hook) t.hooks.add(r.hook as string);
        targets.set(r.e as string, t);
      }
      for (const e of some) {
        const t = targets.get(e.id.toLowerCase());
        if (!t) continue;
        for (const hook of t.hooks) wanted.push({ userId: e.userId, channel: 'WEBHOOK', webhookId: hook, eventId: e.id, type: e.type, payload: payload(e) });
        if (this.deps.channels.emailEnabled && t.email) wanted.push({ userId: e.userId, channel: 'EMAIL', webhookId: null, eventId: e.id, type: e.type, payload: { ...payload(e), title: e.title, body: e.body } });
      }
    }
    if (wanted.length === 0) return;
    for (let i = 0; i < wanted.length; i += 500) await this.deps.db.insert(notificationDeliveries).values(wanted.slice(i, i + 500)).onConflictDoNothing();
    // The pending deliveries of these events (new ones, or left by an earlier try of this job).
    const pending = await this.deps.db
      .select({ id: notificationDeliveries.id, channel: notificationDeliveries.channel })
      .from(notificationDeliveries)
      .where(and(inArray(notificationDeliveries.eventId, [...new Set(wanted.map((w) => w.eventId))]), eq(notificationDeliveries.status, 'PENDING')));
    const retry = { attempts: this.deps.channels.maxAttempts, backoffMs: this.deps.channels.backoffMs };
    await Promise.all(
      pending.map((d) =>
        d.channel === 'WEBHOOK'
          ? this.deps.queue.add('deliver-webhook', { deliveryId: d.id }, { jobId: `wh-${d.id}`, ...retry })
          : this.deps.queue.add('deliver-email', { deliveryId: d.id }, { jobId: `em-${d.id}`, ...retry }),
      ),
    );
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

/** The fields of an order snapshot an ending's notification is made of. */
export interface OrderEnding {
  id: string;
  userId: string;
  status: string;
  side: string;
  quantity: string;
  filledQuantity: string;
  averageFillPrice: string | null;
  rejectReason: string | null;
  portfolioId: string;
}

/** `order.filled` / `order.rejected` for an order that ended so; null for any other status. */
function orderEndingEvent(o: OrderEnding, createdAt: string): UserEvent | null {
  if (o.status !== 'FILLED' && o.status !== 'REJECTED') return null;
  const type: EventType = o.status === 'FILLED' ? 'order.filled' : 'order.rejected';
  const body =
    o.status === 'FILLED'
      ? `${o.side} ${o.filledQuantity} filled at an average of ${o.averageFillPrice ?? '?'}`
      : `${o.side} ${o.quantity} was rejected${o.rejectReason ? `: ${o.rejectReason}` : ''}`;
  return {
    id: eventId(`order:${o.id}:${o.status}`),
    type,
    userId: o.userId,
    title: o.status === 'FILLED' ? 'Order filled' : 'Order rejected',
    body,
    data: { orderId: o.id, portfolioId: o.portfolioId, status: o.status, side: o.side, quantity: o.quantity, filledQuantity: o.filledQuantity, averageFillPrice: o.averageFillPrice },
    createdAt,
  };
}

/** Add to a set of recent ids, forgetting the oldest beyond 10,000. */
function remember(set: Set<string>, id: string): void {
  set.add(id);
  if (set.size > 10_000) set.delete(set.values().next().value!);
}
