import type { Config } from '../../config.js';
import type { Db } from '../../db/client.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { PubSub } from '../../events/pubsub.js';
import type { OutboxRelay } from '../../events/outbox.js';
import { createQueue } from '../../jobs/index.js';
import type { InstrumentService } from '../instrument.service.js';
import type { OrderService } from '../orders/order.service.js';
import type { NotificationJobMap, NotificationQueue } from '../../notifications/jobs.js';
import { NotificationService } from '../../notifications/notification.service.js';
import { WebhookService } from '../../notifications/webhook.service.js';
import { EmailChannel } from '../../notifications/email.channel.js';
import { registerNotificationWorkers } from '../../notifications/workers.js';
import type { AccessPolicy } from './access.policy.js';
import type { AuditService } from './audit.service.js';
import { ProposalService } from './proposal.service.js';
import { ProposalDecisions } from './proposal.decisions.js';
import { BasketAdapters } from './proposal.ports.js';
import type { BasketServices } from '../baskets/index.js';

/**
 * Composition of notifications and proposals (kept out of app.ts so the root stays small): their own
 * job queue ('notifications'), the outbox hook that turns order endings into notifications, and the
 * worker side (fan-out, webhook and email deliveries, proposal expiry).
 */
export function buildPeople(deps: {
  config: Config;
  db: Db;
  clock: Clock;
  logger: Logger;
  pubsub: PubSub;
  relay: OutboxRelay;
  policy: AccessPolicy;
  audit: AuditService;
  instruments: InstrumentService;
  orders: OrderService;
  baskets: BasketServices;
}) {
  const basketAdapters = new BasketAdapters({ baskets: deps.baskets, instruments: deps.instruments });
  const { config, db, clock, logger, pubsub } = deps;
  const queue: NotificationQueue = createQueue<NotificationJobMap>({ redisUrl: config.redisUrl, prefix: config.redisPrefix, name: 'notifications', logger });
  const w = config.people.webhooks;
  const notifications = new NotificationService({
    db,
    clock,
    logger,
    pubsub,
    queue,
    channels: { maxAttempts: w.maxAttempts, backoffMs: w.backoffMs, emailEnabled: Boolean(config.people.email.smtpUrl) },
  });
  deps.relay.onPublish((m) => notifications.fromPortfolioEvent(m));
  const webhooks = new WebhookService({ db, clock, logger, audit: deps.audit, encryptionKey: config.encryptionKey, options: w });
  const email = config.people.email.smtpUrl
    ? new EmailChannel({ db, clock, logger, emailOf: (id) => notifications.emailOf(id) }, { smtpUrl: config.people.email.smtpUrl, from: config.people.email.from })
    : null;
  const proposals = new ProposalService({
    db,
    clock,
    logger,
    pubsub,
    policy: deps.policy,
    audit: deps.audit,
    notifier: notifications,
    instruments: deps.instruments,
    smallcases: basketAdapters,
  });
  const proposalDecisions = new ProposalDecisions({ db, clock, logger, proposals, orders: deps.orders, baskets: basketAdapters });
  return {
    services: { notifications, webhooks, proposals, proposalDecisions },
    queue,
    startWorkers: () =>
      registerNotificationWorkers({ queue, notifications, webhooks, email, expireProposals: () => proposalDecisions.expireDue(), logger, concurrency: Math.max(4, Math.floor(config.workerConcurrency / 2)) }),
    close: async () => {
      await queue.close();
      email?.close();
    },
  };
}
