import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Users, console sessions, OAuth2 clients, API keys, token signing keys and revoked tokens.
 * Secrets are never stored: only SHA-256 digests (sessions, client secrets, API keys) or argon2id
 * hashes (passwords). Standard SQL types only, like 0001, so PostgreSQL runs it unchanged.
 */
export const auth0002: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('users')
      // The name is the key: space_members (0001) refers to users by name.
      .addColumn('name', 'varchar(200)', (c) => c.primaryKey())
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .addCheckConstraint('users_is_admin_check', sql`is_admin in (0, 1)`)
      .execute();

    await db.schema
      .createTable('sessions')
      .addColumn('id_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('user_name', 'varchar(200)', (c) => c.notNull().references('users.name').onDelete('cascade'))
      .addColumn('csrf_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('sessions_expires_idx').on('sessions').column('expires_at').execute();

    await db.schema
      .createTable('oauth_clients')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('owner', 'varchar(200)', (c) => c.notNull().references('users.name').onDelete('cascade'))
      .addColumn('name', 'varchar(200)', (c) => c.notNull())
      .addColumn('secret_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('expires_at', 'varchar(32)')
      .addColumn('secret_rotated_at', 'varchar(32)')
      .execute();
    await db.schema.createIndex('oauth_clients_owner_idx').on('oauth_clients').columns(['owner', 'created_at']).execute();

    await db.schema
      .createTable('api_keys')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('prefix', 'varchar(32)', (c) => c.notNull().unique())
      .addColumn('owner', 'varchar(200)', (c) => c.notNull().references('users.name').onDelete('cascade'))
      .addColumn('space_id', 'varchar(64)', (c) => c.notNull().references('spaces.id').onDelete('cascade'))
      .addColumn('name', 'varchar(200)', (c) => c.notNull())
      .addColumn('secret_hash', 'varchar(64)', (c) => c.notNull())
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('last_used_at', 'varchar(32)')
      .execute();
    await db.schema.createIndex('api_keys_owner_idx').on('api_keys').columns(['owner', 'created_at']).execute();

    await db.schema
      .createTable('signing_keys')
      .addColumn('kid', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('alg', 'varchar(16)', (c) => c.notNull())
      .addColumn('private_jwk', 'text', (c) => c.notNull())
      .addColumn('public_jwk', 'text', (c) => c.notNull())
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      // Null while the key signs; set when a newer key takes over.
      .addColumn('retired_at', 'varchar(32)')
      // When the last token it signed has expired: the key leaves the JWKS and is deleted then.
      .addColumn('expires_at', 'varchar(32)')
      .execute();
    await db.schema.createIndex('signing_keys_created_idx').on('signing_keys').column('created_at').execute();

    await db.schema
      .createTable('revoked_tokens')
      .addColumn('jti', 'varchar(64)', (c) => c.primaryKey())
      // The token's own expiry: after it, the row is useless (the token fails on exp) and is pruned.
      .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('revoked_at', 'varchar(32)', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('revoked_tokens_expires_idx').on('revoked_tokens').column('expires_at').execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['revoked_tokens', 'signing_keys', 'api_keys', 'oauth_clients', 'sessions', 'users']) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
};
