import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { invalidInput, PlinthError, printable } from '../core/errors.js';
import type { DeploymentService } from '../registry/deployment.service.js';
import type { ModelRegistryService } from '../registry/model-registry.service.js';
import { DEFAULT_SPACE } from '../registry/registry-names.js';
import type { DataAssetRow, JobInputSpec, JobRepositories, JobRow, JobSpec, JobStatus, OutputFormat } from '../storage/job-ports.js';
import { FINISHED_JOB_STATUSES, JOB_STATUSES } from '../storage/job-ports.js';
import type { BlobStorePort, DeploymentRow, Page, PageRequest } from '../storage/ports.js';
import { BatchExplainability } from './batch-explainability.js';
import type { BatchModel, BatchModelResolver } from './batch-model.resolver.js';
import { missingColumns, predictionColumns } from './chunk-scorer.js';
import type { DataAssetService } from './data-asset.service.js';
import { clashesWithExplanations } from './explanation-columns.js';
import { assertAssetName } from './data-asset.service.js';
import type { JobExecutor } from './job-executor.js';
import { deleteParts, errorsKey, inlineInputKey } from './job-parts.js';
import type { JobRunner } from './job-runner.js';
import type { JobSettings } from './job-settings.js';

/** A Watson ML `input_data` entry: values by `fields` (the model's feature order when absent). */
export interface InputDataEntry {
  fields?: string[];
  values: unknown[][];
}

export interface SubmitJobInput {
  /** The caller's space (`default` when omitted): the deployment, the input asset and the output are found and written there only. */
  space?: string;
  /** Deployment id or name. */
  deployment: string;
  input: { asset?: string; inputData?: InputDataEntry[] };
  output?: { name?: string; format?: OutputFormat };
  carry?: string[];
  probabilities?: boolean;
  explanations?: boolean;
  chunkRows?: number;
  maxErrorRate?: number;
  maxAttempts?: number;
}

export interface SubmitOrigin {
  scheduleId?: string;
  wml?: JobSpec['wml'];
}

export interface JobListFilter {
  space?: string;
  deployment?: string;
  schedule?: string;
  status?: JobStatus[];
  limit?: number;
  cursor?: string;
}

const RESERVED = new Set(['prediction', 'probabilities']);
const MAX_CHUNK_ROWS = 100_000;
const MAX_ATTEMPTS = 20;

/** Output name placeholders: {jobId}, {date} (UTC yyyy-mm-dd), {timestamp} (UTC yyyymmddThhmmss). */
export function expandOutputName(template: string, jobId: string, at = new Date()): string {
  const iso = at.toISOString();
  return template
    .replaceAll('{jobId}', jobId)
    .replaceAll('{date}', iso.slice(0, 10))
    .replaceAll('{timestamp}', iso.slice(0, 19).replace(/[-:]/g, ''));
}

const finished = (status: JobStatus) => FINISHED_JOB_STATUSES.includes(status);

/**
 * Batch jobs: submission (validated against the deployment's model before anything is queued:
 * an unknown deployment, a missing input column, a bad carry column are 4xx at once), reading,
 * listing, cancelling and deleting. The runner does the work; see job-executor.ts.
 */
export class JobService {
  private readonly explainability: BatchExplainability;

  constructor(
    private readonly repos: JobRepositories,
    private readonly deployments: DeploymentService,
    private readonly assets: DataAssetService,
    private readonly models: BatchModelResolver,
    private readonly blobs: BlobStorePort,
    private readonly runner: JobRunner,
    private readonly executor: JobExecutor,
    private readonly settings: JobSettings,
    private readonly registry: ModelRegistryService,
  ) {
    this.explainability = new BatchExplainability((model) => this.models.modelFile(model));
  }

