/**
 * Ports for batch scoring: data assets, jobs (with their event log), the job queue and job
 * schedules. The embedded adapters are SQLite tables (storage/sql/*.repository.ts); a
 * PostgreSQL queue (pg-boss) with separate worker processes can replace JobQueuePort without
 * touching the services. Ids are opaque strings, timestamps ISO-8601 UTC strings.
 */
import type { Page, PageRequest } from './ports.js';

// ---------------------------------------------------------------------------------------------
// Data assets: files in a space (uploaded, or written by a job).
// ---------------------------------------------------------------------------------------------

export type DataFormat = 'csv' | 'ndjson' | 'json';

/** How a CSV file is written, as detected at upload. */
export interface CsvDialect {
  delimiter: string;
  quote: string;
  /** The file starts with a UTF-8 byte order mark. */
  bom: boolean;
}

/** `pending` while a job writes it (the name is reserved), `ready` once its bytes are complete. */
export type AssetStatus = 'pending' | 'ready';

export interface DataAssetRow {
  id: string;
  spaceId: string;
  /** Unique within its space. */
  name: string;
  description: string | null;
  format: DataFormat;
  status: AssetStatus;
  size: number;
  sha256: string | null;
  /** Data rows (the CSV header excluded); null while unknown. */
  rowCount: number | null;
  /** Column names: the CSV header, or the keys of the first JSON record. */
  columns: string[] | null;
  dialect: CsvDialect | null;
  blobKey: string;
  /** The job that wrote it, for job outputs. */
  jobId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface NewDataAsset {
  id?: string;
  spaceId: string;
  name: string;
  description?: string | null;
  format: DataFormat;
  status: AssetStatus;
  size?: number;
  sha256?: string | null;
  rowCount?: number | null;
  columns?: string[] | null;
  dialect?: CsvDialect | null;
  blobKey: string;
  jobId?: string | null;
}

export interface DataAssetListQuery extends PageRequest {
  spaceId: string;
  namePrefix?: string;
}

export interface DataAssetRepository {
  /** CONFLICT when the space already has an asset of that name. */
  create(asset: NewDataAsset): Promise<DataAssetRow>;
  get(id: string): Promise<DataAssetRow | undefined>;
  getByName(spaceId: string, name: string): Promise<DataAssetRow | undefined>;
  /** Ordered by (name, id). */
  list(query: DataAssetListQuery): Promise<Page<DataAssetRow>>;
  /** The job's output is complete: size, digest and row count, status `ready`. */
  markReady(id: string, info: { size: number; sha256: string; rowCount: number; columns?: string[] | null }): Promise<DataAssetRow>;
  delete(id: string): Promise<boolean>;
}

// ---------------------------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------------------------

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'canceled';
export const JOB_STATUSES: readonly JobStatus[] = ['queued', 'running', 'completed', 'failed', 'canceled'];
export const FINISHED_JOB_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'canceled'];

export type OutputFormat = 'csv' | 'ndjson';

/** Where a job's rows come from: an uploaded asset, or an inline payload stored as NDJSON records. */
export type JobInputSpec =
  | { type: 'asset'; assetId: string; assetName: string }
  | { type: 'inline'; blobKey: string; fields: string[] };

/** What was asked for, fixed at submission. */
export interface JobSpec {
  input: JobInputSpec;
  output: { name: string; format: OutputFormat };
  /** Input columns copied to the output in front of the predictions (an id, ...). */
  carry: string[];
  probabilities: boolean;
  /** Explanation columns (SHAP values per feature and the base value); absent in jobs stored before they existed. */
  explanations?: boolean;
  chunkRows: number;
  /** Fraction of input rows that may fail validation before the job fails (0..1). */
  maxErrorRate: number;
  /** Set by the Watson ML routes: the job's name and whether its results answer GET inline. */
  wml?: { name?: string; inlineResults: boolean };
}

export interface JobRow {
  id: string;
  spaceId: string;
  deploymentId: string;
  /** Kept for history: the deployment may be deleted later. */
  deploymentName: string;
  scheduleId: string | null;
  status: JobStatus;
  spec: JobSpec;
  outputAssetId: string | null;
  /** The registry version the job scores with, pinned by its first attempt (resumes use it too). */
  modelVersionId: string | null;
  rowsTotal: number;
  /** Input records consumed by committed chunks: a resumed attempt skips these. */
  rowsRead: number;
  rowsScored: number;
  rowsFailed: number;
  chunksCommitted: number;
  /** The last chunk is committed: only the final assembly of the output remains. */
  inputDone: boolean;
  rowsPerSecond: number | null;
  /** Attempts started (1 for the first run). */
  attempt: number;
  maxAttempts: number;
  error: string | null;
  cancelRequested: boolean;
  /** When the next attempt may start (a retry after backoff). */
  retryAt: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
}

export interface NewJob {
  id?: string;
  spaceId: string;
  deploymentId: string;
  deploymentName: string;
  scheduleId?: string | null;
  spec: JobSpec;
  outputAssetId: string | null;
  rowsTotal: number;
  maxAttempts: number;
}

