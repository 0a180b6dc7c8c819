import { sql, type Kysely, type Migration } from 'kysely';

/**
 * The registry tables. Written with Kysely's schema builder and standard SQL types only, so the
 * same migration runs on PostgreSQL. Never edit a migration that has shipped: add the next one.
 */
export const registry0001: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('spaces')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('name', 'varchar(200)', (c) => c.notNull().unique())
      .addColumn('description', 'text')
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('space_members')
      .addColumn('space_id', 'varchar(64)', (c) => c.notNull().references('spaces.id').onDelete('cascade'))
      // "user" is reserved in PostgreSQL.
      .addColumn('user_name', 'varchar(200)', (c) => c.notNull())
      .addColumn('role', 'varchar(16)', (c) => c.notNull())
      .addPrimaryKeyConstraint('space_members_pk', ['space_id', 'user_name'])
      .addCheckConstraint('space_members_role_check', sql`role in ('admin', 'editor', 'viewer')`)
      .execute();
    await db.schema.createIndex('space_members_user_idx').on('space_members').column('user_name').execute();

    await db.schema
      .createTable('models')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      // Restrict: a space is emptied by the service before it is deleted.
      .addColumn('space_id', 'varchar(64)', (c) => c.notNull().references('spaces.id').onDelete('restrict'))
      .addColumn('name', 'varchar(200)', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('tags', 'text', (c) => c.notNull())
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('revision', 'integer', (c) => c.notNull())
      // The last version number handed out: numbers are never reused, even after a delete.
      .addColumn('version_seq', 'integer', (c) => c.notNull().defaultTo(0))
      // Also the index behind listing a space's models by name.
      .addUniqueConstraint('models_space_name_unique', ['space_id', 'name'])
      .execute();

    await db.schema
      .createTable('model_tags')
      .addColumn('model_id', 'varchar(64)', (c) => c.notNull().references('models.id').onDelete('cascade'))
      .addColumn('tag', 'varchar(200)', (c) => c.notNull())
      .addPrimaryKeyConstraint('model_tags_pk', ['model_id', 'tag'])
      .execute();
    await db.schema.createIndex('model_tags_tag_idx').on('model_tags').columns(['tag', 'model_id']).execute();

    await db.schema
      .createTable('model_versions')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('model_id', 'varchar(64)', (c) => c.notNull().references('models.id').onDelete('cascade'))
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('sha256', 'varchar(64)', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('blob_key', 'varchar(1024)', (c) => c.notNull())
      .addColumn('signature', 'text')
      .addColumn('manifest', 'text')
      .addColumn('metrics', 'text', (c) => c.notNull())
      .addColumn('tags', 'text', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      // The guarantee behind "two concurrent uploads never get the same number".
      .addUniqueConstraint('model_versions_model_version_unique', ['model_id', 'version'])
      .addCheckConstraint('model_versions_status_check', sql`status in ('pending', 'ready', 'failed')`)
      .execute();
    await db.schema.createIndex('model_versions_sha256_idx').on('model_versions').columns(['model_id', 'sha256']).execute();

    await db.schema
      .createTable('aliases')
      .addColumn('model_id', 'varchar(64)', (c) => c.notNull().references('models.id').onDelete('cascade'))
      .addColumn('name', 'varchar(200)', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
      .addPrimaryKeyConstraint('aliases_pk', ['model_id', 'name'])
      .execute();
    await db.schema.createIndex('aliases_version_idx').on('aliases').columns(['model_id', 'version']).execute();

    await db.schema
      .createTable('deployments')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('space_id', 'varchar(64)', (c) => c.notNull().references('spaces.id').onDelete('restrict'))
      .addColumn('name', 'varchar(200)', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('kind', 'varchar(16)', (c) => c.notNull())
      // Restrict: the database itself refuses to delete a model a deployment serves.
      .addColumn('model_id', 'varchar(64)', (c) => c.notNull().references('models.id').onDelete('restrict'))
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('auth_mode', 'varchar(16)', (c) => c.notNull())
      .addColumn('runtime', 'text', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('revision', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
      .addUniqueConstraint('deployments_space_name_unique', ['space_id', 'name'])
      .addCheckConstraint('deployments_kind_check', sql`kind in ('online', 'batch')`)
      .addCheckConstraint('deployments_auth_mode_check', sql`auth_mode in ('public', 'token')`)
      .addCheckConstraint('deployments_status_check', sql`status in ('initializing', 'ready', 'failed')`)
      .execute();
    await db.schema.createIndex('deployments_model_idx').on('deployments').column('model_id').execute();
    await db.schema.createIndex('deployments_name_idx').on('deployments').columns(['name', 'id']).execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['deployments', 'aliases', 'model_versions', 'model_tags', 'models', 'space_members', 'spaces']) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
};
