import type { FastifyBaseLogger } from 'fastify';
import { loadFailureReason, PlinthError } from '../core/errors.js';
import type { DeploymentService } from '../registry/deployment.service.js';
import type { JobRepositories, JobRow } from '../storage/job-ports.js';
import type { BlobInfo, BlobStorePort } from '../storage/ports.js';
import type { BatchModel, BatchModelResolver } from './batch-model.resolver.js';
import { ERRORS_HEADER } from './chunk-scorer.js';
import { concatParts, deleteParts, errorsKey, FollowingParts, inlineInputKey, partKey, putBytes, putText, workerBlobRoot } from './job-parts.js';
import type { JobSettings } from './job-settings.js';
import { ScoringError, ScoringHost } from './scoring-host.js';

/** Why an attempt stopped early: the job was canceled, or the server is shutting down. */
export class AttemptStopped extends Error {
  constructor(readonly why: 'canceled' | 'shutdown') {
    super(why === 'canceled' ? 'the job was canceled' : 'the server is shutting down');
  }
}

/** A running attempt's handle for the runner: stop it for a cancel or a shutdown. */
export interface AttemptControl {
  stopped?: AttemptStopped;
  host?: ScoringHost;
}

const now = () => new Date().toISOString();

/**
 * Runs one attempt of a job: resolves (or re-uses) the model version, scores the rows not yet
 * committed in a worker thread, stores each chunk's part and commits its progress, then
 * assembles the output asset and the errors file. Failures retry with exponential backoff up to
 * the job's attempt limit, keeping committed chunks; permanent ones (bad input, too many invalid
 * rows) fail at once. A canceled or failed job leaves no partial output behind.
 */
export class JobExecutor {
  constructor(
    private readonly repos: JobRepositories,
    private readonly blobs: BlobStorePort,
    private readonly deployments: DeploymentService,
    private readonly models: BatchModelResolver,
    private readonly settings: JobSettings,
    private readonly log: FastifyBaseLogger,
  ) {}

  async attempt(jobId: string, control: AttemptControl): Promise<void> {
    const { jobs, queue } = this.repos;
    const job = await jobs.get(jobId);
    if (!job || job.status === 'completed' || job.status === 'failed' || job.status === 'canceled') {
      // A completed job leaves the queue only once its parts are removed (finalize): a crash in
      // between brings it back here, and the removal is finished now.
      if (job?.status === 'completed') await deleteParts(this.blobs, jobId, job.chunksCommitted);
      await queue.remove(jobId);
      return;
    }
    const attempt = job.attempt + 1;
    if (attempt > job.maxAttempts) {
      await this.fail(job, job.error ? `gave up after ${job.maxAttempts} attempt(s): ${job.error}` : `gave up after ${job.maxAttempts} attempt(s)`);
      return;
    }
    const row = await jobs.update(jobId, { status: 'running', attempt, startedAt: job.startedAt ?? now(), retryAt: null }, { status: ['queued', 'running'] });
    if (!row) return queue.remove(jobId);
    const resume = row.chunksCommitted > 0 ? `, resuming after input row ${row.rowsRead} (${row.chunksCommitted} chunk(s) committed)` : '';
    await jobs.addEvent(jobId, 'info', `attempt ${attempt} of ${row.maxAttempts} started${resume}`);
    try {
      const model = await this.model(row);
      const assembled = row.inputDone ? undefined : (await this.score(row, attempt, model, control)).output;
      if (control.stopped) throw control.stopped;
      await this.finalize(jobId, assembled);
    } catch (err) {
      const stopped = control.stopped ?? (err instanceof AttemptStopped ? err : undefined);
      if (stopped?.why === 'shutdown') return; // left as it is: the next start resumes it
      if (stopped) return this.cleanupCanceled(jobId);
      const message = err instanceof ScoringError || err instanceof PlinthError ? err.message : loadFailureReason(err, 500);
      const permanent = err instanceof ScoringError ? err.permanent : err instanceof PlinthError && err.status < 500;
      if (!(err instanceof ScoringError) && !(err instanceof PlinthError)) this.log.warn({ err, jobId }, 'job attempt failed');
      const latest = (await jobs.get(jobId)) ?? row;
      if (latest.status === 'canceled') return this.cleanupCanceled(jobId);
      if (permanent || attempt >= row.maxAttempts) {
        await this.fail(latest, permanent ? message : `failed after ${attempt} attempt(s): ${message}`);
        return;
      }
      const delay = this.settings.retryBackoffMs * 2 ** (attempt - 1);
      const retryAt = new Date(Date.now() + delay).toISOString();
      const queued = await jobs.update(jobId, { status: 'queued', retryAt, error: message }, { status: ['running'] });
      if (!queued) return this.cleanupCanceled(jobId);
      await jobs.addEvent(jobId, 'warn', `attempt ${attempt} failed: ${message}; retrying in ${Math.round(delay / 1000)} s`);
      await queue.release(jobId, retryAt);
    }
  }

