import 'reflect-metadata';
import { loadConfigOrExit, type Config, type Role } from './config.js';
import { createLogger } from './lib/logger.js';
import { runMigrations, startApp } from './app.js';
import { runCommand } from './commands.js';

const ROLES: readonly Role[] = ['all', 'api', 'worker', 'migrate'];

/**
 * Entry point. `all` (default) runs everything in one process; `api`, `worker` and `migrate` run one
 * role each (`npm start -- api`, or `node dist/main.js api`). Configured by environment only.
 */
async function main(): Promise<void> {
  const started = performance.now();
  const role = (process.argv[2] ?? 'all') as Role;
  // One-shot commands (rotate-key, import-instruments): run, print, exit.
  if (await runCommand(process.argv.slice(2))) return;
  if (!ROLES.includes(role)) {
    console.error(`Unknown role "${role}". Use one of: ${ROLES.join(', ')}`);
    process.exit(2);
  }
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel).child({ role });

  if (role === 'migrate') {
    await runMigrations(config, logger);
    return;
  }

  const app = await startApp(config, role, { logger });
  let shuttingDown = false;
  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'draining: no new requests or jobs; finishing what is in flight');
    const force = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    app.stop().then(
      () => {
        logger.info('stopped cleanly');
        process.exit(0);
      },
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  const ms = Math.round(performance.now() - started);
  if (app.http) {
    const url = `${config.publicUrl}/graphql`;
    const lines = [
      '',
      `  TradeGraph is running (${config.mode} mode, role ${role}) — ready in ${ms} ms`,
      '',
      `  Dashboard:  ${config.publicUrl}/   (open in a browser)`,
      config.exposure.graphiql ? `  GraphiQL:   ${url}` : '  GraphiQL:   off (GRAPHIQL=true serves it)',
      `  GraphQL:    POST ${url}   ·   WebSocket ${url.replace(/^http/, 'ws')}`,
      `  Health:     ${config.publicUrl}/healthz  ·  ${config.publicUrl}/readyz  ·  ${metricsWhere(config)}`,
    ];
    if (config.seedDemo) {
      lines.push(
        '',
        '  Log in with the demo user:',
        `    mutation { login(email: "${config.demo.email}", password: "${config.demo.password}") { accessToken } }`,
        '  then add the header  {"Authorization": "Bearer <accessToken>"}  in GraphiQL’s Headers tab.',
      );
    }
    lines.push('');
    process.stdout.write(lines.join('\n') + '\n');
  } else {
    logger.info({ ms }, 'worker started');
  }
}

function metricsWhere(config: Config): string {
  const e = config.exposure;
  if (e.metricsPort !== undefined) return `metrics on port ${e.metricsPort}${e.metricsToken ? ' (token)' : ''}`;
  if (e.metricsOff) return 'metrics off (METRICS_PORT or METRICS_TOKEN)';
  return `${config.publicUrl}/metrics${e.metricsToken ? ' (token)' : ''}`;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
