import type { Kysely, Migration } from 'kysely';

/**
 * The audit log: one row per security-relevant event (sign-ins, token issues, credential and
 * registry changes). Append-only; nothing secret is ever written to it (details are filtered by
 * AuditService). Standard SQL types only, like 0001-0003, so PostgreSQL runs it unchanged.
 */
export const audit0004: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('audit_events')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('at', 'varchar(32)', (c) => c.notNull())
      .addColumn('action', 'varchar(64)', (c) => c.notNull())
      // The user (or, for token requests, the client id) who acted; null when unknown or auth is off.
      .addColumn('actor', 'varchar(200)')
      .addColumn('target', 'varchar(400)')
      .addColumn('outcome', 'varchar(16)', (c) => c.notNull())
      .addColumn('remote_address', 'varchar(64)')
      // JSON object, or null.
      .addColumn('details', 'text')
      .execute();
    // Newest first, and the filters the API offers (each ordered by time for the keyset cursor).
    await db.schema.createIndex('audit_events_at_idx').on('audit_events').columns(['at', 'id']).execute();
    await db.schema.createIndex('audit_events_action_idx').on('audit_events').columns(['action', 'at', 'id']).execute();
    await db.schema.createIndex('audit_events_actor_idx').on('audit_events').columns(['actor', 'at', 'id']).execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('audit_events').ifExists().execute();
  },
};
