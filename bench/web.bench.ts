/**
 * bench:web — the dashboard in headless Chromium against an embedded server in its own process:
 *
 *   1. first page usable: navigation to the sign-in form answering (ms), and sign-in to the portfolio page
 *      with its ticket (ms); target: under 1 s on the embedded server;
 *   2. live updates: the portfolio page holds 8 positions whose quotes tick every TICK_MS (default 50 ms: 160
 *      quotes/s) while orders are placed at RATE/s (default 10; each is ~6 events: status moves, the fill,
 *      balance, position) for SECONDS; the page's animation frames are sampled and the socket frames it
 *      receives are counted; prints updates/s delivered, frame interval p50/p99, frames dropped and long
 *      tasks, beside the same figures for 3 s of the page with the feed paused (the baseline) in the same run;
 *   3. the bundle's gzipped size (budget 500 KB), from the build.
 *
 * Usage: npm run bench:web [-- --rate=10 --seconds=15 --tickMs=50]. Needs Chromium (CHROMIUM_PATH). Embedded only: the
 * page's work does not depend on the mode.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { GqlHttp } from './lib/gql-client.js';
import { freePort } from './lib/infra.js';
import { ROOT, startRole, waitReady } from './lib/processes.js';
import { BENCH_ENCRYPTION_KEY, BENCH_JWT_SECRET } from './lib/graphql-path.js';
import { percentile } from './lib/stats.js';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const RATE = Number(args.rate ?? 10);
const SECONDS = Number(args.seconds ?? 15);
/** Quote ticks: every instrument every TICK_MS, so the page's 8 positions alone bring 8 × 1000 / TICK_MS quotes a second. */
const TICK_MS = Number(args.tickMs ?? 50);
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SYMBOLS = ['ITC', 'WIPRO', 'NTPC', 'ONGC', 'TATASTEEL', 'INFY', 'TCS', 'SBIN'];

interface FrameStats {
  frames: number;
  p50: number;
  p99: number;
  dropped: number;
  longTasks: number;
}

/** The sampler as page source text: tsx would wrap a function's inner closures in its `__name` helper. */
const SAMPLER = `(() => {
  const b = (window.__bench = { deltas: [], longTasks: 0, stop: false });
  let last = performance.now();
  const loop = (t) => { b.deltas.push(t - last); last = t; if (!b.stop) requestAnimationFrame(loop); };
  requestAnimationFrame(loop);
  new PerformanceObserver((list) => { b.longTasks += list.getEntries().length; }).observe({ type: 'longtask' });
})()`;

async function startSampling(page: Page): Promise<void> {
  await page.evaluate(SAMPLER);
}

