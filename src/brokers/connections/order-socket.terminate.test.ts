import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { terminateQuietly } from './order-socket.js';

/**
 * A socket dropped while its handshake is still in flight: `ws` reports "closed before the connection was
 * established" as an 'error' event, which with no listener left would be an uncaught exception in
 * whatever process was closing (it failed a CI run when the app closed during a Kite stream's connect).
 */
describe('terminateQuietly', () => {
  let server: Server | undefined;
  const held: Socket[] = [];
  afterEach(async () => {
    for (const s of held.splice(0)) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it('drops a socket still connecting without an unhandled error', async () => {
    // Accepts TCP connections and never answers the HTTP upgrade: the client stays CONNECTING.
    server = createServer((s) => void held.push(s));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    ws.on('error', () => undefined); // the owner's handler, removed by terminateQuietly
    await new Promise((r) => setTimeout(r, 50));
    expect(ws.readyState).toBe(WebSocket.CONNECTING);
    const errorsBefore = ws.listenerCount('error');
    expect(errorsBefore).toBe(1);
    terminateQuietly(ws);
    // The 'error' and 'close' of the aborted handshake come on the next tick; an unhandled one would throw.
    await new Promise((r) => ws.once('close', r));
    expect(ws.readyState).toBe(WebSocket.CLOSED);
  });
});
