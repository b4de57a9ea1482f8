import type http from 'node:http';
import { GraphQLError, parse, validate, specifiedRules, getOperationAST, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import type { Config } from '../config.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from './metrics.js';
import type { Services } from '../services/index.js';
import type { Principal } from '../auth/tokens.js';
import { createLoaders } from '../resolvers/loaders.js';
import type { GqlContext } from '../resolvers/context.js';
import { armorFor } from './limits.js';
import { principalFrom } from './auth-context.js';
import { UnauthenticatedError } from '../errors.js';

type SocketExtra = {
  principal?: Principal;
};

/**
 * graphql-ws on the same HTTP server and path. The socket authenticates once in `connection_init`
 * (`connectionParams.authorization = "Bearer <token>"`); a missing or bad token closes it with 4403.
 * Subscriptions get the same limits (tokens, depth, cost, aliases) as HTTP operations.
 */
export function attachGraphqlWs(opts: {
  httpServer: http.Server;
  schema: GraphQLSchema;
  services: Services;
  logger: Logger;
  metrics: Metrics;
  config: Config;
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
}): { dispose(): Promise<void> } {
  const { schema, services, logger, metrics, config, formatError } = opts;
  const wss = new WebSocketServer({ server: opts.httpServer, path: '/graphql', maxPayload: 64 * 1024 });
  const rules = [...specifiedRules, ...armorFor(config).protect().validationRules];

  const server = useServer<Record<string, unknown> | undefined, SocketExtra>(
    {
      schema,
      onConnect: async (ctx) => {
        const raw = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const principal = await principalFrom(services, typeof raw === 'string' ? raw : null);
        if (!principal || principal === 'invalid') return false; // graphql-ws closes with 4403 Forbidden
        ctx.extra.principal = principal;
        metrics.wsConnections.inc();
        return true;
      },
      onDisconnect: () => {
        metrics.wsConnections.dec();
      },
      onSubscribe: async (ctx, _id, payload) => {
        let document;
        try {
          document = parse(payload.query, { maxTokens: config.limits.maxTokens });
        } catch (err) {
          return [err instanceof GraphQLError ? err : new GraphQLError('Could not parse the operation')];
        }
        const errors = validate(schema, document, rules);
        if (errors.length) return errors;
        const op = getOperationAST(document, payload.operationName);
        if (!op) return [new GraphQLError('Operation not found', { extensions: { code: 'BAD_USER_INPUT' } })];
        const principal = ctx.extra.principal ?? null;
        // A revoked API key stops at once: every new operation on its socket re-checks it.
        if (principal?.apiKeyId && !(await services.apiKeys.isActive(principal.apiKeyId))) {
          return [new GraphQLError('API key revoked', { originalError: new UnauthenticatedError('API key revoked') })];
        }
        const contextValue: GqlContext = { principal, services, loaders: createLoaders(services) };
        return { schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue };
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