  /** The pinned version, or the deployment's current one (pinned now for later attempts). */
  private async model(row: JobRow): Promise<BatchModel> {
    if (row.modelVersionId) return this.models.pinned(row.modelVersionId);
    const deployment = await this.deployments.get(row.deploymentId).catch(() => {
      throw new PlinthError('NOT_FOUND', `deployment '${row.deploymentName}' no longer exists`);
    });
    const model = await this.models.current(deployment);
    await this.repos.jobs.update(row.id, { modelVersionId: model.pin });
    await this.repos.jobs.addEvent(row.id, 'info', `scoring with ${model.uri}`);
    return model;
  }

  /**
   * Scores the rows not yet committed, storing and committing chunk by chunk. Meanwhile the
   * committed parts are copied, in order, into the output asset's blob (a streamed copy that
   * follows the job, so little is left to do when the last chunk is in), by the worker thread
   * when it can open the blob store itself (a local folder: the output's bytes then never pass
   * through the event loop that serves online requests), else here. `output` is that blob's
   * size and hash, undefined when there is no output asset to write.
   */
  private async score(row: JobRow, attempt: number, model: BatchModel, control: AttemptControl): Promise<{ output?: Promise<BlobInfo> }> {
    const { jobs, assets } = this.repos;
    const spec = row.spec;
    let key: string;
    let input: { format: 'csv' | 'ndjson' | 'json'; dialect: import('../storage/job-ports.js').CsvDialect | null };
    if (spec.input.type === 'asset') {
      const asset = await assets.get(spec.input.assetId);
      if (!asset || asset.status !== 'ready') throw new PlinthError('NOT_FOUND', `input data asset '${spec.input.assetName}' no longer exists`);
      key = asset.blobKey;
      input = { format: asset.format, dialect: asset.dialect };
    } else {
      key = inlineInputKey(row.id);
      input = { format: 'ndjson', dialect: null };
    }
    const file = await this.models.modelFile(model);
    const output = row.outputAssetId ? await assets.get(row.outputAssetId) : undefined;
    const writeOutput = output !== undefined && output.status !== 'ready';
    // A first attempt finds no part of an earlier one: no stale error part to remove.
    const stale = attempt > 1;
    // The worker does the blob I/O when it can open the blob store itself (a local folder): no
    // data byte then passes through this event loop, which serves online requests. Else it is
    // done here: the input streamed to the worker, the parts stored and the output written here.
    const blobRoot = workerBlobRoot(this.blobs);
    const storage = blobRoot === undefined ? undefined : { blobRoot, jobId: row.id, inputKey: key, staleErrorParts: stale, output: writeOutput ? { key: output!.blobKey, committed: row.chunksCommitted } : undefined };
    const stream = storage ? undefined : await this.blobs.get(key);
    const following = writeOutput && !storage ? new FollowingParts(this.blobs, row.id, row.chunksCommitted) : undefined;
    let assembled = following ? this.blobs.put(output!.blobKey, following) : undefined;
    assembled?.catch(() => undefined); // awaited by finalize, or after stopping it when the attempt stops
    let committed = row.chunksCommitted;
    let rowsRead = row.rowsRead;
    let rowsScored = row.rowsScored;
    let rowsFailed = row.rowsFailed;
    const allowed = Math.floor(spec.maxErrorRate * row.rowsTotal);
    const started = Date.now();
    const readAtStart = rowsRead;
    const host = new ScoringHost(
      {
        modelFile: file,
        manifest: model.manifest,
        intraOpThreads: this.settings.intraOpThreads,
        niceness: this.settings.niceness,
        input,
        skipRecords: row.rowsRead,
        startChunk: row.chunksCommitted,
        chunkRows: spec.chunkRows,
        carry: spec.carry,
        probabilities: spec.probabilities,
        explanations: spec.explanations ?? false,
        outputFormat: spec.output.format,
        maxRecordChars: this.settings.maxRecordChars,
        storage,
      },
      stream?.[Symbol.asyncIterator](),
      async (chunk) => {
        if (chunk.index !== committed) throw new Error(`chunk ${chunk.index} arrived while chunk ${committed} was expected`);
        // The part first, then the commit: a committed chunk always has its part (the worker's
        // chunks come with their parts already stored).
        if (chunk.output) {
          await putBytes(this.blobs, partKey(row.id, chunk.index, 'out'), chunk.output);
          if (chunk.errors) await putText(this.blobs, partKey(row.id, chunk.index, 'err'), chunk.errors);
          else if (stale) await this.blobs.delete(partKey(row.id, chunk.index, 'err'));
        }
        rowsRead += chunk.read;
        rowsScored += chunk.scored;
        rowsFailed += chunk.failed;
        const seconds = (Date.now() - started) / 1000;
        const updated = await jobs.update(
          row.id,
          {
            chunksCommitted: committed + 1,
            rowsRead,
            rowsScored,
            rowsFailed,
            inputDone: chunk.last,
            rowsPerSecond: seconds > 0 ? Math.round((rowsRead - readAtStart) / seconds) : null,
          },
          { status: ['running'], chunksCommitted: committed },
        );
        if (!updated) throw (control.stopped ??= new AttemptStopped('canceled'));
        committed++;
        following?.commit(committed);
        if (rowsFailed > allowed) {
          throw new ScoringError(
            `${rowsFailed} row(s) failed validation, more than the ${allowed} this job allows (maxErrorRate ${spec.maxErrorRate} of ${row.rowsTotal} rows); the errors file lists them`,
            true,
          );
        }
      },
    );
    control.host = host;
    try {
      if (control.stopped) await host.terminate(control.stopped);
      const written = await host.run();
      if (written) assembled = Promise.resolve(written);
    } catch (err) {
      following?.stop(err as Error);
      await assembled?.catch(() => undefined); // its temporary file is gone once it settles
      throw err;
    }
    if (control.stopped) {
      following?.stop(control.stopped); // the output is never completed for a stopped attempt
      await assembled?.catch(() => undefined);
      throw control.stopped;
    }
    following?.finish();
    return { output: assembled };
  }

