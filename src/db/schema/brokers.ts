import { index, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, updatedAt } from './common.js';
import { users } from './users.js';

/** A user's link to a broker account. Credentials are AES-256-GCM sealed and never returned by the API. */
export const brokerConnections = pgTable(
  'broker_connections',
  {
    id: id(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    broker: text('broker').notNull(),
    accountId: text('account_id').notNull(),
    credentialsSealed: text('credentials_sealed'),
    status: text('status').notNull().default('ACTIVE'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('broker_connections_user_idx').on(t.userId)],
);