/** The fields a job's life changes. */
export type JobPatch = Partial<
  Pick<
    JobRow,
    | 'status'
    | 'outputAssetId'
    | 'modelVersionId'
    | 'rowsRead'
    | 'rowsScored'
    | 'rowsFailed'
    | 'chunksCommitted'
    | 'inputDone'
    | 'rowsPerSecond'
    | 'attempt'
    | 'error'
    | 'cancelRequested'
    | 'retryAt'
    | 'startedAt'
    | 'finishedAt'
  >
>;

export interface JobListQuery extends PageRequest {
  spaceId?: string;
  deploymentId?: string;
  scheduleId?: string;
  status?: JobStatus[];
}

export type JobEventLevel = 'info' | 'warn' | 'error';

export interface JobEventRow {
  jobId: string;
  seq: number;
  at: string;
  level: JobEventLevel;
  message: string;
}

export interface JobRepository {
  create(job: NewJob): Promise<JobRow>;
  get(id: string): Promise<JobRow | undefined>;
  /** Newest first: ordered by (createdAt, id) descending. */
  list(query: JobListQuery): Promise<Page<JobRow>>;
  /**
   * Applies the patch when the job's status is one of `when` (any status when omitted) and,
   * with `chunksCommitted`, the stored count is the one given: the row after, or undefined when
   * the condition did not hold (a cancel won the race, or the job is gone).
   */
  update(id: string, patch: JobPatch, when?: { status?: readonly JobStatus[]; chunksCommitted?: number }): Promise<JobRow | undefined>;
  delete(id: string): Promise<boolean>;
  /** Jobs in these statuses reading or writing the asset. */
  countUsingAsset(assetId: string, status: readonly JobStatus[]): Promise<number>;
  /** The schedule's newest job in one of these statuses. */
  findForSchedule(scheduleId: string, status: readonly JobStatus[]): Promise<JobRow | undefined>;
  addEvent(jobId: string, level: JobEventLevel, message: string): Promise<void>;
  /** Oldest first. */
  listEvents(jobId: string, query: PageRequest): Promise<Page<JobEventRow>>;
}

// ---------------------------------------------------------------------------------------------
// Queue: which job runs next. Claims are leases: a worker that dies stops renewing, and the job
// becomes claimable again when its lease runs out (or at once with releaseAll in embedded mode).
// ---------------------------------------------------------------------------------------------

export interface JobQueuePort {
  /** Adds the job (or moves its run time): claimable from `runAfter` on. */
  enqueue(jobId: string, runAfter?: string): Promise<void>;
  /** The oldest claimable job, locked for `leaseMs` by `workerId`; undefined when none. */
  claim(workerId: string, leaseMs: number): Promise<string | undefined>;
  /** Extends the lease; false when the job is no longer locked by this worker. */
  renew(jobId: string, workerId: string, leaseMs: number): Promise<boolean>;
  /** Unlocks the job for another attempt from `runAfter` on (a retry after backoff). */
  release(jobId: string, runAfter: string): Promise<void>;
  /** Takes the job off the queue (finished or canceled). */
  remove(jobId: string): Promise<void>;
  /** Unlocks every job (embedded mode at start-up: this process is the only runner). */
  releaseAll(): Promise<number>;
  /** The earliest `runAfter` among unlocked jobs, for the runner's next wake-up. */
  nextRunAfter(): Promise<string | undefined>;
}

// ---------------------------------------------------------------------------------------------
// Schedules: a cron expression and time zone that submit a job from a stored template.
// ---------------------------------------------------------------------------------------------

export type ScheduleStatus = 'active' | 'paused';

export interface ScheduleRow {
  id: string;
  spaceId: string;
  /** Unique within its space. */
  name: string;
  cron: string;
  timezone: string;
  /** The job each run submits (the POST /api/v1/jobs body, without `schedule`). */
  template: Record<string, unknown>;
  status: ScheduleStatus;
  lastJobId: string | null;
  lastRunAt: string | null;
  runs: number;
  /** Runs not started because the previous one was still going. */
  skipped: number;
  createdAt: string;
  updatedAt: string;
}

export interface NewSchedule {
  spaceId: string;
  name: string;
  cron: string;
  timezone: string;
  template: Record<string, unknown>;
  status?: ScheduleStatus;
}

export type SchedulePatch = Partial<Pick<ScheduleRow, 'status' | 'lastJobId' | 'lastRunAt' | 'runs' | 'skipped' | 'cron' | 'timezone'>>;

export interface ScheduleListQuery extends PageRequest {
  /** Every space when omitted (start-up arms every schedule). */
  spaceId?: string;
  status?: ScheduleStatus;
}

export interface ScheduleRepository {
  /** CONFLICT when the space already has a schedule of that name. */
  create(schedule: NewSchedule): Promise<ScheduleRow>;
  get(id: string): Promise<ScheduleRow | undefined>;
  getByName(spaceId: string, name: string): Promise<ScheduleRow | undefined>;
  /** Ordered by (name, id). */
  list(query: ScheduleListQuery): Promise<Page<ScheduleRow>>;
  update(id: string, patch: SchedulePatch): Promise<ScheduleRow | undefined>;
  delete(id: string): Promise<boolean>;
}

/** The batch-scoring repositories together, as app.ts hands them to the services. */
export interface JobRepositories {
  assets: DataAssetRepository;
  jobs: JobRepository;
  queue: JobQueuePort;
  schedules: ScheduleRepository;
}