  /**
   * Completes the output asset (the copy that followed the job, or a concatenation of the
   * committed parts when this attempt scored nothing) and the errors file; the job completes,
   * then its parts are removed and it leaves the queue.
   */
  private async finalize(jobId: string, assembled: Promise<BlobInfo> | undefined): Promise<void> {
    const { jobs, assets, queue } = this.repos;
    const job = (await jobs.get(jobId))!;
    let asset = job.outputAssetId ? await assets.get(job.outputAssetId) : undefined;
    if (!asset) throw new PlinthError('NOT_FOUND', 'the output data asset was deleted while the job ran');
    // Assembled once: a resumed attempt that finds the output ready (parts already removed) only completes the job.
    if (asset.status !== 'ready') {
      const info = await (assembled ?? this.blobs.put(asset.blobKey, concatParts(this.blobs, jobId, job.chunksCommitted, 'out')));
      if (job.rowsFailed > 0) await this.blobs.put(errorsKey(jobId), concatParts(this.blobs, jobId, job.chunksCommitted, 'err', ERRORS_HEADER));
      asset = await assets.markReady(asset.id, { size: info.size, sha256: info.sha256, rowCount: job.rowsScored });
    }
    const done = await jobs.update(jobId, { status: 'completed', finishedAt: now(), error: null }, { status: ['running'] });
    if (!done) return this.cleanupCanceled(jobId);
    await jobs.addEvent(jobId, 'info', `completed: ${job.rowsScored} row(s) scored, ${job.rowsFailed} row(s) failed validation, output '${asset.name}' (${asset.size} bytes)`);
    // The parts go after the job is completed (removing hundreds of files can take a while); the
    // job stays in the queue until they are gone, so a crash in between finishes it at the next start.
    await deleteParts(this.blobs, jobId, job.chunksCommitted);
    await queue.remove(jobId);
  }

  /**
   * Fails the job for good: the errors file is kept, the partial output removed. Both happen
   * before the status changes, so a client that sees 'failed' finds the errors file written and
   * no partial output; the internal parts go after.
   */
  async fail(job: JobRow, message: string): Promise<void> {
    const { jobs, queue } = this.repos;
    const current = await jobs.get(job.id);
    if (!current || (current.status !== 'queued' && current.status !== 'running')) return this.cleanupCanceled(job.id);
    if (current.rowsFailed > 0) {
      await this.blobs.put(errorsKey(job.id), concatParts(this.blobs, job.id, current.chunksCommitted, 'err', ERRORS_HEADER)).catch(() => undefined);
    }
    await this.removeOutputAsset(current);
    const updated = await jobs.update(job.id, { status: 'failed', finishedAt: now(), error: message }, { status: ['queued', 'running'] });
    if (!updated) return this.cleanupCanceled(job.id);
    await deleteParts(this.blobs, job.id, updated.chunksCommitted);
    await queue.remove(job.id);
    await jobs.addEvent(job.id, 'error', `failed: ${message}`);
  }

  /** A canceled job: its partial output and parts are removed. */
  async cleanupCanceled(jobId: string): Promise<void> {
    const job = await this.repos.jobs.get(jobId);
    await this.repos.queue.remove(jobId);
    if (!job) return;
    await this.removeOutput(job);
    await this.repos.jobs.addEvent(jobId, 'info', 'canceled: partial output removed');
  }

  private async removeOutput(job: JobRow): Promise<void> {
    await this.removeOutputAsset(job);
    await deleteParts(this.blobs, job.id, job.chunksCommitted);
  }

  /** The job's own output asset only (a canceled or failed job's output is never complete). */
  private async removeOutputAsset(job: JobRow): Promise<void> {
    if (!job.outputAssetId) return;
    const asset = await this.repos.assets.get(job.outputAssetId);
    if (asset && asset.jobId === job.id) {
      await this.blobs.delete(asset.blobKey);
      await this.repos.assets.delete(asset.id);
    }
  }
}
