import { invalidInput, loadFailureReason, PlinthError, printable } from '../core/errors.js';
import { assertName } from '../core/model-name.js';
import { formatModelUri, parseModelReference, type ModelReference } from '../core/model-uri.js';
import type {
  DeploymentAuthMode,
  DeploymentKind,
  DeploymentPatch,
  DeploymentRow,
  DeploymentRuntime,
  DeploymentStatus,
  DeploymentTarget,
  Page,
  RegistryRepositories,
  SpaceRow,
  VersionSelector,
} from '../storage/ports.js';
import { CanaryRouter, type TrafficPick, type TrafficStats } from './canary-router.js';
import type { ModelRegistryService } from './model-registry.service.js';
import type { ResolvedVersion } from './registry.types.js';
import { checkDescription, DEFAULT_SPACE } from './registry-names.js';
import { fromStorage } from './storage-error.mapper.js';

/** The versions a deployment's target selects now, resolved when it loads. */
export interface ResolvedDeploymentVersions {
  primary: ResolvedVersion;
  canary?: { version: ResolvedVersion; percent: number };
}

/**
 * Makes the deployment servable: the app loads a session per resolved version. It should load
 * the new sessions before dropping old ones, so a failed reload leaves the previous ones serving.
 * A rejection marks the deployment `failed` with the error's message (paths removed).
 */
export type DeploymentLoader = (deployment: DeploymentRow, versions: ResolvedDeploymentVersions) => Promise<void>;

/** A deployment's target as callers name it: model references parsed by core/model-uri.ts. */
export interface DeploymentTargetInput {
  /** `iris` (latest), `iris@production`, `models:/iris/2`, ... */
  model: string;
  /** A second version of the same model taking `percent` (1..99) of the requests. */
  canary?: CanaryInput;
}

export interface CanaryInput {
  reference: string;
  percent: number;
}

export interface CreateDeploymentInput {
  /** Space name; `default` when omitted. */
  space?: string;
  name: string;
  target: DeploymentTargetInput;
  /** Default `token`. */
  authMode?: DeploymentAuthMode;
  runtime?: DeploymentRuntime;
  description?: string | null;
  /** `online` (default) serves requests; `batch` only scores jobs (src/jobs), so it loads no session. */
  kind?: DeploymentKind;
}

export interface UpdateDeploymentInput {
  /** Replaces the whole target (model and canary). */
  target?: DeploymentTargetInput;
  /** Sets (object) or removes (null) the canary, keeping the primary. Not together with `target`. */
  canary?: CanaryInput | null;
  description?: string | null;
  authMode?: DeploymentAuthMode;
  runtime?: DeploymentRuntime;
}

export interface DeploymentListFilter {
  /** Space name; every space when omitted (and no `model` is given). */
  space?: string;
  namePrefix?: string;
  /** Model name in `space` (default space when `space` is omitted). */
  model?: string;
  status?: DeploymentStatus;
  /** 1..1000, default 100. */
  limit?: number;
  cursor?: string;
}

export interface DeploymentEndpoint {
  protocol: 'watson-ml' | 'open-inference-v2' | 'records' | 'mlflow' | 'batch-jobs' | 'watson-ml-jobs';
  method: 'POST';
  url: string;
}

/** A deployment as the API shows it: names instead of ids, references as written, live traffic. */
export interface DeploymentView {
  id: string;
  name: string;
  space: string;
  description: string | null;
  kind: DeploymentRow['kind'];
  model: string;
  target: { model: string; canary?: CanaryInput };
  authMode: DeploymentAuthMode;
  runtime: DeploymentRuntime;
  status: DeploymentStatus;
  reason: string | null;
  /** What serves now and the requests each version took since the split was last loaded. */
  traffic?: TrafficStats;
  endpoints: DeploymentEndpoint[];
  revision: number;
  createdAt: string;
  updatedAt: string;
}

