import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import { GraphQLError, parse, validate, specifiedRules, getOperationAST, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { WebSocketServer, type WebSocket } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import type { Config } from '../config.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from './metrics.js';
import type { Services } from '../services/index.js';
import type { Principal } from '../auth/tokens.js';
import { createLoaders } from '../resolvers/loaders.js';
import type { GqlContext } from '../resolvers/context.js';
import { DomainError, ErrorCode } from '../errors.js';
import { armorFor } from './limits.js';
import { checkQueryCost } from './query-cost.js';
import { principalFrom } from './auth-context.js';
import type { Door } from './door.js';
import { guardInput } from './input-guard.js';
import { SocketCloseCode, type SocketSessions } from './socket-sessions.js';
import { introspectionRules } from './exposure.js';
import { UnauthenticatedError } from '../errors.js';
import { sharedSubscribe } from './shared-execution.js';
import { attachFrameSink } from './frame-fanout.js';
import { ValidatedDocuments } from './validated-documents.js';

type SocketExtra = {
  socket: WebSocket;
  request: http.IncomingMessage;
  principal?: Principal;
  socketId?: string;
  /** Live subscriptions on this socket and how to release each from the per-user count. */
  live?: Map<string, () => void>;
  untrack?: () => void;
};

/**
 * graphql-ws on the same HTTP server and path. The socket authenticates once in `connection_init`
 * (`connectionParams.authorization = "Bearer <token>"`); a missing, bad or revoked token closes it
 * with 4403; it closes with 4401 when its access token expires and 4403 when its login is revoked.
 * Every operation on it passes the same door as HTTP: the same rate-limit bucket, input guard and
 * limits (tokens, depth, cost, aliases); subscriptions are also capped per socket and per user.
 */
export function attachGraphqlWs(opts: {
  httpServer: http.Server;
  schema: GraphQLSchema;
  services: Services;
  logger: Logger;
  metrics: Metrics;
  config: Config;
  door: Door;
  sessions: SocketSessions;
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
}): { dispose(): Promise<void> } {
  const { schema, services, logger, metrics, config, formatError, door, sessions } = opts;
  const wss = new WebSocketServer({ server: opts.httpServer, path: '/graphql', maxPayload: 64 * 1024 });
  const rules = [...specifiedRules, ...armorFor(config).protect().validationRules, ...introspectionRules(config)];
  // Parsed and validated once per operation text: 10,000 subscribers of one query share one AST.
  const documents = new ValidatedDocuments((query) => {
    const document = parse(query, { maxTokens: config.limits.maxTokens });
    return { document, errors: validate(schema, document, rules) };
  });
  const refuse = (err: unknown): readonly GraphQLError[] => {
    if (err instanceof DomainError) return [new GraphQLError(err.message, { originalError: err })];
    throw err;
  };

  const server = useServer<Record<string, unknown> | undefined, SocketExtra>(
    {
      schema,
      // Quote subscriptions: one execution per tick per selection, shared by every subscriber (shared-execution.ts).
      subscribe: sharedSubscribe,
      onConnect: async (ctx) => {
        const raw = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const principal = await principalFrom(services, typeof raw === 'string' ? raw : null);
        if (!principal || principal === 'invalid') return false; // graphql-ws closes with 4403 Forbidden
        if (principal.sessionId && (await services.auth.isSessionRevoked(principal.sessionId))) return false;
        ctx.extra.principal = principal;
        ctx.extra.socketId = randomUUID();
        ctx.extra.live = new Map();
        const socket = ctx.extra.socket;
        ctx.extra.untrack = sessions.track(principal, (code, reason) => {
          if (socket.readyState === socket.OPEN) socket.close(code, reason);
        });
        metrics.wsConnections.inc();
        return true;
      },
      onDisconnect: () => {
        metrics.wsConnections.dec();
      },
      onClose: (ctx) => {
        ctx.extra.untrack?.();
        for (const release of ctx.extra.live?.values() ?? []) release();
        ctx.extra.live?.clear();
      },
      onSubscribe: async (ctx, id, payload) => {
        const principal = ctx.extra.principal!;
        if (sessions.expired(principal)) {
          // The timer may not have fired yet: never run an operation on an expired token.
          ctx.extra.socket.close(SocketCloseCode.TokenExpired, 'Token expired');
          return [new GraphQLError('Access token expired', { extensions: { code: ErrorCode.UNAUTHENTICATED } })];
        }
        if (sessions.isRevoked(principal.sessionId)) {
          ctx.extra.socket.close(SocketCloseCode.Forbidden, 'Session revoked');
          return [new GraphQLError('Session revoked', { extensions: { code: ErrorCode.UNAUTHENTICATED } })];
        }
        try {
          await door.admit(principal, clientAddress(ctx.extra.request));
        } catch (err) {
          return refuse(err);
        }
        let parsed;
        try {
          parsed = documents.get(payload.query);
        } catch (err) {
          return [err instanceof GraphQLError ? err : new GraphQLError('Could not parse the operation')];
        }
        if (parsed.errors.length) return [...parsed.errors];
        const document = parsed.document;
        const op = getOperationAST(document, payload.operationName);
        if (!op) return [new GraphQLError('Operation not found', { extensions: { code: ErrorCode.BAD_USER_INPUT } })];
        // A revoked API key stops at once: every new operation on its socket re-checks it.
        if (principal.apiKeyId && !(await services.apiKeys.isActive(principal.apiKeyId))) {
          return [new GraphQLError('API key revoked', { originalError: new UnauthenticatedError('API key revoked') })];
        }
        const bad =
          guardInput(schema, document, op, payload.variables, { maxStringLength: config.limits.maxStringLength }) ??
          checkQueryCost(schema, document, op, payload.variables, config.limits.maxCost);
        if (bad) return [bad];
        if (op.operation === 'subscription') {
          const live = ctx.extra.live!;
          let release: () => void;
          try {
            release = door.reserveSubscription(principal, live.size);
          } catch (err) {
            return refuse(err);
          }
          // Counted on the socket in the same synchronous step as the check, before any await: subscribes
          // sent in a burst see each other's slots, so no more than the caps are ever live.
          live.set(id, release);
          try {
            await door.chargeSubscribe(ctx.extra.socketId!);
          } catch (err) {
            release();
            if (live.get(id) === release) live.delete(id);
            return refuse(err);
          }
        }
        // Loaders made on first use: a quote subscription never needs them, and 10,000 of them would hold 60,000 DataLoaders.
        let loaders: GqlContext['loaders'] | undefined;
        const contextValue: GqlContext = {
          principal,
          services,
          get loaders() {
            return (loaders ??= createLoaders(services));
          },
        };
        // Shared quote events skip graphql-ws's per-subscriber send path (frame-fanout.ts).
        if (op.operation === 'subscription') attachFrameSink(contextValue, { socket: ctx.extra.socket, id, formatError });
        return { schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue };
      },
      onComplete: (ctx, id) => {
        ctx.extra.live?.get(id)?.();
        ctx.extra.live?.delete(id);
      },
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!result.errors?.length) return;
        return { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) };
      },
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => formatError(e.toJSON(), e)),
    },
    wss,
  );
  wss.on('error', (err) => logger.error({ err }, 'websocket server error'));

  return {
    async dispose() {
      // Tell clients we are going away (1001) so they reconnect to another replica; then stop.
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      await server.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** The client's address as express computes it with `trust proxy: loopback`. */
export function clientAddress(req: http.IncomingMessage): string | undefined {
  const remote = req.socket.remoteAddress;
  const forwarded = req.headers['x-forwarded-for'];
  if (remote && isLoopback(remote) && typeof forwarded === 'string' && forwarded.trim()) {
    const hops = forwarded.split(',').map((h) => h.trim()).filter(Boolean);
    // The last hop not added by a trusted (loopback) proxy.
    for (let i = hops.length - 1; i >= 0; i--) if (!isLoopback(hops[i])) return hops[i];
  }
  return remote;
}

function isLoopback(a: string): boolean {
  return a === '::1' || a.startsWith('127.') || a.startsWith('::ffff:127.');
}
