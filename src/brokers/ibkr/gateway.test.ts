import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/logger.js';
import { MemoryRateLimiter } from '../../lib/memory.rate-limiter.js';
import { BrokerTransientError } from '../broker.js';
import { IbkrGateway } from './gateway.js';

/**
 * The gateway's keep-alive sockets. A request sent on an idle socket just as the gateway closes it fails
 * before any answer; the ones safe to repeat go again on a new socket, an order ticket does not.
 */
describe('IbkrGateway keep-alive', () => {
  let server: http.Server | undefined;
  let gw: IbkrGateway | undefined;
  afterEach(async () => {
    gw?.close();
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  });

  /** A gateway whose sockets answer `served` requests each, then drop the next one unanswered (a close racing it). */
  async function start(opts: { served: number; keepAliveSeconds?: number }) {
    const perSocket = new Map<Socket, number>();
    const seen: Array<{ method: string; path: string; socket: number }> = [];
    const sockets: Socket[] = [];
    server = http.createServer((req, res) => {
      req.resume();
      const n = perSocket.get(req.socket) ?? 0;
      perSocket.set(req.socket, n + 1);
      if (!sockets.includes(req.socket)) sockets.push(req.socket);
      seen.push({ method: req.method!, path: req.url!.replace(/^\/v1\/api/, ''), socket: sockets.indexOf(req.socket) });
      if (n >= opts.served) return void req.socket.destroy();
      res.writeHead(200, { 'Content-Type': 'application/json', ...(opts.keepAliveSeconds ? { 'Keep-Alive': `timeout=${opts.keepAliveSeconds}` } : {}) });
      res.end(JSON.stringify({ ok: true }));
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    gw = new IbkrGateway({ baseUrl: `http://127.0.0.1:${port}/v1/api`, limiter: new MemoryRateLimiter(), logger: silentLogger, penaltyMs: 1_000 });
    return seen;
  }

  it('sends a read again on a new socket when the reused one is dropped before any answer', async () => {
    const seen = await start({ served: 1 });
    await gw!.send({ method: 'GET', path: '/iserver/accounts' });
    const res = await gw!.send({ method: 'GET', path: '/iserver/accounts' });
    expect(res.status).toBe(200);
    expect(seen.map((s) => s.socket)).toEqual([0, 0, 1]);
  });

  it('sends the session calls again too (tickle changes nothing when sent twice)', async () => {
    const seen = await start({ served: 1 });
    await gw!.send({ method: 'GET', path: '/iserver/accounts' });
    expect((await gw!.send({ method: 'POST', path: '/tickle' })).status).toBe(200);
    expect(seen.filter((s) => s.path === '/tickle').map((s) => s.socket)).toEqual([0, 1]);
  });

  it('never sends an order ticket twice: a dropped one is a transient error for the order loop to resolve by cOID', async () => {
    const seen = await start({ served: 1 });
    await gw!.send({ method: 'GET', path: '/iserver/accounts' });
    await expect(gw!.send({ method: 'POST', path: '/iserver/account/DU1/orders', json: { orders: [] } })).rejects.toBeInstanceOf(BrokerTransientError);
    expect(seen.filter((s) => s.path === '/iserver/account/DU1/orders')).toHaveLength(1);
  });

  it('does not send again when a fresh socket fails, nor more than once', async () => {
    const seen = await start({ served: 0 });
    await expect(gw!.send({ method: 'GET', path: '/iserver/accounts' })).rejects.toBeInstanceOf(BrokerTransientError);
    expect(seen).toHaveLength(1);
  });

  it('closes an idle socket a second before the gateway says it will (Keep-Alive: timeout=N)', async () => {
    const seen = await start({ served: 100, keepAliveSeconds: 2 });
    await gw!.send({ method: 'GET', path: '/iserver/accounts' });
    await gw!.send({ method: 'GET', path: '/iserver/accounts' });
    await new Promise((r) => setTimeout(r, 1_500));
    await gw!.send({ method: 'GET', path: '/iserver/accounts' });
    expect(seen.map((s) => s.socket)).toEqual([0, 0, 1]);
  });
});
