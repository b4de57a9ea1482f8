import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { Config } from '../config.js';

/** graphql-armor's cost-limit options: the cached rule here and the per-request one (query-cost.ts) use the same. */
export function costOptions(maxCost: number) {
  return { maxCost, ignoreIntrospection: true };
}

/** graphql-armor words every limit it enforces as "Syntax Error: …", though the query parsed: the limit is the news. */
export function limitMessage(message: string): string {
  return message.replace(/^Syntax Error: /, '');
}

/** Query depth, cost, alias, token and directive limits, the same for HTTP and sockets. */
export function armorFor(config: Config) {
  return new ApolloArmor({
    maxDepth: { n: config.limits.maxDepth, ignoreIntrospection: true },
    costLimit: costOptions(config.limits.maxCost),
    maxAliases: { n: config.limits.maxAliases },
    // Tokens are limited by graphql-js's own parser (Apollo `parseOptions`), which fails as a 400 parse error.
    maxTokens: { enabled: false },
    maxDirectives: { n: 10 },
    blockFieldSuggestion: { enabled: config.env === 'production' },
  });
}

