import { randomBytes } from 'node:crypto';
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { notificationDeliveries, webhooks } from '../db/schema/index.js';
import { BadInputError, NotFoundError, PermanentError } from '../errors.js';
import type { Principal } from '../auth/tokens.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { open, seal } from '../lib/sealed.js';
import { isUuid } from '../services/people/access.policy.js';
import type { AuditPort } from '../services/people/audit.service.js';
import { EVENT_TYPES, isEventType } from './events.js';
import { checkWebhookUrl, UnsafeUrlError } from './url-guard.js';
import { SIGNATURE_HEADER, signatureHeader } from './webhook.signature.js';

export type WebhookRow = typeof webhooks.$inferSelect;
export type DeliveryRow = typeof notificationDeliveries.$inferSelect;

export interface WebhookOptions {
  allowPrivate: boolean;
  disableAfter: number;
  timeoutMs: number;
}

const MAX_WEBHOOKS_PER_USER = 20;

/**
 * Webhooks: signed POSTs of user events. Each delivery is one job retried with backoff by the queue;
 * every try sends the same event id. A delivery that fails all its tries counts against its webhook,
 * which is disabled after `disableAfter` such failures in a row.
 */
export class WebhookService {
  constructor(private readonly deps: { db: Db; clock: Clock; logger: Logger; audit: AuditPort; encryptionKey: Buffer; options: WebhookOptions }) {}

  async create(viewer: Principal, url: string, events: string[]): Promise<{ webhook: WebhookRow; secret: string }> {
    if (url.length > 2000) throw new BadInputError('url is too long', 'url', 'INVALID_URL');
    try {
      await checkWebhookUrl(url, this.deps.options.allowPrivate);
    } catch (err) {
      if (err instanceof UnsafeUrlError) throw new BadInputError(`Webhook URL refused: ${err.message}`, 'url', 'UNSAFE_URL');
      throw err;
    }
    const types = [...new Set(events)];
    if (types.length === 0 || !types.every(isEventType)) {
      throw new BadInputError(`events must be some of ${EVENT_TYPES.join(', ')}`, 'events', 'UNKNOWN_EVENT_TYPE');
    }
    const [{ n }] = await this.deps.db
      .select({ n: sql<number>`count(*)::int` })
      .from(webhooks)
      .where(and(eq(webhooks.userId, viewer.userId), isNull(webhooks.deletedAt)));
    if (n >= MAX_WEBHOOKS_PER_USER) throw new BadInputError(`At most ${MAX_WEBHOOKS_PER_USER} webhooks`, 'url', 'TOO_MANY_WEBHOOKS');
    const secret = `whsec_${randomBytes(24).toString('base64url')}`;
    const [webhook] = await this.deps.db
      .insert(webhooks)
      .values({ userId: viewer.userId, url, events: types, secretSealed: seal(this.deps.encryptionKey, secret), createdAt: this.deps.clock.now() })
      .returning();
    await this.deps.audit.record({ actorId: viewer.userId, action: 'webhook.created', subjectId: webhook.id, data: { url, events: types } });
    return { webhook, secret };
  }

  async list(viewer: Principal): Promise<WebhookRow[]> {
    return this.deps.db
      .select()
      .from(webhooks)
      .where(and(eq(webhooks.userId, viewer.userId), isNull(webhooks.deletedAt)))
      .orderBy(desc(webhooks.createdAt));
  }

  async delete(viewer: Principal, id: string): Promise<boolean> {
    const rows = isUuid(id)
      ? await this.deps.db
          .update(webhooks)
          .set({ deletedAt: this.deps.clock.now(), active: false })
          .where(and(eq(webhooks.id, id), eq(webhooks.userId, viewer.userId), isNull(webhooks.deletedAt)))
          .returning({ id: webhooks.id })
      : [];
    if (rows.length === 0) throw new NotFoundError('Webhook', id);
    await this.deps.audit.record({ actorId: viewer.userId, action: 'webhook.deleted', subjectId: id });
    return true;
  }