export interface DeploymentServiceOptions {
  /** A load taking longer than this marks the deployment failed (default 5 minutes). */
  loadTimeoutMs?: number;
  router?: CanaryRouter;
  /** Stops serving a deleted deployment (the app's DeploymentPool.drop). */
  unload?: (deploymentId: string) => Promise<void>;
  /** Told of every committed update (the pool keeps a deployment's auth mode current). */
  updated?: (row: DeploymentRow) => void;
}

const DEFAULT_LIMIT = 100;
const DEFAULT_LOAD_TIMEOUT_MS = 5 * 60_000;
const INTRA_OP_THREADS_MAX = 256;
const MAX_BATCH_SIZE_MAX = 65_536;
const REASON_MAX = 1_000;
const AUTH_MODES: readonly DeploymentAuthMode[] = ['public', 'token'];

export function assertDeploymentName(name: unknown): asserts name is string {
  assertName('deployment', name, 'name: ');
}

function checkPercent(percent: unknown, field: string): number {
  if (typeof percent !== 'number' || !Number.isInteger(percent) || percent < 1 || percent > 99) {
    throw invalidInput(`${field} must be a whole number from 1 to 99, got ${printable(String(percent), 20)}`);
  }
  return percent;
}

function checkAuthMode(mode: unknown): DeploymentAuthMode | undefined {
  if (mode === undefined) return undefined;
  if (!AUTH_MODES.includes(mode as DeploymentAuthMode)) throw invalidInput(`authMode must be 'public' or 'token', got '${printable(String(mode), 20)}'`);
  return mode as DeploymentAuthMode;
}

const EXECUTIONS = ['auto', 'inline', 'threads'] as const;

function checkRuntime(runtime: unknown): DeploymentRuntime | undefined {
  if (runtime === undefined) return undefined;
  if (runtime === null || typeof runtime !== 'object' || Array.isArray(runtime)) throw invalidInput('runtime must be an object');
  const { intraOpThreads, maxBatchSize, execution, instances, maxQueueSize, queueTimeoutMs, ...rest } = runtime as Record<string, unknown>;
  const unknownKeys = Object.keys(rest);
  if (unknownKeys.length > 0) {
    throw invalidInput(`runtime.${printable(unknownKeys[0]!, 40)} is not a runtime setting: use intraOpThreads, maxBatchSize, execution, instances, maxQueueSize and queueTimeoutMs`);
  }
  if (execution !== undefined && !EXECUTIONS.includes(execution as never)) {
    throw invalidInput(`runtime.execution must be one of ${EXECUTIONS.join(', ')}, got ${printable(String(execution), 20)}`);
  }
  const whole = (value: unknown, field: string, min: number, max: number) => {
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw invalidInput(`runtime.${field} must be a whole number from ${min} to ${max}, got ${printable(String(value), 20)}`);
    }
    return value;
  };
  const threads = whole(intraOpThreads, 'intraOpThreads', 0, INTRA_OP_THREADS_MAX);
  const batch = whole(maxBatchSize, 'maxBatchSize', 1, MAX_BATCH_SIZE_MAX);
  const count = whole(instances, 'instances', 1, 64);
  const queue = whole(maxQueueSize, 'maxQueueSize', 0, 100_000);
  const wait = whole(queueTimeoutMs, 'queueTimeoutMs', 1, 3_600_000);
  return {
    ...(threads !== undefined && { intraOpThreads: threads }),
    ...(batch !== undefined && { maxBatchSize: batch }),
    ...(execution !== undefined && { execution: execution as NonNullable<DeploymentRuntime['execution']> }),
    ...(count !== undefined && { instances: count }),
    ...(queue !== undefined && { maxQueueSize: queue }),
    ...(wait !== undefined && { queueTimeoutMs: wait }),
  };
}

/** Parses a reference, naming the field in the message when it is invalid. */
function parseField(reference: unknown, field: string): ModelReference {
  if (typeof reference !== 'string') throw invalidInput(`${field} must be a model reference string such as 'iris', 'iris@production' or 'models:/iris/2'`);
  try {
    return parseModelReference(reference);
  } catch (err) {
    if (err instanceof PlinthError && err.code === 'INVALID_INPUT') throw invalidInput(`${field}: ${err.message}`);
    throw err;
  }
}

