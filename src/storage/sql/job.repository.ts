import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable, type SqlBool } from 'kysely';
import type { JobEventLevel, JobEventRow, JobListQuery, JobPatch, JobRepository, JobRow, JobSpec, JobStatus, NewJob } from '../job-ports.js';
import type { Page, PageRequest } from '../ports.js';
import { notFound } from '../storage.errors.js';
import { fromJson, nowIso, patchColumns, toJson } from './json-column.js';
import { checkLimit, decodeCursor, toPage } from './pagination.js';
import type { Database, JobsTable } from './schema.js';
import { isForeignKeyViolation } from './sql-errors.js';

const toJob = (r: Selectable<JobsTable>): JobRow => ({
  id: r.id,
  spaceId: r.space_id,
  deploymentId: r.deployment_id,
  deploymentName: r.deployment_name,
  scheduleId: r.schedule_id,
  status: r.status as JobStatus,
  spec: fromJson<JobSpec>(r.spec)!,
  outputAssetId: r.output_asset_id,
  modelVersionId: r.model_version_id,
  rowsTotal: Number(r.rows_total),
  rowsRead: Number(r.rows_read),
  rowsScored: Number(r.rows_scored),
  rowsFailed: Number(r.rows_failed),
  chunksCommitted: Number(r.chunks_committed),
  inputDone: Number(r.input_done) === 1,
  rowsPerSecond: r.rows_per_second === null ? null : Number(r.rows_per_second),
  attempt: Number(r.attempt),
  maxAttempts: Number(r.max_attempts),
  error: r.error,
  cancelRequested: Number(r.cancel_requested) === 1,
  retryAt: r.retry_at,
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  updatedAt: r.updated_at,
});

/** JobPatch field -> column. */
const COLUMNS: Record<keyof JobPatch, keyof JobsTable> = {
  status: 'status',
  outputAssetId: 'output_asset_id',
  modelVersionId: 'model_version_id',
  rowsRead: 'rows_read',
  rowsScored: 'rows_scored',
  rowsFailed: 'rows_failed',
  chunksCommitted: 'chunks_committed',
  inputDone: 'input_done',
  rowsPerSecond: 'rows_per_second',
  attempt: 'attempt',
  error: 'error',
  cancelRequested: 'cancel_requested',
  retryAt: 'retry_at',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
};

export class SqlJobRepository implements JobRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(job: NewJob): Promise<JobRow> {
    const now = nowIso();
    const row: Selectable<JobsTable> = {
      id: job.id ?? randomUUID(),
      space_id: job.spaceId,
      deployment_id: job.deploymentId,
      deployment_name: job.deploymentName,
      schedule_id: job.scheduleId ?? null,
      status: 'queued',
      spec: toJson(job.spec),
      input_asset_id: job.spec.input.type === 'asset' ? job.spec.input.assetId : null,
      output_asset_id: job.outputAssetId,
      model_version_id: null,
      rows_total: job.rowsTotal,
      rows_read: 0,
      rows_scored: 0,
      rows_failed: 0,
      chunks_committed: 0,
      input_done: 0,
      rows_per_second: null,
      attempt: 0,
      max_attempts: job.maxAttempts,
      error: null,
      cancel_requested: 0,
      retry_at: null,
      created_at: now,
      started_at: null,
      finished_at: null,
      updated_at: now,
    };
    try {
      await this.db.insertInto('jobs').values(row).execute();
    } catch (err) {
      if (isForeignKeyViolation(err)) throw notFound('space', job.spaceId);
      throw err;
    }
    return toJob(row);
  }

  async get(id: string): Promise<JobRow | undefined> {
    const r = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toJob(r);
  }

  async list(query: JobListQuery): Promise<Page<JobRow>> {
    const limit = checkLimit(query.limit);
    let q = this.db.selectFrom('jobs').selectAll();
    if (query.spaceId !== undefined) q = q.where('space_id', '=', query.spaceId);
    if (query.deploymentId !== undefined) q = q.where('deployment_id', '=', query.deploymentId);
    if (query.scheduleId !== undefined) q = q.where('schedule_id', '=', query.scheduleId);
    if (query.status?.length) q = q.where('status', 'in', query.status);
    if (query.cursor) {
      const [created, id] = decodeCursor<[string, string]>(query.cursor, ['s', 's']);
      q = q.where(sql<SqlBool>`(created_at < ${created} or (created_at = ${created} and id < ${id}))`);
    }
    const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute();
    return toPage(rows, limit, toJob, (r) => [r.created_at, r.id]);
  }

  async update(id: string, patch: JobPatch, when: { status?: readonly JobStatus[]; chunksCommitted?: number } = {}): Promise<JobRow | undefined> {
    let q = this.db.updateTable('jobs').set(patchColumns(patch, COLUMNS)).where('id', '=', id);
    if (when.status) q = q.where('status', 'in', [...when.status]);
    if (when.chunksCommitted !== undefined) q = q.where('chunks_committed', '=', when.chunksCommitted);
    const result = await q.executeTakeFirst();
    if (result.numUpdatedRows === 0n) return undefined;
    return this.get(id);
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('jobs').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async countUsingAsset(assetId: string, status: readonly JobStatus[]): Promise<number> {
    const r = await this.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where((eb) => eb.or([eb('input_asset_id', '=', assetId), eb('output_asset_id', '=', assetId)]))
      .where('status', 'in', [...status])
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async findForSchedule(scheduleId: string, status: readonly JobStatus[]): Promise<JobRow | undefined> {
    const r = await this.db
      .selectFrom('jobs')
      .selectAll()
      .where('schedule_id', '=', scheduleId)
      .where('status', 'in', [...status])
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r && toJob(r);
  }

  async addEvent(jobId: string, level: JobEventLevel, message: string): Promise<void> {
    // One statement: the next seq is computed inside the insert, so concurrent writers cannot collide.
    await sql`insert into job_events (job_id, seq, at, level, message)
      select ${jobId}, coalesce(max(seq), 0) + 1, ${nowIso()}, ${level}, ${message} from job_events where job_id = ${jobId}`.execute(this.db);
  }

  async listEvents(jobId: string, query: PageRequest): Promise<Page<JobEventRow>> {
    const limit = checkLimit(query.limit);
    let q = this.db.selectFrom('job_events').selectAll().where('job_id', '=', jobId);
    if (query.cursor) {
      const [seq] = decodeCursor<[number]>(query.cursor, ['n']);
      q = q.where('seq', '>', seq);
    }
    const rows = await q.orderBy('seq').limit(limit + 1).execute();
    return toPage(
      rows,
      limit,
      (r) => ({ jobId: r.job_id, seq: Number(r.seq), at: r.at, level: r.level as JobEventLevel, message: r.message }),
      (r) => [Number(r.seq)],
    );
  }
}
