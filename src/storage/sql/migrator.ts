import { Migrator, type Kysely, type Migration, type MigrationResultSet } from 'kysely';
import { registry0001 } from './migrations/0001-registry.js';
import { auth0002 } from './migrations/0002-auth.js';
import { jobs0003 } from './migrations/0003-jobs.js';
import { audit0004 } from './migrations/0004-audit.js';

/**
 * Every migration, in order. A static list rather than a folder scan: it works the same from
 * src/ under tsx and from dist/, and a bundler cannot drop a file nobody imports.
 * Names sort in the order they must run; append, never rename or edit.
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '0001-registry': registry0001,
  '0002-auth': auth0002,
  '0003-jobs': jobs0003,
  '0004-audit': audit0004,
});

/**
 * Applies every pending migration. Kysely records applied ones in kysely_migration, so this is
 * a no-op on an up-to-date database. Throws (naming the migration) when one fails.
 */
export async function migrateToLatest(db: Kysely<any>, migrations: Readonly<Record<string, Migration>> = MIGRATIONS): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => ({ ...migrations }) } });
  const { error, results }: MigrationResultSet = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`database migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