const selectorOf = (ref: ModelReference): VersionSelector =>
  ref.version !== undefined ? { version: ref.version } : { alias: ref.alias ?? 'latest' };

const referenceOf = (modelName: string, selector: VersionSelector): string =>
  formatModelUri('version' in selector ? { name: modelName, version: selector.version } : { name: modelName, alias: selector.alias });

/**
 * Online deployments: create, read, update and delete them, load them through the app's
 * DeploymentLoader (status `initializing` -> `ready` or `failed` with a reason), list their
 * endpoint URLs, and split their traffic between a primary and a canary version.
 * Works only through ports; throws PlinthErrors; no HTTP here.
 */
export class DeploymentService {
  private readonly router: CanaryRouter;
  private readonly loadTimeoutMs: number;
  private readonly unload: (deploymentId: string) => Promise<void>;
  private readonly updated: (row: DeploymentRow) => void;
  /** The latest load per deployment id; earlier ones finishing later do not write their status. */
  private readonly loads = new Map<string, { generation: number; settled: Promise<DeploymentRow | undefined> }>();
  private generation = 0;

  constructor(
    private readonly repos: RegistryRepositories,
    private readonly registry: ModelRegistryService,
    private readonly loader: DeploymentLoader,
    options: DeploymentServiceOptions = {},
  ) {
    this.router = options.router ?? new CanaryRouter();
    this.loadTimeoutMs = options.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS;
    this.unload = options.unload ?? (async () => undefined);
    this.updated = options.updated ?? (() => undefined);
  }

  // -- create, read ----------------------------------------------------------------------------

  /**
   * Validates, stores the deployment as `initializing`, loads it, and returns it `ready` or
   * `failed` (with the reason). The target's model must exist in the deployment's space and
   * its references must resolve to ready versions now (404 otherwise).
   */
  async create(input: CreateDeploymentInput): Promise<DeploymentRow> {
    if (input === null || typeof input !== 'object') throw invalidInput('the deployment must be an object');
    assertDeploymentName(input.name);
    const description = checkDescription(input.description);
    const authMode = checkAuthMode(input.authMode) ?? 'token';
    const runtime = checkRuntime(input.runtime) ?? {};
    const space = await this.registry.getSpace(input.space ?? DEFAULT_SPACE);
    const kind = input.kind ?? 'online';
    if (kind !== 'online' && kind !== 'batch') throw invalidInput(`kind must be 'online' or 'batch', got '${printable(String(kind), 20)}'`);
    if (kind === 'batch' && input.target?.canary !== undefined) throw invalidInput('a batch deployment has no canary: its jobs score with one version');
    const target = await this.checkTarget(space, input.target);
    const row = await fromStorage({ space: space.name }, () =>
      this.repos.deployments.create({ spaceId: space.id, name: input.name, description, kind, target, authMode, runtime }),
    );
    return (await this.startLoad(row)) ?? row;
  }

  async get(id: string): Promise<DeploymentRow> {
    const row = typeof id === 'string' ? await this.repos.deployments.get(id) : undefined;
    if (!row) throw this.missing(String(id));
    return row;
  }

  /** By id, or else by name in the default space (what people type); the id's "does not exist" otherwise. */
  async findByIdOrName(idOrName: string): Promise<DeploymentRow> {
    const byId = typeof idOrName === 'string' ? await this.repos.deployments.get(idOrName) : undefined;
    if (byId) return byId;
    const space = await this.repos.spaces.getByName(DEFAULT_SPACE);
    const byName = space ? await this.repos.deployments.getByName(space.id, idOrName) : undefined;
    if (!byName) throw this.missing(String(idOrName));
    return byName;
  }

  async getByName(spaceName: string, name: string): Promise<DeploymentRow> {
    assertDeploymentName(name);
    const space = await this.registry.getSpace(spaceName);
    const row = await this.repos.deployments.getByName(space.id, name);
    if (!row) throw new PlinthError('NOT_FOUND', `deployment '${printable(name)}' does not exist in space '${printable(space.name)}'`);
    return row;
  }

