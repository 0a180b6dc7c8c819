import { sql, type Kysely } from 'kysely';
import type { JobQueuePort } from '../job-ports.js';
import { nowIso } from './json-column.js';
import type { Database } from './schema.js';

const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();

/**
 * The embedded job queue: one row per waiting or running job in SQLite. A claim is one
 * conditional UPDATE (the first unlocked, due job whose lease is free), so two runners never
 * take the same job; a lease that is not renewed expires and the job can be claimed again.
 */
export class SqlJobQueue implements JobQueuePort {
  constructor(private readonly db: Kysely<Database>) {}

  async enqueue(jobId: string, runAfter: string = nowIso()): Promise<void> {
    await this.db
      .insertInto('job_queue')
      .values({ job_id: jobId, run_after: runAfter, enqueued_at: nowIso(), locked_by: null, locked_until: null })
      .onConflict((oc) => oc.column('job_id').doUpdateSet({ run_after: runAfter, locked_by: null, locked_until: null }))
      .execute();
  }

  async claim(workerId: string, leaseMs: number): Promise<string | undefined> {
    const now = nowIso();
    const row = await sql<{ job_id: string }>`
      update job_queue set locked_by = ${workerId}, locked_until = ${inMs(leaseMs)}
      where job_id = (
        select job_id from job_queue
        where run_after <= ${now} and (locked_until is null or locked_until < ${now})
        order by run_after, enqueued_at limit 1
      )
      and (locked_until is null or locked_until < ${now})
      returning job_id`.execute(this.db);
    return row.rows[0]?.job_id;
  }

  async renew(jobId: string, workerId: string, leaseMs: number): Promise<boolean> {
    const r = await this.db
      .updateTable('job_queue')
      .set({ locked_until: inMs(leaseMs) })
      .where('job_id', '=', jobId)
      .where('locked_by', '=', workerId)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  async release(jobId: string, runAfter: string): Promise<void> {
    await this.db.updateTable('job_queue').set({ run_after: runAfter, locked_by: null, locked_until: null }).where('job_id', '=', jobId).execute();
  }

  async remove(jobId: string): Promise<void> {
    await this.db.deleteFrom('job_queue').where('job_id', '=', jobId).execute();
  }

  async releaseAll(): Promise<number> {
    const r = await this.db.updateTable('job_queue').set({ locked_by: null, locked_until: null }).where('locked_by', 'is not', null).executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async nextRunAfter(): Promise<string | undefined> {
    const r = await this.db.selectFrom('job_queue').select('run_after').where('locked_by', 'is', null).orderBy('run_after').limit(1).executeTakeFirst();
    return r?.run_after;
  }
}