async function stopSampling(page: Page): Promise<FrameStats> {
  const r = (await page.evaluate('(() => { const b = window.__bench; b.stop = true; return { deltas: b.deltas.slice(1), longTasks: b.longTasks }; })()')) as {
    deltas: number[];
    longTasks: number;
  };
  const sorted = [...r.deltas].sort((a, b) => a - b);
  const frame = sorted[Math.floor(sorted.length / 2)] || 16.7;
  return {
    frames: r.deltas.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    dropped: r.deltas.reduce((n, d) => n + Math.max(0, Math.round(d / frame) - 1), 0),
    longTasks: r.longTasks,
  };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tg-bench-web-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = startRole('tsx', 'all', {
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: dataDir,
    JWT_SECRET: BENCH_JWT_SECRET,
    ENCRYPTION_KEY: BENCH_ENCRYPTION_KEY,
    SEED_DEMO: 'false',
    LOG_LEVEL: 'warn',
    USER_RATE_LIMIT_PER_MINUTE: '1000000',
    ORDER_RATE_LIMIT_PER_SECOND: '10000',
    MARKET_TICK_MS: String(TICK_MS),
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage', '--no-first-run'],
  });
  try {
    await waitReady(server, `${url}/readyz`, 120_000);
    const client = new GqlHttp(url, 64);
    const email = `bench-web-${Date.now()}@example.com`;
    const reg = await client.request<{ register: { accessToken: string } }>('mutation($e:String!){ register(email:$e,password:"bench-password-123"){ accessToken } }', { e: email });
    const token = reg.data!.register.accessToken;
    const pf = await client.request<{ createPortfolio: { id: string } }>('mutation { createPortfolio(name: "Bench", baseCurrency: "INR") { id } }', {}, token);
    const portfolioId = pf.data!.createPortfolio.id;
    await client.request('mutation($p:ID!){ deposit(portfolioId:$p, amount:"1000000000") { id } }', { p: portfolioId }, token);

    // One position per symbol, so the page subscribes to 8 quotes.
    for (const symbol of SYMBOLS) {
      await client.request('mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }', { i: { portfolioId, symbol, side: 'BUY', type: 'MARKET', quantity: '1' } }, token);
    }
    await new Promise((r) => setTimeout(r, 3000));

    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    let framesIn = 0;
    page.on('websocket', (ws) => ws.on('framereceived', () => framesIn++));
    // Warm the server's page path (a first request may build the bundle), then measure a cold browser load.
    await fetch(`${url}/`, { headers: { accept: 'text/html' } }).then((r) => r.arrayBuffer());
    let t0 = performance.now();
    await page.goto(`${url}/`);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    const firstUsableMs = performance.now() - t0;
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('bench-password-123');
    t0 = performance.now();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.portfolio-card').first().waitFor();
    const portfoliosMs = performance.now() - t0;
    t0 = performance.now();
    await page.locator('.portfolio-card').first().click();
    await page.getByLabel('Order ticket').waitFor();
    const portfolioMs = performance.now() - t0;
    await page.getByTestId('socket-state').filter({ hasText: 'Live' }).waitFor({ timeout: 15_000 });

    // Baseline: the same page for 3 s with its socket paused (no updates reach it).
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: 1, uploadThroughput: 1 });
    await page.waitForTimeout(500);
    await startSampling(page);
    await page.waitForTimeout(3000);
    const idle = await stopSampling(page);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await page.waitForTimeout(1000);
    const framesBefore = framesIn;

    // Load: RATE orders/s for SECONDS, open loop, on fresh keep-alive sockets (the set-up's went idle).
    const load = new GqlHttp(url, 64);
    await startSampling(page);
    const started = performance.now();
    const total = RATE * SECONDS;
    const pending: Promise<unknown>[] = [];
    let refused = 0;
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      pending.push(
        load
          .request('mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }', { i: { portfolioId, symbol: SYMBOLS[i % SYMBOLS.length], side: 'BUY', type: 'MARKET', quantity: '1' } }, token)
          .then(
            (r) => (r.errors ? refused++ : undefined),
            () => refused++,
          ),
      );
    }
    await Promise.all(pending);
    // Until the page has shown every fill (the feed keeps the latest 200; count the orders table instead).
    const deadline = performance.now() + 60_000;
    let filledShown = 0;
    while (performance.now() < deadline) {
      filledShown = (await page.evaluate("document.querySelectorAll('.feed li').length")) as number;
      const status = await load.request<{ portfolio: { orders: { edges: { node: { status: string } }[] } } }>(
        'query($p:ID!){ portfolio(id:$p){ orders(first: 1, status: [PENDING, SUBMITTING, OPEN, PARTIALLY_FILLED]) { edges { node { status } } } } }',
        { p: portfolioId },
        token,
      );
      if ((status.data?.portfolio.orders.edges.length ?? 1) === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await page.waitForTimeout(500);
    const loadSeconds = (performance.now() - started) / 1000;
    const busy = await stopSampling(page);
    filledShown = (await page.evaluate("document.querySelectorAll('.feed li').length")) as number;

    const meta = JSON.parse(readFileSync(path.join(ROOT, 'dist/web/meta.json'), 'utf8')) as { sizes: { file: string; gzipBytes: number }[] };
    const gzip = meta.sizes.reduce((n, s) => n + s.gzipBytes, 0);
    const f = (s: FrameStats) => `${s.frames} frames, interval p50 ${s.p50.toFixed(1)} ms p99 ${s.p99.toFixed(1)} ms, ${s.dropped} dropped, ${s.longTasks} long tasks`;
    console.log('\nbench:web (embedded server, headless Chromium, this machine)');
    console.log(`  first page usable (sign-in form):   ${firstUsableMs.toFixed(0)} ms   (target < 1000 ms)`);
    console.log(`  sign-in → portfolios listed:        ${portfoliosMs.toFixed(0)} ms`);
    console.log(`  portfolios → portfolio page ready:  ${portfolioMs.toFixed(0)} ms`);
    const updates = framesIn - framesBefore;
    console.log(`  live load: ${total} orders at ${RATE}/s (${refused} refused) + quotes every ${TICK_MS} ms; ${updates} updates reached the page in ${loadSeconds.toFixed(1)} s = ${(updates / loadSeconds).toFixed(0)} updates/s (target 100/s rendered); fills on screen: ${filledShown}`);
    console.log(`  frames idle (baseline): ${f(idle)}`);
    console.log(`  frames under load:      ${f(busy)}`);
    console.log(`  dropped frames per second under load: ${(busy.dropped / loadSeconds).toFixed(2)} (idle ${(idle.dropped / 3).toFixed(2)}); p99 interval ratio load/idle ${(busy.p99 / idle.p99).toFixed(2)}`);
    console.log(`  bundle: ${(gzip / 1024).toFixed(1)} KiB gzipped (budget 500 KiB)`);
  } finally {
    await browser.close();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
