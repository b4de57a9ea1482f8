import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  // The domain schema, plus the tables each broker keeps for itself (the paper exchange's book).
  schema: ['./src/db/schema/index.ts', './src/brokers/*/*.schema.ts'],
  out: './drizzle',
});
