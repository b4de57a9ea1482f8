import express, { type Express } from 'express';
import type { Logger } from '../lib/logger.js';
import type { Services } from '../services/index.js';
import { DomainError } from '../errors.js';
import { PushRejectedError } from '../brokers/connections/push.js';

const page = (title: string, text: string) =>
  `<!doctype html><meta charset="utf-8"><title>${title}</title><body style="font-family:sans-serif;margin:3em"><h1>${title}</h1><p>${text}</p></body>`;
const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The broker-facing HTTP endpoints: `GET /brokers/<name>/callback` finishes a redirect login (the
 * `state` names the connection); `POST /brokers/<name>/postback` takes a broker's push. Neither ever
 * echoes a token or secret, in the page or the log.
 */
export function mountBrokerRoutes(app: Express, deps: { services: Services; logger: Logger }): void {
  const { services, logger } = deps;
  app.get('/brokers/:name/callback', async (req, res) => {
    const query = Object.fromEntries(Object.entries(req.query).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v]] : [])));
    try {
      const c = await services.brokerConnections.callback(req.params.name, query);
      res.status(200).type('html').send(page('Broker connected', `Your ${escape(c.broker)} account ${escape(c.accountId ?? '')} is connected. You can close this window.`));
    } catch (err) {
      const known = err instanceof DomainError;
      if (!known) logger.error({ err: { name: (err as Error).name, message: (err as Error).message }, broker: req.params.name }, 'broker callback failed');
      res.status(known ? 400 : 500).type('html').send(page('Broker connection failed', known ? escape(err.message) : 'Something went wrong; start the connection again.'));
    }
  });
  app.post('/brokers/:name/postback', express.json({ limit: '64kb' }), async (req, res) => {
    try {
      const n = await services.brokerPush.receive(req.params.name, req.body, req.headers);
      if (n < 0) return void res.status(404).json({ status: 'error', message: 'no such broker push endpoint' });
      res.status(200).json({ status: 'success', orders: n });
    } catch (err) {
      if (err instanceof PushRejectedError) {
        logger.warn({ broker: req.params.name, reason: err.message }, 'broker push refused');
        return void res.status(401).json({ status: 'error', message: 'push refused' });
      }
      logger.error({ err: { name: (err as Error).name, message: (err as Error).message }, broker: req.params.name }, 'broker push failed');
      res.status(500).json({ status: 'error', message: 'push failed; it will be found by polling' });
    }
  });
}
