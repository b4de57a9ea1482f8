import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { Config } from '../config.js';
import type { Logger } from '../lib/logger.js';
import type { Metrics } from './metrics.js';
import type { Services } from '../services/index.js';
import type { GqlContext } from '../resolvers/context.js';
import { makeFormatError } from './errors.js';
import { ErrorCode, RateLimitedError } from '../errors.js';
import { Door } from './door.js';
import { SocketSessions } from './socket-sessions.js';
import { guardInput } from './input-guard.js';
import { BoundedDocumentStore } from './document-store.js';
import { armorFor } from './limits.js';
import { checkQueryCost } from './query-cost.js';
import { contextFor, principalFrom } from './auth-context.js';
import { attachGraphqlWs } from './ws.js';
import { mountOps } from './ops.js';
import { mountBrokerRoutes } from './broker-routes.js';
import { jitGateway } from './jit-executor.js';

export interface HttpServerDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  schema: GraphQLSchema;
  services: Services;
  /** Readiness checks by name; each throws when its dependency is down. */
  readiness: Record<string, () => Promise<void>>;
  /** Serves GraphiQL to browsers on GET /graphql (falls through otherwise). */
  graphiql?: RequestHandler | express.Router;
  /** Serves the dashboard at GET / (and its assets under /app/assets). */
  web?: RequestHandler | express.Router;
  /** Milliseconds since the epoch (token expiry on sockets); Date.now by default. */
  now?: () => number;
}

export interface RunningHttpServer {
  url: string;
  port: number;
  /** The rate limits and subscription caps every operation passes (HTTP and sockets). */
  door: Door;
  /** Stop accepting, finish in-flight requests, close sockets. */
  close(): Promise<void>;
}

/** Express + Apollo Server 5 + graphql-ws on one port and path, with health, readiness and metrics. */
export async function startHttpServer(deps: HttpServerDeps): Promise<RunningHttpServer> {
  const { config, logger, metrics, services } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  const httpServer = http.createServer(app);
  // Idle keep-alive connections stay open 65 s (Node's default is 5 s). A client that reuses a connection
  // just as the server closes it gets ECONNRESET with its request unsent: for a placeOrder, an outcome it
  // cannot know until it retries. 65 s outlasts the 60 s idle timeout of common load balancers, so the
  // balancer closes first; headersTimeout must be longer than keepAliveTimeout.
  httpServer.keepAliveTimeout = 65_000;
  httpServer.headersTimeout = 66_000;
  const formatError = makeFormatError(logger);
  const armor = armorFor(config).protect();

  const door = new Door({ rateLimiter: services.rateLimiter, limits: config.limits });
  const sessions = new SocketSessions({ pubsub: services.pubsub, logger, now: deps.now ?? Date.now, accessTokenTtlMs: config.accessTokenTtlSeconds * 1000 });
  await sessions.start();
  const ws = attachGraphqlWs({ httpServer, schema: deps.schema, services, logger, metrics, config, formatError, door, sessions });

  const apollo = new ApolloServer<GqlContext>({
    // Apollo takes a custom executor only as a gateway (jit-executor.ts).
    ...(config.graphqlExecutor === 'jit' ? { gateway: jitGateway(deps.schema) } : { schema: deps.schema }),
    formatError,
    includeStacktraceInErrorResponses: false,
    allowBatchedHttpRequests: false,
    // main.ts owns SIGTERM/SIGINT and drains every part in order; Apollo must not race it with its own.
    stopOnTerminationSignals: false,
    introspection: config.exposure.introspection,
    documentStore: new BoundedDocumentStore(),
    validationRules: armor.validationRules,
    parseOptions: { maxTokens: config.limits.maxTokens },
    plugins: [
      ...(armor.plugins as ApolloServerPlugin<GqlContext>[]),
      inputGuardPlugin(config) as ApolloServerPlugin<GqlContext>,
      ApolloServerPluginDrainHttpServer({ httpServer }) as ApolloServerPlugin<GqlContext>,
      ApolloServerPluginLandingPageDisabled() as ApolloServerPlugin<GqlContext>,
      // No cache hints are used; Apollo's default cache-control plugin would wrap every field resolver.
      ApolloServerPluginCacheControlDisabled() as ApolloServerPlugin<GqlContext>,
      {
        async serverWillStart() {
          return {
            drainServer: async () => {
              await ws.dispose();
              await sessions.stop();
            },
          };
        },
        async requestDidStart() {
          return {
            async willSendResponse(rc) {
              const type = rc.operation?.operation ?? 'unknown';
              const outcome = rc.errors?.length ? 'error' : 'ok';
              metrics.graphqlOperations.inc({ type, outcome });
            },
          };
        },
      },
    ],
  });
  await apollo.start();

  app.use(metrics.httpMiddleware());
  mountOps(app, {
    logger,
    metrics,
    readiness: deps.readiness,
    metricsAccess: { elsewhere: config.exposure.metricsPort !== undefined || config.exposure.metricsOff, token: config.exposure.metricsToken },
  });
  mountBrokerRoutes(app, { services, logger });
  if (deps.graphiql) app.use(deps.graphiql);
  if (deps.web) app.use(deps.web);
  app.use(
    '/graphql',
    express.json({ limit: config.limits.bodyLimit }),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        let principal = await principalFrom(services, req.headers.authorization);
        // A token of a login revoked by logout is refused at once, as on sockets.
        if (principal && principal !== 'invalid' && sessions.isRevoked(principal.sessionId)) principal = 'invalid';
        try {
          await door.admit(principal === 'invalid' ? null : principal, req.ip);
        } catch (err) {
          if (!(err instanceof RateLimitedError)) throw err;
          // The status and header travel in `http`; the boundary (errors.ts) reports the domain error inside.
          throw new GraphQLError(err.message, {
            originalError: err,
            extensions: { code: ErrorCode.RATE_LIMITED, http: { status: 429, headers: new Map([['retry-after', String(Math.ceil(err.retryAfterMs / 1000))]]) } },
          });
        }
        return contextFor(services, principal);
      },
    }),
  );
  // A body over the limit (or malformed JSON) gets a GraphQL-shaped error, not an HTML page.
  app.use(((err, _req, res, next) => {
    if (res.headersSent) return next(err);
    const status = typeof err?.status === 'number' ? err.status : 500;
    if (status >= 500) logger.error({ err }, 'http error');
    const code = status === 413 ? 'PAYLOAD_TOO_LARGE' : status < 500 ? 'BAD_REQUEST' : ErrorCode.INTERNAL_SERVER_ERROR;
    const message = status === 413 ? `Request body exceeds ${config.limits.bodyLimit}` : status < 500 ? 'Malformed request' : 'Internal server error';
    res.status(status).json({ errors: [{ message, extensions: { code } }] });
  }) as express.ErrorRequestHandler);

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => resolve());
  });
  const port = (httpServer.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    door,
    close: async () => {
      // Apollo's drain plugin stops accepting, closes idle keep-alive sockets and waits for in-flight requests.
      await apollo.stop();
    },
  };
}

/** The input guard (input-guard.ts) on HTTP, once the operation is known and before it executes. */
function inputGuardPlugin(config: Config): ApolloServerPlugin<GqlContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation(rc) {
          if (!rc.operation) return;
          const bad =
            guardInput(rc.schema, rc.document, rc.operation, rc.request.variables, { maxStringLength: config.limits.maxStringLength }) ??
            checkQueryCost(rc.schema, rc.document, rc.operation, rc.request.variables, config.limits.maxCost);
          if (bad) throw bad;
        },
      };
    },
  };
}
