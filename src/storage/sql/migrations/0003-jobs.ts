import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Batch scoring: data assets, jobs with their event log, the embedded job queue, and schedules.
 * Standard SQL types only, like 0001 and 0002, so PostgreSQL runs it unchanged.
 */
export const jobs0003: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('data_assets')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      // Restrict: a space holding files is emptied first, like one holding models.
      .addColumn('space_id', 'varchar(64)', (c) => c.notNull().references('spaces.id').onDelete('restrict'))
      .addColumn('name', 'varchar(200)', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('format', 'varchar(16)', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('sha256', 'varchar(64)')
      .addColumn('row_count', 'bigint')
      .addColumn('columns', 'text')
      .addColumn('dialect', 'text')
      .addColumn('blob_key', 'varchar(1024)', (c) => c.notNull())
      .addColumn('job_id', 'varchar(64)')
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
      .addUniqueConstraint('data_assets_space_name_unique', ['space_id', 'name'])
      .addCheckConstraint('data_assets_format_check', sql`format in ('csv', 'ndjson', 'json')`)
      .addCheckConstraint('data_assets_status_check', sql`status in ('pending', 'ready')`)
      .execute();

    await db.schema
      .createTable('job_schedules')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('space_id', 'varchar(64)', (c) => c.notNull().references('spaces.id').onDelete('restrict'))
      .addColumn('name', 'varchar(200)', (c) => c.notNull())
      .addColumn('cron', 'varchar(200)', (c) => c.notNull())
      .addColumn('timezone', 'varchar(100)', (c) => c.notNull())
      .addColumn('template', 'text', (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('last_job_id', 'varchar(64)')
      .addColumn('last_run_at', 'varchar(32)')
      .addColumn('runs', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('skipped', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
      .addUniqueConstraint('job_schedules_space_name_unique', ['space_id', 'name'])
      .addCheckConstraint('job_schedules_status_check', sql`status in ('active', 'paused')`)
      .execute();

    await db.schema
      .createTable('jobs')
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      // Job history goes with its space.
      .addColumn('space_id', 'varchar(64)', (c) => c.notNull().references('spaces.id').onDelete('cascade'))
      // No foreign key: a job outlives its deployment, schedule and assets as history.
      .addColumn('deployment_id', 'varchar(64)', (c) => c.notNull())
      .addColumn('deployment_name', 'varchar(200)', (c) => c.notNull())
      .addColumn('schedule_id', 'varchar(64)')
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('spec', 'text', (c) => c.notNull())
      .addColumn('input_asset_id', 'varchar(64)')
      .addColumn('output_asset_id', 'varchar(64)')
      .addColumn('model_version_id', 'varchar(64)')
      .addColumn('rows_total', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('rows_read', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('rows_scored', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('rows_failed', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('chunks_committed', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('input_done', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('rows_per_second', 'double precision')
      .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('max_attempts', 'integer', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('retry_at', 'varchar(32)')
      .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('started_at', 'varchar(32)')
      .addColumn('finished_at', 'varchar(32)')
      .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
      .addCheckConstraint('jobs_status_check', sql`status in ('queued', 'running', 'completed', 'failed', 'canceled')`)
      .execute();
    await db.schema.createIndex('jobs_space_created_idx').on('jobs').columns(['space_id', 'created_at', 'id']).execute();
    await db.schema.createIndex('jobs_created_idx').on('jobs').columns(['created_at', 'id']).execute();
    await db.schema.createIndex('jobs_schedule_idx').on('jobs').columns(['schedule_id', 'created_at']).execute();
    await db.schema.createIndex('jobs_deployment_idx').on('jobs').columns(['deployment_id', 'created_at']).execute();
    await db.schema.createIndex('jobs_input_asset_idx').on('jobs').column('input_asset_id').execute();
    await db.schema.createIndex('jobs_output_asset_idx').on('jobs').column('output_asset_id').execute();

    await db.schema
      .createTable('job_events')
      .addColumn('job_id', 'varchar(64)', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('at', 'varchar(32)', (c) => c.notNull())
      .addColumn('level', 'varchar(8)', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('job_events_pk', ['job_id', 'seq'])
      .execute();

    await db.schema
      .createTable('job_queue')
      .addColumn('job_id', 'varchar(64)', (c) => c.primaryKey().references('jobs.id').onDelete('cascade'))
      .addColumn('run_after', 'varchar(32)', (c) => c.notNull())
      .addColumn('enqueued_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('locked_by', 'varchar(100)')
      .addColumn('locked_until', 'varchar(32)')
      .execute();
    await db.schema.createIndex('job_queue_run_after_idx').on('job_queue').columns(['run_after', 'enqueued_at']).execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['job_queue', 'job_events', 'jobs', 'job_schedules', 'data_assets']) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
};
