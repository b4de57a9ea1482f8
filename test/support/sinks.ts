import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { verifySignature } from '../../src/notifications/webhook.signature.js';

export interface ReceivedHook {
  path: string;
  body: { id: string; type: string; createdAt: string; data: Record<string, unknown> };
  raw: string;
  signature: string;
  attempt: string | undefined;
}

/**
 * A webhook receiver on 127.0.0.1. `failFirst(path, n)` answers 500 to the first n requests on a path
 * (`always` for every one). `verify(secret, hook)` checks the signature the way a customer would.
 */
export async function startWebhookReceiver() {
  const received: ReceivedHook[] = [];
  const failures = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '/';
      received.push({ path, raw, body: JSON.parse(raw), signature: String(req.headers['x-tradegraph-signature'] ?? ''), attempt: req.headers['x-tradegraph-attempt'] as string | undefined });
      const left = failures.get(path) ?? 0;
      if (left > 0) {
        failures.set(path, left - 1);
        res.statusCode = 500;
        res.end('try again');
        return;
      }
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    received,
    at: (path: string) => received.filter((r) => r.path === path),
    failFirst: (path: string, n: number) => failures.set(path, n),
    verify: (secret: string, h: ReceivedHook) => verifySignature(secret, h.signature, h.raw, Math.floor(Date.now() / 1000)),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

/** An SMTP server on 127.0.0.1 that keeps every message (no TLS, no auth: a test sink). */
export async function startSmtpSink() {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as AddressInfo).port;
  return { url: `smtp://127.0.0.1:${port}`, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}
