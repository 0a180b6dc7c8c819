import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { JobQueuePort } from '../storage/job-ports.js';
import { AttemptStopped, type AttemptControl, type JobExecutor } from './job-executor.js';
import type { JobSettings } from './job-settings.js';

/**
 * The embedded queue runner: claims due jobs from the queue (up to `concurrency` at a time) and
 * runs each attempt through the executor, renewing its lease while it runs. Start it after the
 * deployments are restored; stop it before the database closes. At start it releases every lock
 * (this process is the only runner of its data directory), so jobs a killed process left
 * `running` resume from their last committed chunk.
 */
export class JobRunner {
  private readonly workerId = `embedded-${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly running = new Map<string, { control: AttemptControl; done: Promise<void> }>();
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private ticking = false;
  private again = false;

  constructor(
    private readonly queue: JobQueuePort,
    private readonly executor: JobExecutor,
    private readonly settings: JobSettings,
    private readonly log: FastifyBaseLogger,
  ) {}

  async start(): Promise<void> {
    const released = await this.queue.releaseAll();
    if (released > 0) this.log.info({ jobs: released }, 'resuming jobs a previous run left unfinished');
    this.stopped = false;
    this.renewTimer = setInterval(() => void this.renew(), Math.max(1000, Math.floor(this.settings.leaseMs / 3)));
    this.renewTimer.unref();
    this.wake();
  }

  /** Looks for due jobs now (a job was submitted). */
  wake(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), 0);
  }

  /** Stops a running attempt of the job (canceled); false when it is not running here. */
  async cancel(jobId: string): Promise<boolean> {
    const entry = this.running.get(jobId);
    if (!entry) return false;
    entry.control.stopped ??= new AttemptStopped('canceled');
    await entry.control.host?.terminate(entry.control.stopped);
    await entry.done;
    return true;
  }

  /** Stops claiming, stops the running workers (their jobs resume at the next start) and waits for them. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.renewTimer);
    const pending = [...this.running.values()];
    for (const { control } of pending) {
      control.stopped ??= new AttemptStopped('shutdown');
      await control.host?.terminate(control.stopped).catch(() => undefined);
    }
    await Promise.all(pending.map((p) => p.done));
  }

  get active(): number {
    return this.running.size;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    this.ticking = true;
    try {
      while (!this.stopped && this.running.size < this.settings.concurrency) {
        const jobId = await this.queue.claim(this.workerId, this.settings.leaseMs);
        if (!jobId) break;
        if (this.running.has(jobId)) continue;
        this.launch(jobId);
      }
    } catch (err) {
      this.log.error({ err }, 'job queue poll failed');
    } finally {
      this.ticking = false;
    }
    if (this.stopped) return;
    if (this.again) {
      this.again = false;
      this.wake();
      return;
    }
    this.timer = setTimeout(() => void this.tick(), this.settings.pollMs);
    this.timer.unref();
  }

  private launch(jobId: string): void {
    const control: AttemptControl = {};
    const done = this.executor
      .attempt(jobId, control)
      .catch((err: unknown) => this.log.error({ err, jobId }, 'job attempt crashed'))
      .finally(() => {
        this.running.delete(jobId);
        this.wake();
      });
    this.running.set(jobId, { control, done });
  }

  private async renew(): Promise<void> {
    for (const jobId of this.running.keys()) {
      await this.queue.renew(jobId, this.workerId, this.settings.leaseMs).catch((err: unknown) => this.log.warn({ err, jobId }, 'job lease renewal failed'));
    }
  }
}