  /** Ordered by (name, id); `limit` and `cursor` as everywhere in the registry. */
  async list(filter: DeploymentListFilter = {}): Promise<Page<DeploymentRow>> {
    const spaceName = filter.space ?? (filter.model !== undefined ? DEFAULT_SPACE : undefined);
    const space = spaceName !== undefined ? await this.registry.getSpace(spaceName) : undefined;
    const modelId = filter.model !== undefined ? (await this.registry.getModel(space!.name, filter.model)).id : undefined;
    return this.repos.deployments.list({
      limit: filter.limit ?? DEFAULT_LIMIT,
      cursor: filter.cursor,
      spaceId: space?.id,
      namePrefix: filter.namePrefix,
      modelId,
      status: filter.status,
    });
  }

  /** The deployment's current load, or its row when none is running. */
  async whenSettled(id: string): Promise<DeploymentRow> {
    const load = this.loads.get(id);
    const row = load ? await load.settled : undefined;
    return row ?? this.get(id);
  }

  // -- update, delete --------------------------------------------------------------------------

  /**
   * Changes the target (or only the canary split), description, auth mode or runtime. With
   * `expectedRevision` (the If-Match ETag) it applies only if the deployment is still at that
   * revision: PRECONDITION_FAILED (412) otherwise. A new target or runtime is loaded again,
   * and the returned row is `ready` or `failed` accordingly.
   */
  async update(id: string, input: UpdateDeploymentInput, expectedRevision?: number): Promise<DeploymentRow> {
    if (input === null || typeof input !== 'object') throw invalidInput('the update must be an object');
    if (expectedRevision !== undefined && (!Number.isSafeInteger(expectedRevision) || expectedRevision < 1)) {
      throw invalidInput(`the expected revision (If-Match) must be a whole number >= 1, got ${printable(String(expectedRevision), 20)}`);
    }
    if (input.target !== undefined && input.canary !== undefined) {
      throw invalidInput('give either target (the whole target, canary included) or canary (the split alone), not both');
    }
    const description = checkDescription(input.description);
    const authMode = checkAuthMode(input.authMode);
    const runtime = checkRuntime(input.runtime);
    const current = await this.get(id);
    const space = await this.spaceOf(current);
    let target: DeploymentTarget | undefined;
    if (input.target !== undefined) target = await this.checkTarget(space, input.target);
    if (input.canary !== undefined) target = await this.withCanary(space, current.target, input.canary);
    const patch: DeploymentPatch = {
      ...(description !== undefined && { description }),
      ...(authMode !== undefined && { authMode }),
      ...(runtime !== undefined && { runtime }),
      ...(target !== undefined && { target }),
    };
    const row = await fromStorage({ space: space.name }, () => this.repos.deployments.update(current.id, patch, expectedRevision));
    this.updated(row);
    if (target === undefined && runtime === undefined) return row;
    return (await this.startLoad(row)) ?? row;
  }

  /** Removes the deployment and its traffic counters; NOT_FOUND when it does not exist. */
  async delete(id: string): Promise<void> {
    const row = await this.get(id);
    this.loads.delete(row.id);
    if (!(await this.repos.deployments.delete(row.id))) throw this.missing(id);
    this.router.forget(row.id);
    await this.unload(row.id);
  }

  // -- following the registry ------------------------------------------------------------------

  /** Loads every stored deployment again (at start-up): each comes back `ready` or `failed`. */
  async restoreAll(): Promise<void> {
    const loads: Promise<unknown>[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.repos.deployments.list({ limit: 1000, cursor });
      for (const row of page.items) loads.push(this.startLoad(row));
      cursor = page.nextCursor;
    } while (cursor);
    await Promise.all(loads);
  }