  /** Validates, reserves the output asset, stores the job and queues it. */
  async submit(input: SubmitJobInput, origin: SubmitOrigin = {}): Promise<JobRow> {
    const plan = await this.plan(input);
    const id = randomUUID();
    const outputName = expandOutputName(plan.outputName ?? `${plan.deployment.name}-{jobId}.${plan.format === 'csv' ? 'csv' : 'ndjson'}`, id);
    assertAssetName(outputName);
    const output = await this.repos.assets.create({
      spaceId: plan.deployment.spaceId,
      name: outputName,
      format: plan.format,
      status: 'pending',
      blobKey: `assets/${randomUUID()}`,
      jobId: id,
      columns: plan.outputColumns,
      dialect: plan.format === 'csv' ? { delimiter: ',', quote: '"', bom: false } : null,
    });
    try {
      let inputSpec: JobInputSpec;
      if (plan.asset) inputSpec = { type: 'asset', assetId: plan.asset.id, assetName: plan.asset.name };
      else {
        const key = inlineInputKey(id);
        await this.blobs.put(key, plan.inline!.lines());
        inputSpec = { type: 'inline', blobKey: key, fields: plan.inline!.fields };
      }
      const spec: JobSpec = {
        input: inputSpec,
        output: { name: outputName, format: plan.format },
        carry: plan.carry,
        probabilities: plan.probabilities,
        explanations: plan.explanations,
        chunkRows: plan.chunkRows,
        maxErrorRate: plan.maxErrorRate,
        ...(origin.wml && { wml: origin.wml }),
      };
      const job = await this.repos.jobs.create({
        id,
        spaceId: plan.deployment.spaceId,
        deploymentId: plan.deployment.id,
        deploymentName: plan.deployment.name,
        scheduleId: origin.scheduleId ?? null,
        spec,
        outputAssetId: output.id,
        rowsTotal: plan.rowsTotal,
        maxAttempts: plan.maxAttempts,
      });
      await this.repos.jobs.addEvent(id, 'info', `queued: ${plan.rowsTotal} row(s) from ${plan.asset ? `data asset '${plan.asset.name}'` : 'the inline payload'} with deployment '${plan.deployment.name}' (${plan.model.uri} now)`);
      await this.repos.queue.enqueue(id);
      this.runner.wake();
      return job;
    } catch (err) {
      await this.repos.assets.delete(output.id);
      throw err;
    }
  }

  /** The checks of submit without its effects (schedules validate their template with it). */
  async validate(input: SubmitJobInput): Promise<void> {
    await this.plan(input);
  }

  async get(id: string): Promise<JobRow> {
    const job = typeof id === 'string' ? await this.repos.jobs.get(id) : undefined;
    if (!job) throw new PlinthError('NOT_FOUND', `job '${printable(String(id))}' does not exist`);
    return job;
  }

  async list(filter: JobListFilter): Promise<Page<JobRow>> {
    const spaceId = filter.space !== undefined ? (await this.registry.getSpace(filter.space)).id : undefined;
    let deploymentId: string | undefined;
    if (filter.deployment !== undefined) {
      // Unresolved, the filter is an id as given (a deleted deployment's jobs stay listed): with a
      // space, it only matches that space's jobs, so another space's deployment lists nothing.
      const found = filter.space !== undefined ? this.findDeployment(filter.deployment, filter.space) : this.deployments.findByIdOrName(filter.deployment);
      deploymentId = (await found.catch(() => undefined))?.id ?? filter.deployment;
    }
    for (const s of filter.status ?? []) if (!JOB_STATUSES.includes(s)) throw invalidInput(`status '${printable(s, 20)}' is not one of ${JOB_STATUSES.join(', ')}`);
    return this.repos.jobs.list({ limit: filter.limit ?? 100, cursor: filter.cursor, spaceId, deploymentId, scheduleId: filter.schedule, status: filter.status });
  }

  /**
   * Cancels a queued or running job: it stops within a second (its worker is terminated) and its
   * partial output is removed. CONFLICT when the job already finished.
   */
  async cancel(id: string): Promise<JobRow> {
    const job = await this.get(id);
    if (finished(job.status)) throw new PlinthError('CONFLICT', `job ${job.id} is already ${job.status}`);
    const row = await this.repos.jobs.update(job.id, { status: 'canceled', cancelRequested: true, finishedAt: new Date().toISOString() }, { status: ['queued', 'running'] });
    if (!row) return this.cancel(id); // it finished meanwhile: answer with the real state
    await this.repos.jobs.addEvent(job.id, 'info', 'cancel requested');
    if (!(await this.runner.cancel(job.id))) await this.executor.cleanupCanceled(job.id);
    return (await this.repos.jobs.get(job.id)) ?? row;
  }

