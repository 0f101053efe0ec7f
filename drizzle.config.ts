import { defineConfig } from 'drizzle-kit';

// Generates SQL migrations from the schema (`npm run db:generate`). The same SQL is applied to
// PGlite and PostgreSQL by server/db/open-database.ts at start.
export default defineConfig({
  dialect: 'postgresql',
  schema: './server/db/schema.ts',
  out: './server/db/migrations',
});
