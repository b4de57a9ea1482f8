import { Field, ID, Int, ObjectType } from 'type-graphql';
import { DateTimeScalar, JSONScalar } from './scalars.js';
import { PageInfo } from './order.type.js';

@ObjectType({ description: 'An in-app notification.' })
export class Notification {
  @Field(() => ID, { description: 'Stable id.' })
  id!: string;

  @Field(() => String, { description: 'The event type: order.filled, order.rejected, basket_run.completed, proposal.received, proposal.decided, strategy.signal, broker_connection.expired, pooled.reconciliation_mismatch.' })
  kind!: string;

  @Field(() => String, { description: 'Short title.' })
  title!: string;

  @Field(() => String, { description: 'Text.' })
  body!: string;

  @Field(() => JSONScalar, { nullable: true, description: 'Ids and figures of what happened.' })
  data!: unknown;

  @Field(() => DateTimeScalar, { description: 'When it happened.' })
  createdAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When you marked it read.' })
  readAt!: Date | null;
}

@ObjectType({ description: 'An edge in a notification connection.' })
export class NotificationEdge {
  @Field(() => String, { description: 'Opaque cursor for `after`.' })
  cursor!: string;

  @Field(() => Notification, { description: 'The notification.' })
  node!: Notification;
}

@ObjectType({ description: 'A page of notifications, newest first.' })
export class NotificationConnection {
  @Field(() => [NotificationEdge], { description: 'The notifications on this page.' })
  edges!: NotificationEdge[];

  @Field(() => PageInfo, { description: 'Paging.' })
  pageInfo!: PageInfo;
}

@ObjectType({ description: 'Which channels an event type reaches you on (all on by default).' })
export class NotificationPreference {
  @Field(() => String, { description: 'Event type.' })
  type!: string;

  @Field(() => Boolean, { description: 'In-app notification and notificationReceived.' })
  inApp!: boolean;

  @Field(() => Boolean, { description: 'Email (when the server has SMTP_URL).' })
  email!: boolean;

  @Field(() => Boolean, { description: 'Your webhooks subscribed to this type.' })
  webhook!: boolean;
}

@ObjectType({ description: 'One delivery of one event to a webhook: its tries and outcome.' })
export class WebhookDelivery {
  @Field(() => ID, { description: 'Stable id.' })
  id!: string;

  @Field(() => ID, { description: 'The event id sent in the body (the same on every try).' })
  eventId!: string;

  @Field(() => String, { description: 'Event type.' })
  type!: string;

  @Field(() => String, { description: 'PENDING, DELIVERED or FAILED.' })
  status!: string;

  @Field(() => Int, { description: 'Tries so far.' })
  attempts!: number;

  @Field(() => Int, { nullable: true, description: 'HTTP status of the last try.' })
  lastStatusCode!: number | null;

  @Field(() => String, { nullable: true, description: 'Why the last try failed.' })
  lastError!: string | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When it was delivered.' })
  deliveredAt!: Date | null;

  @Field(() => DateTimeScalar, { description: 'When the event was queued for this webhook.' })
  createdAt!: Date;
}

@ObjectType({ description: 'A URL that receives signed POSTs of your events.' })
export class Webhook {
  @Field(() => ID, { description: 'Stable id.' })
  id!: string;

  @Field(() => String, { description: 'Where events are POSTed.' })
  url!: string;

  @Field(() => [String], { description: 'Event types it receives.' })
  events!: string[];

  @Field(() => Boolean, { description: 'False once disabled after repeated failed deliveries.' })
  active!: boolean;

  @Field(() => DateTimeScalar, { description: 'When it was created.' })
  createdAt!: Date;
}

@ObjectType({ description: 'A new webhook and its signing secret, shown this once.' })
export class WebhookSecret {
  @Field(() => Webhook, { description: 'The webhook.' })
  webhook!: Webhook;

  @Field(() => String, { description: 'HMAC-SHA256 key for X-TradeGraph-Signature. Not retrievable later.' })
  secret!: string;
}