  /**
   * After a model's versions or aliases change: every deployment of it whose target now
   * resolves to other versions (`latest` after an upload, a moved `production`) loads them and
   * switches over; the others are left alone.
   */
  async modelChanged(modelId: string): Promise<void> {
    const loads: Promise<unknown>[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.repos.deployments.list({ limit: 1000, cursor, modelId });
      for (const row of page.items) {
        const resolved = await this.resolveTarget(row).catch(() => undefined);
        const serving = this.router.has(row.id) ? this.router.stats(row.id) : undefined;
        const same =
          resolved !== undefined &&
          serving?.primary.version === resolved.primary.version.version &&
          serving.canary?.version === resolved.canary?.version.version.version &&
          serving.canary?.percent === resolved.canary?.percent;
        if (!same) loads.push(this.startLoad(row));
      }
      cursor = page.nextCursor;
    } while (cursor);
    await Promise.all(loads);
  }

  /** The API's view of a row (space and model by name, target references, live traffic). */
  async view(row: DeploymentRow): Promise<DeploymentView> {
    const space = await this.spaceOf(row);
    const model = await this.repos.models.get(row.target.modelId);
    const modelName = model?.name ?? row.target.modelId;
    const canary = row.target.canary;
    return {
      id: row.id,
      name: row.name,
      space: space.name,
      description: row.description,
      kind: row.kind,
      model: modelName,
      target: {
        model: referenceOf(modelName, row.target.primary),
        ...(canary && { canary: { reference: referenceOf(modelName, canary.selector), percent: canary.percent } }),
      },
      authMode: row.authMode,
      runtime: row.runtime,
      status: row.status,
      reason: row.reason,
      ...(this.router.has(row.id) && { traffic: this.router.stats(row.id) }),
      endpoints: row.kind === 'batch' ? this.batchEndpoints() : this.endpoints(row),
      revision: row.revision,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  }

  // -- serving ---------------------------------------------------------------------------------

  /** Endpoint URLs for every protocol (paths, relative to the server's base URL). */
  endpoints(deployment: Pick<DeploymentRow, 'id' | 'name'>): DeploymentEndpoint[] {
    const id = encodeURIComponent(deployment.id);
    const name = encodeURIComponent(deployment.name);
    return [
      { protocol: 'watson-ml', method: 'POST', url: `/ml/v4/deployments/${id}/predictions` },
      { protocol: 'open-inference-v2', method: 'POST', url: `/v2/models/${name}/infer` },
      { protocol: 'records', method: 'POST', url: `/models/${name}/predict` },
      { protocol: 'mlflow', method: 'POST', url: `/models/${name}/invocations` },
    ];
  }

  /** A batch deployment is used through jobs. */
  batchEndpoints(): DeploymentEndpoint[] {
    return [
      { protocol: 'batch-jobs', method: 'POST', url: '/api/v1/jobs' },
      { protocol: 'watson-ml-jobs', method: 'POST', url: '/ml/v4/deployment_jobs' },
    ];
  }

  /** Which version serves the deployment's next request (counted); MODEL_UNAVAILABLE until it is ready. */
  pick(deploymentId: string): TrafficPick {
    return this.router.pick(deploymentId);
  }

  /** Per-version request counts since the deployment's split was last loaded. */
  stats(deploymentId: string): TrafficStats {
    return this.router.stats(deploymentId);
  }

  // -- internals -------------------------------------------------------------------------------

  private missing(id: string): PlinthError {
    return new PlinthError('NOT_FOUND', `deployment '${printable(id)}' does not exist`);
  }

  private async spaceOf(row: DeploymentRow): Promise<SpaceRow> {
    const space = await this.repos.spaces.get(row.spaceId);
    if (!space) throw new PlinthError('NOT_FOUND', `the space of deployment '${printable(row.name)}' no longer exists`);
    return space;
  }

  /** Validates the target input and checks its references resolve in the space now. */
  private async checkTarget(space: SpaceRow, input: DeploymentTargetInput): Promise<DeploymentTarget> {
    if (input === null || typeof input !== 'object') throw invalidInput("target must be an object with a model reference, e.g. { model: 'iris@production' }");
    const primary = parseField(input.model, 'target.model');
    let canary: { ref: ModelReference; percent: number } | undefined;
    if (input.canary !== undefined) canary = this.checkCanary(primary.name, input.canary, 'target.canary');
    const resolved = await this.registry.resolve(space.name, formatModelUri(primary));
    const target: DeploymentTarget = { modelId: resolved.model.id, primary: selectorOf(primary) };
    if (canary) {
      await this.registry.resolve(space.name, formatModelUri(canary.ref));
      target.canary = { selector: selectorOf(canary.ref), percent: canary.percent };
    }
    return target;
  }

  private checkCanary(modelName: string, input: CanaryInput, field: string): { ref: ModelReference; percent: number } {
    if (input === null || typeof input !== 'object') throw invalidInput(`${field} must be an object with a reference and a percent`);
    const ref = parseField(input.reference, `${field}.reference`);
    if (ref.name !== modelName) {
      throw invalidInput(
        `${field}.reference names model '${printable(ref.name)}', but a canary is another version of the deployment's model '${printable(modelName)}'`,
      );
    }
    return { ref, percent: checkPercent(input.percent, `${field}.percent`) };
  }

  private async withCanary(space: SpaceRow, current: DeploymentTarget, input: CanaryInput | null): Promise<DeploymentTarget> {
    const { canary: _dropped, ...rest } = current;
    if (input === null) return rest;
    const model = await this.repos.models.get(current.modelId);
    if (!model) throw new PlinthError('MODEL_NOT_FOUND', 'the deployment\'s model no longer exists');
    const canary = this.checkCanary(model.name, input, 'canary');
    await this.registry.resolve(space.name, formatModelUri(canary.ref));
    return { ...rest, canary: { selector: selectorOf(canary.ref), percent: canary.percent } };
  }

  /** Resolves the stored selectors to the versions they point at now. */
  private async resolveTarget(row: DeploymentRow): Promise<ResolvedDeploymentVersions> {
    const space = await this.spaceOf(row);
    const model = await this.repos.models.get(row.target.modelId);
    if (!model) throw new PlinthError('MODEL_NOT_FOUND', 'the deployment\'s model no longer exists');
    const primary = await this.registry.resolve(space.name, referenceOf(model.name, row.target.primary));
    const canary = row.target.canary;
    if (!canary) return { primary };
    const version = await this.registry.resolve(space.name, referenceOf(model.name, canary.selector));
    return { primary, canary: { version, percent: canary.percent } };
  }

  /** Marks the row `initializing`, runs the loader, records the outcome; resolves to the row after it. */
  private startLoad(row: DeploymentRow): Promise<DeploymentRow | undefined> {
    const generation = ++this.generation;
    // Registered before load() runs, so its isLatest() checks see this generation.
    const entry: { generation: number; settled: Promise<DeploymentRow | undefined> } = { generation, settled: Promise.resolve(undefined) };
    this.loads.set(row.id, entry);
    entry.settled = this.load(row, generation);
    return entry.settled;
  }

  private async load(row: DeploymentRow, generation: number): Promise<DeploymentRow | undefined> {
    const isLatest = () => this.loads.get(row.id)?.generation === generation;
    const record = async (status: DeploymentStatus, reason: string | null = null) => {
      if (!isLatest()) return undefined;
      try {
        return await this.repos.deployments.setStatus(row.id, status, reason);
      } catch (err) {
        if (err instanceof PlinthError && err.code === 'NOT_FOUND') return undefined; // deleted meanwhile
        throw err;
      }
    };
    if (row.status !== 'initializing') await record('initializing');
    let timer: NodeJS.Timeout | undefined;
    try {
      const versions = await this.resolveTarget(row);
      // A batch deployment loads no session (each job loads its own): ready once its target resolves.
      if (row.kind === 'batch') return await record('ready');
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`loading did not finish within ${this.loadTimeoutMs} ms`)), this.loadTimeoutMs);
      });
      await Promise.race([this.loader(row, versions), timeout]);
      if (!isLatest()) return undefined;
      this.router.configure(row.id, {
        primary: { version: versions.primary.version.version },
        ...(versions.canary && { canary: { version: versions.canary.version.version.version, percent: versions.canary.percent } }),
      });
      return await record('ready');
    } catch (err) {
      return await record('failed', loadFailureReason(err, REASON_MAX));
    } finally {
      clearTimeout(timer);
    }
  }
}
