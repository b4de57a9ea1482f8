/**
 * GraphiQL in a real browser: the page our server serves at GET /graphql renders from our own bundle,
 * never reaches outside the server's origin, runs a query over HTTP, and runs a subscription over
 * graphql-ws (authenticated with the token typed into the Headers tab, as a user would).
 *
 * Needs Chromium (CHROMIUM_PATH, default /usr/bin/chromium; `apt-get install chromium`). Without it the
 * suite fails: a browser test that silently skips proves nothing.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page, type WebSocket } from 'playwright-core';
import { startTestServer } from './support/server.js';

const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Set to a file path to keep a screenshot of the page after the subscription ran (debugging aid). */
const SCREENSHOT_PATH = process.env.GRAPHIQL_SCREENSHOT;

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** CodeMirror 5 keeps its editor object on the wrapper element; GraphiQL 4's editors are CodeMirror 5. */
type CodeMirrorElement = HTMLElement & {
  CodeMirror: { getValue(): string; setValue(value: string): void };
};

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

const QUERY_EDITOR = '.graphiql-query-editor .CodeMirror';
const HEADERS_EDITOR = '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror';
const RESPONSE_EDITOR = '.graphiql-response .CodeMirror';
const RUN_BUTTON = '.graphiql-execute-button';

async function setEditor(page: Page, selector: string, value: string): Promise<void> {
  await page.locator(selector).first().evaluate((el, v) => (el as CodeMirrorElement).CodeMirror.setValue(v), value);
}

async function editorValue(page: Page, selector: string): Promise<string> {
  return page.locator(selector).first().evaluate((el) => (el as CodeMirrorElement).CodeMirror.getValue());
}

/**
 * Replaces the query and waits until GraphiQL has parsed it: the editor re-parses 100 ms after an edit and
 * only then knows the operation's type (a subscription goes over graphql-ws, anything else over HTTP).
 * The active tab is titled after the operation name once that parse has happened.
 */
async function setQuery(page: Page, operationName: string, query: string): Promise<void> {
  await setEditor(page, QUERY_EDITOR, query);
  await page.locator('.graphiql-tab-active', { hasText: operationName }).waitFor({ timeout: 10_000 });
}

/**
 * Clicks the run button once it is a plain button: while the editor held several operations (the
 * pre-filled content) GraphiQL renders it as a menu of operations, and it re-renders shortly after an edit.
 */
async function clickRun(page: Page): Promise<void> {
  await page.locator(`${RUN_BUTTON}:not([aria-haspopup])`).click({ timeout: 10_000 });
}

/** Waits until the response pane's text satisfies `accept`, and returns that text. */
async function waitForResponse(page: Page, accept: (text: string) => boolean, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = await editorValue(page, RESPONSE_EDITOR);
    if (accept(last)) return last;
    await page.waitForTimeout(100);
  }
  throw new Error(`GraphiQL's response pane never showed the expected result; it shows:\n${last}`);
}