  /** Removes a finished job's record, events and errors file (its output asset stays). */
  async delete(id: string): Promise<void> {
    const job = await this.get(id);
    if (!finished(job.status)) throw new PlinthError('CONFLICT', `job ${job.id} is ${job.status}: cancel it before deleting it`);
    await this.blobs.delete(errorsKey(job.id));
    if (job.spec.input.type === 'inline') await this.blobs.delete(job.spec.input.blobKey);
    // A job that just completed may still be removing its parts (finalize): no part outlives the record.
    await deleteParts(this.blobs, job.id, job.chunksCommitted);
    await this.repos.jobs.delete(job.id);
  }

  events(id: string, page: PageRequest) {
    return this.repos.jobs.listEvents(id, page);
  }

  /** The errors file (`row,line,reason`); NOT_FOUND when the job had no invalid rows. */
  async errors(job: JobRow): Promise<Readable> {
    if (job.rowsFailed === 0) throw new PlinthError('NOT_FOUND', `job ${job.id} has no row errors`);
    return this.blobs.get(errorsKey(job.id)).catch(() => {
      throw new PlinthError('NOT_FOUND', `the errors file of job ${job.id} is written when the job finishes`);
    });
  }

  /** A job's output bytes (an inline Watson ML job's results). */
  outputStream(asset: DataAssetRow): Promise<Readable> {
    return this.assets.open(asset);
  }

  async outputAsset(job: JobRow): Promise<DataAssetRow | undefined> {
    return job.outputAssetId ? this.repos.assets.get(job.outputAssetId) : undefined;
  }

  // -- internals -------------------------------------------------------------------------------

  /**
   * The deployment by id or name inside the space the caller named (the one the route policy
   * authorised; `default` when none): another space's deployment is "does not exist", word for
   * word as a missing one, whatever it is named by.
   */
  private async findDeployment(idOrName: string, spaceName: string = DEFAULT_SPACE): Promise<DeploymentRow> {
    const space = await this.registry.getSpace(spaceName);
    const byId = await this.deployments.get(idOrName).catch(() => undefined);
    if (byId && byId.spaceId === space.id) return byId;
    return this.deployments.getByName(space.name, idOrName);
  }

