import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { startTestServer, type TestServer } from './support/server.js';
import { modes } from './support/env.js';
import { collect, errorCode, gql, must, newUser, waitFor, wsClient } from './support/gql.js';
import { createFundedPortfolio, placeOrder, waitForQuote, waitForStatus } from './support/trading.js';
import { startSmtpSink, startWebhookReceiver } from './support/sinks.js';

const CREATE_HOOK = `mutation($u:String!,$e:[String!]!){ createWebhook(url:$u, events:$e){ secret webhook { id url events active } } }`;
const DELIVERIES = `{ webhooks { id active deliveries { eventId type status attempts lastStatusCode lastError deliveredAt } } }`;

describe.each(modes())('notifications: in-app, webhooks and email (%s)', (mode) => {
  let server: TestServer;
  let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;
  let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  beforeAll(async () => {
    hooks = await startWebhookReceiver();
    smtp = await startSmtpSink();
    server = await startTestServer({
      mode,
      env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_MAX_ATTEMPTS: '3', WEBHOOK_BACKOFF_MS: '50', WEBHOOK_DISABLE_AFTER: '2', SMTP_URL: smtp.url },
    });
    await waitForQuote(server, 'RELIANCE');
  }, 180_000);
  afterAll(async () => {
    await server?.close();
    await hooks?.close();
    await smtp?.close();
  });

  async function filledOrder(token: string, portfolioId: string) {
    const o = await placeOrder(server, token, { portfolioId, symbol: 'RELIANCE', side: 'BUY', type: 'MARKET', quantity: '1' });
    await waitForStatus(server, token, o.id, ['FILLED']);
    return o.id as string;
  }

  it('tells the user of a fill on the socket, in the list, by a signed webhook and by email', async () => {
    const u = await newUser(server, 'notified');
    const pid = await createFundedPortfolio(server, u.token);
    const hook = await must(server, CREATE_HOOK, { u: `${hooks.base}/ok-${u.id}`, e: ['order.filled'] }, u.token);
    const ws = wsClient(server, u.token);
    const live = collect<{ notificationReceived: { id: string; kind: string; data: { orderId: string } } }>(ws, `subscription { notificationReceived { id kind title body data createdAt readAt } }`);
    // The subscription is live once a probe pushed on its topic arrives (no fixed sleep).
    const probe = { id: '00000000-0000-4000-8000-000000000000', kind: 'probe', title: 'probe', body: '', data: null, createdAt: new Date().toISOString(), readAt: null };
    await waitFor('the subscription to be live', async () => {
      await server.app.pubsub.publish('notifications', u.id, probe);
      return live.items.some((i) => i.notificationReceived.kind === 'probe');
    });
    const orderId = await filledOrder(u.token, pid);

    await waitFor('the live notification', () => live.items.some((i) => i.notificationReceived.kind === 'order.filled'));
    expect(live.items.find((i) => i.notificationReceived.kind === 'order.filled')!.notificationReceived).toMatchObject({ kind: 'order.filled', data: { orderId } });
    const list = await must(server, `{ notifications(unreadOnly: true) { edges { node { id kind title body readAt } } } }`, {}, u.token);
    expect(list.notifications.edges).toHaveLength(1);
    expect(list.notifications.edges[0].node).toMatchObject({ kind: 'order.filled', title: 'Order filled', readAt: null });
    expect((await must(server, `mutation { markNotificationsRead }`, {}, u.token)).markNotificationsRead).toBe(1);
    expect((await must(server, `{ notifications(unreadOnly: true) { edges { node { id } } } }`, {}, u.token)).notifications.edges).toEqual([]);

    await waitFor('the webhook', () => hooks.at(`/ok-${u.id}`).length > 0);
    const got = hooks.at(`/ok-${u.id}`)[0];
    expect(got.body).toMatchObject({ type: 'order.filled', data: { orderId, status: 'FILLED' } });
    expect(Object.keys(got.body).sort()).toEqual(['createdAt', 'data', 'id', 'type']);
    expect(got.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(hooks.verify(hook.createWebhook.secret, got)).toBe(true);
    expect(hooks.verify('whsec_wrong', got)).toBe(false);

    await waitFor('the email', () => smtp.mails.some((m) => m.to.includes(u.email)));
    const mail = smtp.mails.find((m) => m.to.includes(u.email))!;
    expect(mail.raw).toMatch(/Subject: \[TradeGraph\] Order filled/);
    expect(mail.raw).toContain(got.body.id);
    await ws.dispose();
  });

  it('retries a failing webhook with backoff, sending the same event id every time, and logs it', async () => {
    const u = await newUser(server, 'retried');
    const pid = await createFundedPortfolio(server, u.token);
    const path = `/flaky-${u.id}`;
    hooks.failFirst(path, 2);
    const hook = await must(server, CREATE_HOOK, { u: `${hooks.base}${path}`, e: ['order.filled'] }, u.token);
    await filledOrder(u.token, pid);
    await waitFor('three tries', () => hooks.at(path).length >= 3);
    const tries = hooks.at(path);
    expect(new Set(tries.map((t) => t.body.id)).size).toBe(1);
    expect(tries.map((t) => t.attempt)).toEqual(['1', '2', '3']);
    for (const t of tries) expect(hooks.verify(hook.createWebhook.secret, t)).toBe(true);
    await waitFor('the delivery log to say DELIVERED', async () => {
      const d = await must(server, DELIVERIES, {}, u.token);
      return d.webhooks[0].deliveries[0]?.status === 'DELIVERED';
    });
    const d = (await must(server, DELIVERIES, {}, u.token)).webhooks[0];
    expect(d.deliveries[0]).toMatchObject({ eventId: tries[0].body.id, type: 'order.filled', status: 'DELIVERED', attempts: 3, lastStatusCode: 204 });
    expect(d.active).toBe(true);
  });

  it('disables a webhook after repeated failed deliveries', async () => {
    const u = await newUser(server, 'dead-hook');
    const pid = await createFundedPortfolio(server, u.token);
    const path = `/down-${u.id}`;
    hooks.failFirst(path, 1000);
    await must(server, CREATE_HOOK, { u: `${hooks.base}${path}`, e: ['order.filled'] }, u.token);
    await filledOrder(u.token, pid);
    await filledOrder(u.token, pid);
    await waitFor('the webhook to be disabled', async () => !(await must(server, DELIVERIES, {}, u.token)).webhooks[0].active, 15_000);
    const d = (await must(server, DELIVERIES, {}, u.token)).webhooks[0];
    expect(d.deliveries.map((x: { status: string }) => x.status)).toEqual(['FAILED', 'FAILED']);
    expect(d.deliveries[0]).toMatchObject({ attempts: 3, lastStatusCode: 500 });
    const tries = hooks.at(path).length;
    await filledOrder(u.token, pid);
    // A third event finds no active webhook: no new delivery row and no new request.
    await waitFor('the third notification', async () => (await must(server, `{ notifications { edges { node { id } } } }`, {}, u.token)).notifications.edges.length === 3);
    expect((await must(server, DELIVERIES, {}, u.token)).webhooks[0].deliveries).toHaveLength(2);
    expect(hooks.at(path).length).toBe(tries);
  });

  it('follows per-user preferences: no in-app row and no email when both are off', async () => {
    const u = await newUser(server, 'quiet');
    const pid = await createFundedPortfolio(server, u.token);
    const prefs = await must(server, `{ notificationPreferences { type inApp email webhook } }`, {}, u.token);
    expect(prefs.notificationPreferences).toHaveLength(8);
    expect(prefs.notificationPreferences.every((p: { inApp: boolean; email: boolean; webhook: boolean }) => p.inApp && p.email && p.webhook)).toBe(true);
    const set = await must(server, `mutation { setNotificationPreference(type: "order.filled", inApp: false, email: false) { type inApp email webhook } }`, {}, u.token);
    expect(set.setNotificationPreference).toEqual({ type: 'order.filled', inApp: false, email: false, webhook: true });
    expect(errorCode(await gql(server, `mutation { setNotificationPreference(type: "order.exploded", inApp: false) { type } }`, {}, u.token))).toBe('BAD_USER_INPUT');
    const path = `/quiet-${u.id}`;
    await must(server, CREATE_HOOK, { u: `${hooks.base}${path}`, e: ['order.filled'] }, u.token);
    await filledOrder(u.token, pid);
    await waitFor('the webhook (still on)', () => hooks.at(path).length > 0);
    await waitFor('its delivery to be logged', async () => (await must(server, DELIVERIES, {}, u.token)).webhooks[0].deliveries[0]?.status === 'DELIVERED');
    expect((await must(server, `{ notifications { edges { node { id } } } }`, {}, u.token)).notifications.edges).toEqual([]);
    const emails = await server.app.db.db.execute(sql`select count(*)::int as n from notification_deliveries where user_id = ${u.id} and channel = 'EMAIL'`);
    expect(JSON.stringify(emails)).toMatch(/"n":0/);
    expect(smtp.mails.some((m) => m.to.includes(u.email))).toBe(false);
  });

  it('refuses unknown event types, bad URLs, and another user deleting your webhook', async () => {
    const u = await newUser(server);
    const other = await newUser(server);
    const bad = await gql(server, CREATE_HOOK, { u: `${hooks.base}/x`, e: ['order.exploded'] }, u.token);
    expect(bad.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'UNKNOWN_EVENT_TYPE' });
    const ftp = await gql(server, CREATE_HOOK, { u: 'ftp://example.com/x', e: ['order.filled'] }, u.token);
    expect(ftp.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'UNSAFE_URL' });
    const h = await must(server, CREATE_HOOK, { u: `${hooks.base}/mine`, e: ['order.filled'] }, u.token);
    expect(errorCode(await gql(server, `mutation($id:ID!){ deleteWebhook(id:$id) }`, { id: h.createWebhook.webhook.id }, other.token))).toBe('NOT_FOUND');
    expect((await must(server, `{ webhooks { id } }`, {}, other.token)).webhooks).toEqual([]);
    expect((await must(server, `mutation($id:ID!){ deleteWebhook(id:$id) }`, { id: h.createWebhook.webhook.id }, u.token)).deleteWebhook).toBe(true);
  });
});
