import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { Config } from '../config.js';

/** Query depth, cost, alias, token and directive limits, the same for HTTP and sockets. */
export function armorFor(config: Config) {
  return new ApolloArmor({
    maxDepth: { n: config.limits.maxDepth, ignoreIntrospection: true },
    costLimit: { maxCost: config.limits.maxCost, ignoreIntrospection: true },
    maxAliases: { n: config.limits.maxAliases },
    // Tokens are limited by graphql-js's own parser (Apollo `parseOptions`), which fails as a 400 parse error.
    maxTokens: { enabled: false },
    maxDirectives: { n: 10 },
    blockFieldSuggestion: { enabled: config.env === 'production' },
  });
}

