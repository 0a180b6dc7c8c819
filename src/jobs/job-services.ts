import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config/config.js';
import type { ArtifactCache } from '../registry/artifact-cache.js';
import type { DeploymentService } from '../registry/deployment.service.js';
import type { ModelRegistryService } from '../registry/model-registry.service.js';
import type { JobRepositories } from '../storage/job-ports.js';
import type { BlobStorePort, SpaceRepository } from '../storage/ports.js';
import { BatchModelResolver } from './batch-model.resolver.js';
import { DataAssetService } from './data-asset.service.js';
import { JobExecutor } from './job-executor.js';
import { JobRunner } from './job-runner.js';
import { DEFAULT_JOB_SETTINGS, type JobSettings } from './job-settings.js';
import { JobService } from './job.service.js';
import { ScheduleService } from './schedule.service.js';
import { SpaceNames } from './space-names.js';

export interface JobServices {
  assets: DataAssetService;
  jobs: JobService;
  schedules: ScheduleService;
  runner: JobRunner;
  spaces: SpaceNames;
  /** Starts the queue runner and arms the schedules (after the deployments are restored). */
  start(): Promise<void>;
  /** Stops the schedules and the runner; running jobs resume at the next start. Before the database closes. */
  stop(): Promise<void>;
}

export interface JobServiceDeps {
  registry: ModelRegistryService;
  deployments: DeploymentService;
  cache: ArtifactCache;
  blobs: BlobStorePort;
  spaces: SpaceRepository;
  log: FastifyBaseLogger;
}

/** The server configuration's batch settings. */
export function jobSettings(config: Config): JobSettings {
  return {
    ...DEFAULT_JOB_SETTINGS,
    concurrency: config.jobConcurrency,
    chunkRows: config.jobChunkRows,
    maxAttempts: config.jobMaxAttempts,
    retryBackoffMs: config.jobRetryBackoffMs,
    maxErrorRate: config.jobMaxErrorRate,
    maxRecordChars: config.jobMaxRowKb * 1024,
    maxAssetBytes: Math.round(config.maxAssetMb * 1024 * 1024),
    intraOpThreads: config.jobThreads,
    niceness: config.jobNice,
  };
}

/** Batch scoring wired over its repositories: what app.ts builds once. */
export function createJobServices(repos: JobRepositories, deps: JobServiceDeps, settings: JobSettings): JobServices {
  const models = new BatchModelResolver(deps.deployments, deps.registry, deps.cache);
  const executor = new JobExecutor(repos, deps.blobs, deps.deployments, models, settings, deps.log);
  const runner = new JobRunner(repos.queue, executor, settings, deps.log);
  const assets = new DataAssetService(repos, deps.registry, deps.blobs, settings);
  const jobs = new JobService(repos, deps.deployments, assets, models, deps.blobs, runner, executor, settings, deps.registry);
  const schedules = new ScheduleService(repos, deps.registry, jobs, deps.log);
  return {
    assets,
    jobs,
    schedules,
    runner,
    spaces: new SpaceNames(deps.spaces),
    async start() {
      await runner.start();
      await schedules.restoreAll();
    },
    async stop() {
      schedules.stopAll();
      await runner.stop();
    },
  };
}
