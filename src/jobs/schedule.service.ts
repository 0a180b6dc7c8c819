import { Cron } from 'croner';
import type { FastifyBaseLogger } from 'fastify';
import { invalidInput, PlinthError, printable } from '../core/errors.js';
import { assertName } from '../core/model-name.js';
import type { ModelRegistryService } from '../registry/model-registry.service.js';
import { DEFAULT_SPACE } from '../registry/registry-names.js';
import type { JobRepositories, ScheduleRow } from '../storage/job-ports.js';
import type { Page } from '../storage/ports.js';
import type { JobService, SubmitJobInput } from './job.service.js';

export interface CreateScheduleInput {
  space?: string;
  name: string;
  /** 5 fields (minute first) or 6 (seconds first), as croner reads them. */
  cron: string;
  /** IANA time zone; UTC when omitted. */
  timezone?: string;
  /** The job each run submits. Its output name gets `-{timestamp}` unless it has a placeholder. */
  job: SubmitJobInput;
  paused?: boolean;
}

function checkCron(cron: unknown, timezone: unknown): Cron {
  if (typeof cron !== 'string' || cron.trim() === '' || cron.length > 200) throw invalidInput('cron must be a cron expression such as "0 2 * * *"');
  if (typeof timezone !== 'string' || timezone.length > 100) throw invalidInput('timezone must be an IANA time zone such as "Europe/Paris"');
  try {
    Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    throw invalidInput(`timezone '${printable(timezone, 60)}' is not an IANA time zone such as "Europe/Paris"`);
  }
  try {
    return new Cron(cron, { timezone, paused: true });
  } catch (err) {
    throw invalidInput(`cron '${printable(cron, 60)}' is not valid: ${(err as Error).message}`);
  }
}

/** Scheduled runs write to new files: `scores.csv` becomes `scores-{timestamp}.csv`. */
function runOutputName(job: SubmitJobInput, scheduleName: string): string {
  const name = job.output?.name ?? `${scheduleName}.${job.output?.format === 'ndjson' ? 'ndjson' : 'csv'}`;
  if (name.includes('{')) return name;
  const dot = name.lastIndexOf('.');
  return dot > 0 ? `${name.slice(0, dot)}-{timestamp}${name.slice(dot)}` : `${name}-{timestamp}`;
}

/**
 * Job schedules: a cron expression in a time zone (croner) submits the stored job template;
 * each run is a job of its own (GET /api/v1/jobs?schedule=ID is the history). A run is skipped
 * (and counted) while the schedule's previous job is still queued or running, so runs never
 * overlap. Runs missed while the server was down are not made up.
 */
export class ScheduleService {
  private readonly timers = new Map<string, Cron>();

  constructor(
    private readonly repos: JobRepositories,
    private readonly registry: ModelRegistryService,
    private readonly jobs: JobService,
    private readonly log: FastifyBaseLogger,
  ) {}

  async create(input: CreateScheduleInput): Promise<ScheduleRow> {
    if (input === null || typeof input !== 'object') throw invalidInput('the schedule must be an object');
    assertName('schedule', input.name, 'name: ');
    const timezone = input.timezone ?? 'UTC';
    checkCron(input.cron, timezone).stop();
    if (input.job === null || typeof input.job !== 'object') throw invalidInput('job must be the job each run submits (as POST /api/v1/jobs takes it)');
    const space = await this.registry.getSpace(input.space ?? DEFAULT_SPACE);
    const template: SubmitJobInput = { ...input.job, space: space.name, output: { ...input.job.output, name: runOutputName(input.job, input.name) } };
    await this.jobs.validate(template);
    const row = await this.repos.schedules.create({
      spaceId: space.id,
      name: input.name,
      cron: input.cron,
      timezone,
      template: template as unknown as Record<string, unknown>,
      status: input.paused ? 'paused' : 'active',
    });
    this.arm(row);
    return row;
  }

  /** By id or by name, inside the space only (another space's schedule is "does not exist", as a missing one). */
  async get(idOrName: string, spaceName: string = DEFAULT_SPACE): Promise<ScheduleRow> {
    const space = await this.registry.getSpace(spaceName);
    const byId = await this.repos.schedules.get(idOrName);
    if (byId && byId.spaceId === space.id) return byId;
    const byName = await this.repos.schedules.getByName(space.id, idOrName);
    if (!byName) throw new PlinthError('NOT_FOUND', `schedule '${printable(idOrName)}' does not exist`);
    return byName;
  }

  async list(spaceName: string | undefined, page: { limit?: number; cursor?: string }): Promise<Page<ScheduleRow>> {
    const space = await this.registry.getSpace(spaceName ?? DEFAULT_SPACE);
    return this.repos.schedules.list({ spaceId: space.id, limit: page.limit ?? 100, cursor: page.cursor });
  }

  async pause(row: ScheduleRow): Promise<ScheduleRow> {
    const updated = (await this.repos.schedules.update(row.id, { status: 'paused' }))!;
    this.timers.get(row.id)?.pause();
    return updated;
  }

  async resume(row: ScheduleRow): Promise<ScheduleRow> {
    const updated = (await this.repos.schedules.update(row.id, { status: 'active' }))!;
    const timer = this.timers.get(row.id);
    if (timer) timer.resume();
    else this.arm(updated);
    return updated;
  }

  async delete(row: ScheduleRow): Promise<void> {
    this.timers.get(row.id)?.stop();
    this.timers.delete(row.id);
    await this.repos.schedules.delete(row.id);
  }

  /** When the schedule runs next (null while paused). */
  nextRun(row: ScheduleRow): string | null {
    if (row.status === 'paused') return null;
    return this.timers.get(row.id)?.nextRun()?.toISOString() ?? null;
  }

  /** Arms every stored schedule (at start-up). */
  async restoreAll(): Promise<void> {
    let cursor: string | undefined;
    do {
      const page = await this.repos.schedules.list({ limit: 1000, cursor });
      for (const row of page.items) this.arm(row);
      cursor = page.nextCursor;
    } while (cursor);
  }

  stopAll(): void {
    for (const timer of this.timers.values()) timer.stop();
    this.timers.clear();
  }

  private arm(row: ScheduleRow): void {
    this.timers.get(row.id)?.stop();
    const timer = new Cron(row.cron, { timezone: row.timezone, paused: row.status === 'paused', protect: true, unref: true }, () => this.fire(row.id));
    this.timers.set(row.id, timer);
  }

  /** One tick: a job from the template, unless the previous run is still going. */
  async fire(scheduleId: string): Promise<void> {
    try {
      const row = await this.repos.schedules.get(scheduleId);
      if (!row || row.status !== 'active') return;
      const active = await this.repos.jobs.findForSchedule(row.id, ['queued', 'running']);
      if (active) {
        await this.repos.schedules.update(row.id, { skipped: row.skipped + 1 });
        this.log.info({ schedule: row.name, job: active.id }, 'scheduled run skipped: the previous run is still going');
        return;
      }
      const job = await this.jobs.submit(row.template as unknown as SubmitJobInput, { scheduleId: row.id });
      await this.repos.schedules.update(row.id, { lastJobId: job.id, lastRunAt: job.createdAt, runs: row.runs + 1 });
    } catch (err) {
      this.log.warn({ err, scheduleId }, 'scheduled run could not be submitted');
    }
  }
}
