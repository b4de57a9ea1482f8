/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core), against a real server:
 * sign in as a person would, open a portfolio, place an order with the ticket and watch it fill live, then
 * lose the socket while fills happen and see every one of them arrive exactly once after the reconnect.
 * Fails on any console error, page error or request to anywhere but the server. Screenshots of each page
 * (1280 px and a 390 px phone) are saved under test-output/web/.
 *
 * Needs Chromium (CHROMIUM_PATH, default /usr/bin/chromium). Without it the suite fails, never skips.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page, type WebSocketRoute } from 'playwright-core';
import { Decimal } from 'decimal.js';
import { startTestServer, type TestServer } from './support/server.js';
import { must, newUser } from './support/gql.js';

const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];
const SHOTS = path.resolve('test-output/web');

describe('the dashboard at /', { timeout: 120_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let user: Awaited<ReturnType<typeof newUser>>;
  let portfolioId: string;
  const outside: string[] = [];
  const problems: string[] = [];
  /** While true, new sockets wait before reaching the server (a network outage). */
  let offline = false;
  const routes: WebSocketRoute[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium not found at ${CHROMIUM_PATH}: install it (apt-get install chromium) or set CHROMIUM_PATH. This browser test does not skip.`);
    mkdirSync(SHOTS, { recursive: true });
    // Daily history for the backtest flow (written in the background; awaited below).
    server = await startTestServer({ env: { MARKET_HISTORY: 'true', MARKET_HISTORY_DAILY_DAYS: '400', MARKET_HISTORY_MINUTE_DAYS: '0', BACKTEST_MAX_DAYS: '1000' } });
    user = await newUser(server, 'web');
    const p = await must<{ createPortfolio: { id: string } }>(server, 'mutation { createPortfolio(name: "Growth", baseCurrency: "INR") { id } }', {}, user.token);
    portfolioId = p.createPortfolio.id;
    await must(server, 'mutation($p: ID!) { deposit(portfolioId: $p, amount: "500000") { id } }', { p: portfolioId }, user.token);
    await must(
      server,
      'mutation($i: CreateSmallcaseInput!) { createSmallcase(input: $i) { id } }',
      { i: { name: 'Web Basket', visibility: 'PRIVATE', constituents: [{ symbol: 'ITC', weight: '0.5' }, { symbol: 'WIPRO', weight: '0.3' }, { symbol: 'NTPC', weight: '0.2' }] } },
      user.token,
    );
    await server.app.marketHistory();

    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const origin = new URL(server.url).origin;
    context.on('request', (req) => {
      const u = req.url();
      if (!u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith(origin.replace(/^http/, 'ws'))) outside.push(u);
    });
    page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
    });
    // Every socket goes through this route, so the test can cut the network and hold reconnects back.
    await page.routeWebSocket(/\/graphql$/, async (ws) => {
      while (offline) await new Promise((r) => setTimeout(r, 50));
      ws.connectToServer();
      routes.push(ws);
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('serves one self-contained page with a strict policy', async () => {
    const res = await fetch(`${server.url}/`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self';");
    expect(csp).not.toContain('unsafe-inline');
    const body = await res.text();
    expect(body).toContain('id="root"');
    expect(body.match(/(?:src|href)="(?!\/|data:)[^"]*"/g)).toBeNull();
    // The demo login is only on the page when the server seeds the demo user (not in this test server).
    expect(body).not.toContain('data-demo-password');
  });

  it('signs in, lists portfolios with their cash, and refuses a wrong password with a message', async () => {
    const started = Date.now();
    await page.goto(`${server.url}/`);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    const usableMs = Date.now() - started;
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Wrong email or password');
    await page.screenshot({ path: path.join(SHOTS, 'sign-in-error.png') });
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Portfolios' }).waitFor();
    const card = page.locator('.portfolio-card', { hasText: 'Growth' });
    await expect.poll(() => card.textContent()).toContain('₹5,00,000.00');
    await page.screenshot({ path: path.join(SHOTS, 'portfolios.png') });
    expect(usableMs).toBeLessThan(10_000);
  });

  it('places a market order with the ticket and shows its fill, cash and position live', async () => {
    await page.locator('.portfolio-card', { hasText: 'Growth' }).click();
    await page.getByLabel('Order ticket').waitFor();
    await expect.poll(() => page.getByTestId('socket-state').textContent(), { timeout: 10_000 }).toBe('Live');
    await page.getByLabel('Symbol').fill('INFY');
    await page.getByLabel('Quantity').fill('3');
    await page.getByRole('button', { name: /^Buy/ }).click();
    await page.locator('tr[data-status="FILLED"]', { hasText: 'INFY' }).waitFor({ timeout: 20_000 });
    await page.locator('.feed li', { hasText: 'INFY' }).waitFor();
    await page.locator('table[aria-label="Positions"] tr', { hasText: 'INFY' }).waitFor();
    // Cash went down by what the fill cost: the page shows the server's balance event, exactly.
    const { portfolio } = await must<{ portfolio: { cash: string } }>(server, 'query($p: ID!) { portfolio(id: $p) { cash } }', { p: portfolioId }, user.token);
    const shown = (await page.getByTestId('cash').textContent())!.replace(/[₹,]/g, '');
    expect(new Decimal(shown).toFixed(2)).toBe(new Decimal(portfolio.cash).toFixed(2));
    await page.screenshot({ path: path.join(SHOTS, 'portfolio.png'), fullPage: true });
  });

  it('shows the server’s error message for a bad order', async () => {
    await page.getByLabel('Symbol').fill('INFY');
    await page.getByLabel('Quantity').fill('0');
    await page.getByRole('button', { name: /^Buy/ }).click();
    const alert = page.getByLabel('Order ticket').getByRole('alert');
    await alert.waitFor();
    expect((await alert.textContent())!.length).toBeGreaterThan(5);
    await page.screenshot({ path: path.join(SHOTS, 'order-error.png') });
  });

  it('misses no fill when the socket drops while orders fill, and shows none twice', async () => {
    const before = await page.locator('.feed li').count();
    offline = true;
    for (const r of routes.splice(0)) await r.close({ code: 1006, reason: 'network lost' }).catch(() => undefined);
    await expect.poll(() => page.getByTestId('socket-state').textContent()).not.toBe('Live');
    // Three orders fill while the browser is cut off.
    const ids: string[] = [];
    for (const sym of ['TCS', 'ITC', 'SBIN']) {
      const r = await must<{ placeOrder: { id: string } }>(
        server,
        'mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }',
        { i: { portfolioId, symbol: sym, side: 'BUY', type: 'MARKET', quantity: '1' } },
        user.token,
      );
      ids.push(r.placeOrder.id);
    }
    await expect
      .poll(async () => {
        const rows = await Promise.all(ids.map((id) => must<{ order: { status: string } }>(server, 'query($id: ID!) { order(id: $id) { status } }', { id }, user.token)));
        return rows.every((r) => r.order.status === 'FILLED');
      }, { timeout: 20_000 })
      .toBe(true);
    offline = false;
    await expect.poll(() => page.getByTestId('socket-state').textContent(), { timeout: 15_000 }).toBe('Live');
    for (const id of ids) await page.locator(`tr[data-order-id="${id}"][data-status="FILLED"]`).waitFor({ timeout: 15_000 });
    await expect.poll(() => page.locator('.feed li').count(), { timeout: 15_000 }).toBe(before + 3);
    const fillIds = await page.locator('.feed li').evaluateAll((els) => els.map((e) => e.getAttribute('data-fill-id')));
    expect(new Set(fillIds).size).toBe(fillIds.length);
  });

  it('previews a smallcase investment, invests, and shows the investment with its run summary', async () => {
    await page.getByRole('link', { name: 'Smallcases', exact: true }).click();
    await page.locator('.portfolio-card', { hasText: 'Web Basket' }).click();
    await page.getByRole('button', { name: 'Preview orders' }).click();
    const plan = page.getByLabel('Planned orders');
    await plan.waitFor({ timeout: 20_000 });
    expect(await plan.locator('tbody tr').count()).toBe(3);
    await page.screenshot({ path: path.join(SHOTS, 'smallcase-preview.png'), fullPage: true });
    await page.getByRole('button', { name: /^Invest / }).click();
    await page.getByRole('status').filter({ hasText: 'Investment placed' }).waitFor({ timeout: 20_000 });
    // The investment ends ACTIVE once its run has filled; the list shows the run's summary lines.
    await expect
      .poll(
        async () => {
          await page.getByRole('link', { name: 'Smallcases', exact: true }).click();
          await page.getByRole('button', { name: 'Refresh' }).click();
          return page.locator('details.investment').first().getAttribute('data-status');
        },
        { timeout: 30_000, interval: 1000 },
      )
      .toBe('ACTIVE');
    await page.locator('details.investment summary').first().click();
    expect(await page.locator('details.investment table tbody tr').count()).toBe(3);
    await page.screenshot({ path: path.join(SHOTS, 'investments.png'), fullPage: true });
  });

  it('runs a backtest and watches it finish with its metrics and equity curve', async () => {
    await page.getByRole('link', { name: 'Strategies', exact: true }).click();
    await page.getByLabel('Symbols').fill('TCS, INFY');
    await page.getByRole('button', { name: 'Run backtest' }).click();
    const result = page.getByLabel('Backtest result');
    await result.waitFor({ timeout: 20_000 });
    await page.locator('[aria-label="Backtest result"][data-status="COMPLETED"]').waitFor({ timeout: 60_000 });
    await page.getByRole('img', { name: 'Backtest equity curve and drawdown' }).waitFor();
    expect(await result.getByText('Total return').count()).toBe(1);
    await page.screenshot({ path: path.join(SHOTS, 'backtest.png'), fullPage: true });
  });

  it('shows the watchlists and proposals pages with their empty states', async () => {
    await page.getByRole('link', { name: 'Watchlists', exact: true }).click();
    await page.getByText('No watchlists yet').waitFor();
    await page.getByLabel('Name').fill('Tech');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByLabel('Watchlist Tech').waitFor();
    await page.getByLabel('Symbol').fill('TCS');
    await page.getByRole('button', { name: 'Add' }).click();
    await page.locator('tr[data-symbol="TCS"] .live-price').filter({ hasText: '₹' }).waitFor({ timeout: 15_000 });
    await page.screenshot({ path: path.join(SHOTS, 'watchlists.png'), fullPage: true });
    await page.getByRole('link', { name: 'Proposals', exact: true }).click();
    await page.getByText('No proposals').waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'proposals.png'), fullPage: true });
    await page.getByRole('link', { name: 'Portfolios', exact: true }).click();
    await page.locator('.portfolio-card', { hasText: 'Growth' }).click();
    await page.getByLabel('Performance').waitFor();
  });

  it('is readable on a 390 px phone screen: nothing wider than the screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(200);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: path.join(SHOTS, 'portfolio-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('signs out back to the sign-in form', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
  });

  it('made no request outside the server and logged no error', () => {
    expect(outside).toEqual([]);
    expect(problems).toEqual([]);
  });
});