  /** The delivery log of one of the viewer's webhooks, newest first. */
  async deliveries(viewer: Principal, webhookId: string, first: number): Promise<DeliveryRow[]> {
    return this.deps.db
      .select()
      .from(notificationDeliveries)
      .where(and(eq(notificationDeliveries.webhookId, webhookId), eq(notificationDeliveries.userId, viewer.userId)))
      .orderBy(desc(notificationDeliveries.createdAt))
      .limit(first);
  }

  /**
   * One try of one delivery (the `deliver-webhook` job). Success marks it DELIVERED; a failure is
   * recorded and rethrown for the queue's backoff, and the last try marks it FAILED and counts it.
   */
  async deliver(deliveryId: string, attempt: { made: number; allowed: number }): Promise<void> {
    const [d] = await this.deps.db.select().from(notificationDeliveries).where(eq(notificationDeliveries.id, deliveryId));
    if (!d || d.status !== 'PENDING' || !d.webhookId) return;
    const [hook] = await this.deps.db.select().from(webhooks).where(eq(webhooks.id, d.webhookId));
    if (!hook || !hook.active || hook.deletedAt) {
      await this.finish(d, 'FAILED', { lastError: 'webhook disabled or deleted' });
      return;
    }
    const body = JSON.stringify(d.payload);
    const t = Math.floor(this.deps.clock.now().getTime() / 1000);
    let status: number | null = null;
    let error: string | null = null;
    try {
      const url = await checkWebhookUrl(hook.url, this.deps.options.allowPrivate);
      const res = await fetch(url, {
        method: 'POST',
        redirect: 'manual', // a redirect could point at a private address
        signal: AbortSignal.timeout(this.deps.options.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'TradeGraph-Webhooks/1',
          [SIGNATURE_HEADER]: signatureHeader(open(this.deps.encryptionKey, hook.secretSealed), t, body),
          'X-TradeGraph-Event-Id': String(d.payload.id),
          'X-TradeGraph-Attempt': String(attempt.made + 1),
        },
        body,
      });
      status = res.status;
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 300) {
        await this.finish(d, 'DELIVERED', { lastStatusCode: status, lastError: null });
        await this.deps.db.update(webhooks).set({ consecutiveFailures: 0 }).where(eq(webhooks.id, hook.id));
        return;
      }
      error = `HTTP ${res.status}`;
    } catch (err) {
      error = err instanceof UnsafeUrlError ? `refused: ${err.message}` : err instanceof Error ? err.name === 'TimeoutError' ? 'timed out' : err.message : String(err);
    }
    const last = attempt.made + 1 >= attempt.allowed;
    await this.deps.db
      .update(notificationDeliveries)
      .set({ attempts: sql`${notificationDeliveries.attempts} + 1`, lastStatusCode: status, lastError: error })
      .where(eq(notificationDeliveries.id, d.id));
    if (last) {
      await this.finish(d, 'FAILED', {}, false);
      const [h] = await this.deps.db
        .update(webhooks)
        .set({ consecutiveFailures: sql`${webhooks.consecutiveFailures} + 1` })
        .where(eq(webhooks.id, hook.id))
        .returning({ failures: webhooks.consecutiveFailures });
      if (h && h.failures >= this.deps.options.disableAfter) {
        await this.deps.db.update(webhooks).set({ active: false }).where(eq(webhooks.id, hook.id));
        this.deps.logger.warn({ webhookId: hook.id }, 'webhook disabled after repeated failures');
        await this.deps.audit.record({ actorId: null, action: 'webhook.disabled', subjectId: hook.id, data: { failures: h.failures } });
      }
      throw new PermanentError(`webhook delivery failed: ${error}`);
    }
    throw new Error(`webhook delivery failed: ${error}`);
  }

  private async finish(d: DeliveryRow, status: 'DELIVERED' | 'FAILED', extra: Partial<DeliveryRow>, countAttempt = true): Promise<void> {
    await this.deps.db
      .update(notificationDeliveries)
      .set({
        status,
        ...extra,
        ...(countAttempt ? { attempts: sql`${notificationDeliveries.attempts} + 1` } : {}),
        ...(status === 'DELIVERED' ? { deliveredAt: this.deps.clock.now() } : {}),
      })
      .where(eq(notificationDeliveries.id, d.id));
  }
}