  private async plan(input: SubmitJobInput) {
    if (input === null || typeof input !== 'object') throw invalidInput('the job must be an object');
    const space = input.space ?? DEFAULT_SPACE;
    const deployment = await this.findDeployment(input.deployment, space);
    if (deployment.status === 'failed') throw new PlinthError('CONFLICT', `deployment '${printable(deployment.name)}' failed to load: ${deployment.reason ?? 'no reason recorded'}`);
    const model: BatchModel = await this.models.current(deployment);
    const chunkRows = input.chunkRows ?? this.settings.chunkRows;
    if (!Number.isInteger(chunkRows) || chunkRows < 1 || chunkRows > MAX_CHUNK_ROWS) throw invalidInput(`chunkRows must be a whole number from 1 to ${MAX_CHUNK_ROWS}`);
    const maxErrorRate = input.maxErrorRate ?? this.settings.maxErrorRate;
    if (typeof maxErrorRate !== 'number' || !(maxErrorRate >= 0 && maxErrorRate <= 1)) throw invalidInput('maxErrorRate must be a number from 0 to 1');
    const maxAttempts = input.maxAttempts ?? this.settings.maxAttempts;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > MAX_ATTEMPTS) throw invalidInput(`maxAttempts must be a whole number from 1 to ${MAX_ATTEMPTS}`);
    const format: OutputFormat = input.output?.format ?? 'csv';
    const carry = input.carry ?? [];
    const probabilities = input.probabilities ?? true;
    const explanations = input.explanations ?? false;
    const outputColumns = [...carry, ...predictionColumns(model.schema, probabilities, explanations)];
    const seen = new Set<string>();
    for (const c of carry) {
      if (typeof c !== 'string' || c === '') throw invalidInput('carry columns must be non-empty strings');
      if (RESERVED.has(c) || c.startsWith('probability_') || (explanations && clashesWithExplanations(c))) throw invalidInput(`carry column '${printable(c, 60)}' would clash with an output column: rename it in the input`);
      if (seen.has(c)) throw invalidInput(`carry column '${printable(c, 60)}' is listed twice`);
      seen.add(c);
    }
    const features = model.schema.features;
    if (!features) throw invalidInput(`deployment '${printable(deployment.name)}' serves a model without a feature list, so it cannot score records: add features to its model.yaml`);
    if (explanations) await this.explainability.check(model);
    const given = input.input ?? {};
    if ((given.asset === undefined) === (given.inputData === undefined)) throw invalidInput('input must name a data asset (input.asset) or hold inline rows (input.inputData), not both');
    let asset: DataAssetRow | undefined;
    let inline: { fields: string[]; rows: number; lines: () => AsyncIterable<Uint8Array> } | undefined;
    let columns: string[] | null;
    let rowsTotal: number;
    if (given.asset !== undefined) {
      // Inside the deployment's space, which is the caller's: its names and columns only.
      asset = await this.assets.find(given.asset, space);
      if (asset.status !== 'ready') throw new PlinthError('CONFLICT', `data asset '${printable(asset.name)}' is still being written by job ${asset.jobId}`);
      if (!asset.rowCount) throw invalidInput(`data asset '${printable(asset.name)}' has no data rows${asset.format === 'csv' ? ' (only a header)' : ''}`);
      rowsTotal = asset.rowCount;
      columns = asset.format === 'csv' ? asset.columns : null;
    } else {
      const entries = given.inputData!;
      if (!Array.isArray(entries) || entries.length === 0) throw invalidInput('input.inputData must hold at least one {fields, values} entry');
      const fields = entries[0]!.fields ?? features.map((f) => f.name);
      let rows = 0;
      entries.forEach((entry, i) => {
        const names = entry.fields ?? features.map((f) => f.name);
        if (names.join('\u0000') !== fields.join('\u0000')) throw invalidInput(`input.inputData[${i}].fields differ from input.inputData[0].fields: one job takes one set of columns`);
        if (!Array.isArray(entry.values)) throw invalidInput(`input.inputData[${i}].values must be an array of rows`);
        entry.values.forEach((row, r) => {
          if (!Array.isArray(row) || row.length !== fields.length) {
            throw invalidInput(`input.inputData[${i}].values[${r}]: expected ${fields.length} values (one per field), got ${Array.isArray(row) ? row.length : 'no array'}`);
          }
        });
        rows += entry.values.length;
      });
      if (rows === 0) throw invalidInput('input.inputData holds no rows');
      inline = {
        fields,
        rows,
        lines: async function* () {
          let text = '';
          for (const entry of entries) {
            for (const row of entry.values) {
              text += JSON.stringify(Object.fromEntries(fields.map((f, j) => [f, row[j]]))) + '\n';
              if (text.length > 1 << 16) {
                yield Buffer.from(text, 'utf8');
                text = '';
              }
            }
          }
          if (text) yield Buffer.from(text, 'utf8');
        },
      };
      rowsTotal = rows;
      columns = fields;
    }
    if (columns) {
      const have = new Set(columns);
      const missing = features.filter((f) => f.default === undefined && !have.has(f.name)).map((f) => f.name);
      if (missing.length) throw missingColumns(missing);
      const absent = carry.filter((c) => !have.has(c));
      if (absent.length) throw invalidInput(`carry column(s) ${absent.map((c) => `'${printable(c, 60)}'`).join(', ')} are not in the input's columns`);
    }
    const outputName = input.output?.name;
    if (outputName !== undefined) assertAssetName(expandOutputName(outputName, '00000000-0000-0000-0000-000000000000'));
    return { deployment, model, asset, inline, rowsTotal, format, carry, probabilities, explanations, chunkRows, maxErrorRate, maxAttempts, outputName, outputColumns };
  }
}
