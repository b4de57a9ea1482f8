import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { Notification, NotificationConnection, NotificationPreference, Webhook, WebhookDelivery, WebhookSecret } from '../schema/notification.type.js';
import { requireUser, type GqlContext } from './context.js';
import { pageInfo, pageSize } from './pagination.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { NotificationMessage } from '../events/topics.js';
import type { WebhookRow } from '../notifications/webhook.service.js';

@Resolver(() => Notification)
export class NotificationResolver {
  @Query(() => NotificationConnection, { description: 'Your in-app notifications, newest first.' })
  async notifications(
    @Arg('unreadOnly', () => Boolean, { nullable: true, description: 'Only unread ones.' }) unreadOnly: boolean | null,
    @Arg('first', () => Int, { nullable: true, description: 'Page size.' }) first: number | null,
    @Arg('after', () => String, { nullable: true, description: 'Cursor of the last edge seen.' }) after: string | null,
    @Ctx() ctx: GqlContext,
  ) {
    const page = await ctx.services.notifications.list(requireUser(ctx), { unreadOnly, first: pageSize(first, ctx, 50), after: after ? decodeCursor(after) : null });
    const edges = page.rows.map((n) => ({ cursor: encodeCursor(n), node: n }));
    return { edges, pageInfo: pageInfo(edges, page.hasNextPage, after) };
  }

  @Mutation(() => Int, { description: 'Mark these (or, without ids, all) of your notifications read; how many changed.' })
  markNotificationsRead(@Arg('ids', () => [ID], { nullable: true, description: 'Which; all if omitted.' }) ids: string[] | null, @Ctx() ctx: GqlContext) {
    return ctx.services.notifications.markRead(requireUser(ctx), ids);
  }

  @Subscription(() => Notification, {
    description: 'Your new in-app notifications as they arrive.',
    subscribe: ({ context }: SubscribeResolverData<unknown, Record<string, unknown>, GqlContext>) => context.services.notifications.stream(requireUser(context)),
  })
  notificationReceived(@Root() m: NotificationMessage) {
    return { ...m, createdAt: new Date(m.createdAt), readAt: m.readAt ? new Date(m.readAt) : null };
  }

  @Query(() => [NotificationPreference], { description: 'Your channel choices per event type (all on by default).' })
  notificationPreferences(@Ctx() ctx: GqlContext) {
    return ctx.services.notifications.preferences(requireUser(ctx));
  }

  @Mutation(() => NotificationPreference, { description: 'Turn channels on or off for one event type; omitted channels keep their setting.' })
  setNotificationPreference(
    @Arg('type', () => String, { description: 'Event type.' }) type: string,
    @Arg('inApp', () => Boolean, { nullable: true, description: 'In-app.' }) inApp: boolean | null,
    @Arg('email', () => Boolean, { nullable: true, description: 'Email.' }) email: boolean | null,
    @Arg('webhook', () => Boolean, { nullable: true, description: 'Webhooks.' }) webhook: boolean | null,
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.notifications.setPreference(requireUser(ctx), type, { inApp, email, webhook });
  }
}

@Resolver(() => Webhook)
export class WebhookResolver {
  @Query(() => [Webhook], { description: 'Your webhooks.' })
  webhooks(@Ctx() ctx: GqlContext) {
    return ctx.services.webhooks.list(requireUser(ctx));
  }

  @Mutation(() => WebhookSecret, { description: 'Add a webhook; the signing secret is in this answer only. Loopback and private targets are refused unless WEBHOOK_ALLOW_PRIVATE=true.' })
  createWebhook(
    @Arg('url', () => String, { description: 'http(s) URL.' }) url: string,
    @Arg('events', () => [String], { description: 'Event types to receive.' }) events: string[],
    @Ctx() ctx: GqlContext,
  ) {
    return ctx.services.webhooks.create(requireUser(ctx), url, events);
  }

  @Mutation(() => Boolean, { description: 'Remove one of your webhooks.' })
  deleteWebhook(@Arg('id', () => ID, { description: 'The webhook.' }) id: string, @Ctx() ctx: GqlContext) {
    return ctx.services.webhooks.delete(requireUser(ctx), id);
  }

  @FieldResolver(() => [WebhookDelivery], { description: 'Its delivery log, newest first.' })
  deliveries(@Root() w: WebhookRow, @Arg('first', () => Int, { nullable: true, description: 'How many.' }) first: number | null, @Ctx() ctx: GqlContext) {
    return ctx.services.webhooks.deliveries(requireUser(ctx), w.id, pageSize(first, ctx, 50));
  }
}