/** Parses one graphql-ws frame as Playwright reports it (text frames only). */
function parseFrame(payload: string | Buffer): { type?: string; payload?: Record<string, unknown> } {
  try {
    return JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch {
    return {};
  }
}

describe('GraphiQL served at GET /graphql', () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let origin: string;
  let wsOrigin: string;
  const requested: string[] = [];
  const sockets: WebSocket[] = [];
  const framesSent: string[] = [];
  const framesReceived: string[] = [];
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM_PATH)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM_PATH}: install it (apt-get install chromium) or set CHROMIUM_PATH. ` +
          'This browser test does not skip.',
      );
    }
    server = await startTestServer();
    origin = new URL(server.url).origin;
    wsOrigin = origin.replace(/^http/, 'ws');
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    // Context level, so requests from workers or popups would be seen too.
    context.on('request', (req) => requested.push(req.url()));
    page = await context.newPage();
    page.on('websocket', (ws) => {
      sockets.push(ws);
      ws.on('framesent', (f) => framesSent.push(typeof f.payload === 'string' ? f.payload : f.payload.toString('utf8')));
      ws.on('framereceived', (f) => framesReceived.push(typeof f.payload === 'string' ? f.payload : f.payload.toString('utf8')));
    });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('answers a browser with a self-contained page and everything else with GraphQL', async () => {
    const html = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = html.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    const body = await html.text();
    expect(body).toContain('id="graphiql"');
    // No CDN, no web fonts: every URL on the page is relative to this server (data: URIs are inline).
    expect(body.match(/(?:src|href)="(?!\/|data:)[^"]*"/g)).toBeNull();

    const script = body.match(/src="([^"]*graphiql\.js[^"]*)"/)?.[1];
    expect(script).toBeDefined();
    const js = await fetch(`${server.url}${script}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect((await js.text()).length).toBeGreaterThan(10_000);

    // A GraphQL client (curl-like Accept) on the same URL reaches Apollo, not the page.
    const api = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
    });
    expect(api.headers.get('content-type')).toMatch(/json/);
    expect(await api.json()).toMatchObject({ data: { __typename: 'Query' } });
  });

  it('renders GraphiQL, runs a query and a graphql-ws subscription without leaving the origin', { timeout: 90_000 }, async () => {
    await page.goto(`${server.url}/graphql`, { waitUntil: 'load' });
    await page.locator(QUERY_EDITOR).first().waitFor({ state: 'visible', timeout: 20_000 });
    await page.locator(HEADERS_EDITOR).first().waitFor({ state: 'visible', timeout: 10_000 });
    // The pre-filled content teaches how to log in and where the token goes.
    expect(await editorValue(page, QUERY_EDITOR)).toContain('login(');
    expect(await editorValue(page, HEADERS_EDITOR)).toMatch(/"Authorization":\s*"Bearer "/);

    // 1. A query over HTTP, with the pre-filled (token-less) Authorization header left in place.
    await setQuery(page, 'Typename', 'query Typename { __typename }');
    await clickRun(page);
    const typename = await waitForResponse(page, (t) => t.includes('"__typename"'), 15_000);
    expect(JSON.parse(typename)).toEqual({ data: { __typename: 'Query' } });

    // 2. Log in as a user of our own, the way the page tells a person to: run a mutation, copy the token.
    const email = `graphiql-${randomUUID()}@example.com`;
    await setQuery(
      page,
      'Register',
      `mutation Register { register(email: "${email}", password: "graphiql-password-123") { accessToken } }`,
    );
    await clickRun(page);
    const registered = JSON.parse(await waitForResponse(page, (t) => t.includes('accessToken') || t.includes('"errors"'), 15_000));
    const token: unknown = registered?.data?.register?.accessToken;
    expect(typeof token, `register failed: ${JSON.stringify(registered)}`).toBe('string');
    await setEditor(page, HEADERS_EDITOR, JSON.stringify({ Authorization: `Bearer ${token}` }));

    // 3. A subscription: GraphiQL opens a graphql-ws socket to this origin and shows live events.
    await setQuery(page, 'AaplQuotes', 'subscription AaplQuotes { quotes(symbols: ["AAPL"]) { symbol last } }');
    await clickRun(page);
    const event = await waitForResponse(page, (t) => t.includes('"AAPL"'), 30_000);
    expect(JSON.parse(event)).toMatchObject({ data: { quotes: { symbol: 'AAPL' } } });

    expect(sockets.map((s) => s.url())).toContain(`${wsOrigin}/graphql`);
    const init = framesSent.map(parseFrame).find((f) => f.type === 'connection_init');
    expect(init?.payload).toEqual({ authorization: `Bearer ${token}` });
    expect(framesReceived.map(parseFrame).some((f) => f.type === 'next')).toBe(true);

    if (SCREENSHOT_PATH) await page.screenshot({ path: SCREENSHOT_PATH });
    // Stop the subscription (the run button toggles) so the socket winds down before the server closes.
    await clickRun(page);

    // Nothing went anywhere but this server: no CDN, no fonts, no telemetry.
    expect(requested.length).toBeGreaterThan(2);
    const outside = requested.filter((u) => !u.startsWith('data:') && new URL(u).origin !== origin);
    expect(outside).toEqual([]);
    const outsideSockets = sockets.map((s) => s.url()).filter((u) => new URL(u).origin !== wsOrigin);
    expect(outsideSockets).toEqual([]);
    // The Content-Security-Policy let the page do everything it needed.
    expect(consoleErrors.filter((m) => /Content Security Policy/i.test(m))).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
