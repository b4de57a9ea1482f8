import { eq, sql } from 'drizzle-orm';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Db } from '../db/client.js';
import { notificationDeliveries } from '../db/schema/index.js';
import type { Logger } from '../lib/logger.js';
import type { Clock } from '../lib/clock.js';
import { PermanentError } from '../errors.js';

/** Email through SMTP (nodemailer, SMTP_URL). One `deliver-email` job per event, retried by the queue. */
export class EmailChannel {
  private readonly transport: Transporter;

  constructor(
    private readonly deps: { db: Db; clock: Clock; logger: Logger; emailOf: (userId: string) => Promise<string | null> },
    private readonly opts: { smtpUrl: string; from: string },
  ) {
    this.transport = nodemailer.createTransport(opts.smtpUrl);
  }

  async deliver(deliveryId: string, attempt: { made: number; allowed: number }): Promise<void> {
    const [d] = await this.deps.db.select().from(notificationDeliveries).where(eq(notificationDeliveries.id, deliveryId));
    if (!d || d.status !== 'PENDING') return;
    const to = await this.deps.emailOf(d.userId);
    if (!to) {
      await this.deps.db.update(notificationDeliveries).set({ status: 'FAILED', lastError: 'no email address' }).where(eq(notificationDeliveries.id, d.id));
      return;
    }
    const p = d.payload as { id: string; type: string; title?: string; body?: string; data?: unknown };
    try {
      await this.transport.sendMail({
        from: this.opts.from,
        to,
        subject: `[TradeGraph] ${p.title ?? p.type}`,
        text: `${p.body ?? ''}\n\nEvent: ${p.type} (${p.id})\n`,
        headers: { 'X-TradeGraph-Event-Id': p.id },
      });
      await this.deps.db
        .update(notificationDeliveries)
        .set({ status: 'DELIVERED', attempts: sql`${notificationDeliveries.attempts} + 1`, deliveredAt: this.deps.clock.now(), lastError: null })
        .where(eq(notificationDeliveries.id, d.id));
    } catch (err) {
      const last = attempt.made + 1 >= attempt.allowed;
      const message = err instanceof Error ? err.message.slice(0, 500) : String(err);
      await this.deps.db
        .update(notificationDeliveries)
        .set({ attempts: sql`${notificationDeliveries.attempts} + 1`, lastError: message, ...(last ? { status: 'FAILED' as const } : {}) })
        .where(eq(notificationDeliveries.id, d.id));
      if (last) throw new PermanentError(`email failed: ${message}`);
      throw err;
    }
  }

  close(): void {
    this.transport.close();
  }
}
