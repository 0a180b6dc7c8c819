import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { PlinthError, printable } from '../../core/errors.js';
import type { NewSchedule, ScheduleListQuery, SchedulePatch, ScheduleRepository, ScheduleRow, ScheduleStatus } from '../job-ports.js';
import type { Page } from '../ports.js';
import { notFound } from '../storage.errors.js';
import { fromJson, nowIso, patchColumns, toJson } from './json-column.js';
import { afterNameCursor, checkLimit, toPage } from './pagination.js';
import type { Database, JobSchedulesTable } from './schema.js';
import { isForeignKeyViolation, isUniqueViolation } from './sql-errors.js';

const toSchedule = (r: Selectable<JobSchedulesTable>): ScheduleRow => ({
  id: r.id,
  spaceId: r.space_id,
  name: r.name,
  cron: r.cron,
  timezone: r.timezone,
  template: fromJson<Record<string, unknown>>(r.template) ?? {},
  status: r.status as ScheduleStatus,
  lastJobId: r.last_job_id,
  lastRunAt: r.last_run_at,
  runs: Number(r.runs),
  skipped: Number(r.skipped),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const COLUMNS: Record<keyof SchedulePatch, keyof JobSchedulesTable> = {
  status: 'status',
  lastJobId: 'last_job_id',
  lastRunAt: 'last_run_at',
  runs: 'runs',
  skipped: 'skipped',
  cron: 'cron',
  timezone: 'timezone',
};

export class SqlScheduleRepository implements ScheduleRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(schedule: NewSchedule): Promise<ScheduleRow> {
    const now = nowIso();
    const row: Selectable<JobSchedulesTable> = {
      id: randomUUID(),
      space_id: schedule.spaceId,
      name: schedule.name,
      cron: schedule.cron,
      timezone: schedule.timezone,
      template: toJson(schedule.template),
      status: schedule.status ?? 'active',
      last_job_id: null,
      last_run_at: null,
      runs: 0,
      skipped: 0,
      created_at: now,
      updated_at: now,
    };
    try {
      await this.db.insertInto('job_schedules').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new PlinthError('CONFLICT', `schedule '${printable(schedule.name)}' already exists in this space`);
      if (isForeignKeyViolation(err)) throw notFound('space', schedule.spaceId);
      throw err;
    }
    return toSchedule(row);
  }

  async get(id: string): Promise<ScheduleRow | undefined> {
    const r = await this.db.selectFrom('job_schedules').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toSchedule(r);
  }

  async getByName(spaceId: string, name: string): Promise<ScheduleRow | undefined> {
    const r = await this.db.selectFrom('job_schedules').selectAll().where('space_id', '=', spaceId).where('name', '=', name).executeTakeFirst();
    return r && toSchedule(r);
  }

  async list(query: ScheduleListQuery): Promise<Page<ScheduleRow>> {
    const limit = checkLimit(query.limit);
    let q = this.db.selectFrom('job_schedules').selectAll();
    if (query.spaceId !== undefined) q = q.where('space_id', '=', query.spaceId);
    if (query.status !== undefined) q = q.where('status', '=', query.status);
    if (query.cursor) q = q.where(afterNameCursor(query.cursor));
    const rows = await q.orderBy('name').orderBy('id').limit(limit + 1).execute();
    return toPage(rows, limit, toSchedule, (r) => [r.name, r.id]);
  }

  async update(id: string, patch: SchedulePatch): Promise<ScheduleRow | undefined> {
    const r = await this.db.updateTable('job_schedules').set(patchColumns(patch, COLUMNS)).where('id', '=', id).executeTakeFirst();
    return r.numUpdatedRows === 0n ? undefined : this.get(id);
  }

  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('job_schedules').where('id', '=', id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }
}
