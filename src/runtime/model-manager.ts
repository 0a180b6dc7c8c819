import { loadFailureReason, modelNotFound, modelUnavailable, PlinthError, versionNotFound } from '../core/errors.js';
import { parseManifest } from '../core/manifest.js';
import { describeModel, type ModelSchema } from '../core/model-schema.js';
import type { ModelSourcePort } from '../storage/ports.js';
import type { ModelRuntime, RuntimeOptions } from './model-runtime.js';

export type RuntimeLoader = (bytes: Uint8Array, options: RuntimeOptions) => Promise<ModelRuntime>;

export interface ReadyModel {
  name: string;
  version: string;
  runtime: ModelRuntime;
  schema: ModelSchema;
}

export type VersionState =
  | { state: 'READY'; model: ReadyModel }
  | { state: 'LOADING' }
  | { state: 'UNAVAILABLE'; reason: string }
  | { state: 'UNLOADED' };

export interface VersionStatus {
  version: string;
  state: VersionState['state'];
  reason?: string;
}

export interface ModelStatus {
  name: string;
  versions: VersionStatus[];
}

interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}


const byVersion = (versions: Map<string, VersionState>) => [...versions].sort(([a], [b]) => Number(a) - Number(b));

/**
 * The loaded models: loads every version found in the source, keeps a model that fails to
 * load as UNAVAILABLE with its reason while all the others serve, and loads / unloads on request.
 */
export class ModelManager {
  private readonly models = new Map<string, Map<string, VersionState>>();
  /** What the last scan of the source found: name -> versions. */
  private scanned = new Map<string, string[]>();

  constructor(
    private readonly source: ModelSourcePort,
    private readonly loadRuntime: RuntimeLoader,
    private readonly options: RuntimeOptions,
    private readonly log: Logger,
  ) {}

  get location(): string {
    return this.source.location;
  }

  /** Rescans the source and loads every model it holds that is not loaded yet. */
  async loadAll(): Promise<void> {
    const names = await this.rescan();
    for (const name of names) await this.load(name);
  }

  /** Rescans and reports every model in the source with its state (V2 repository index). */
  async index(): Promise<ModelStatus[]> {
    const names = await this.rescan();
    for (const name of names) if (!this.models.has(name)) this.models.set(name, new Map());
    return this.list();
  }

  private async rescan(): Promise<string[]> {
    const scan = await this.source.scan();
    for (const s of scan.skipped) this.log.warn(s, 'model repository entry skipped');
    this.scanned = new Map(scan.models.map((m) => [m.name, m.versions]));
    return scan.models.map((m) => m.name);
  }

  /** Loads (or reloads) every version of one model. */
  async load(name: string): Promise<ModelStatus> {
    if (!this.scanned.has(name)) await this.rescan();
    const versions = this.scanned.get(name);
    if (!versions) throw modelNotFound(name);
    const states = this.models.get(name) ?? new Map<string, VersionState>();
    this.models.set(name, states);
    for (const [version, state] of [...states]) {
      if (versions.includes(version)) continue;
      states.delete(version);
      if (state.state === 'READY') await state.model.runtime.dispose();
    }
    // A version already serving keeps serving until its replacement has loaded, and goes on
    // serving if the replacement fails; the failure is reported to the caller.
    const failedReloads: string[] = [];
    for (const version of versions) {
      const old = states.get(version);
      if (old?.state !== 'READY') states.set(version, { state: 'LOADING' });
      const next = await this.loadVersion(name, version);
      if (old?.state === 'READY' && next.state === 'UNAVAILABLE') {
        failedReloads.push(`version ${version}: ${next.reason}`);
        continue;
      }
      states.set(version, next);
      if (old?.state === 'READY') await old.model.runtime.dispose();
    }
    if (failedReloads.length) {
      throw new PlinthError('LOAD_FAILED', `model '${name}' could not be reloaded (${failedReloads.join('; ')}); the previously loaded model keeps serving`);
    }
    return this.status(name);
  }

  private async loadVersion(name: string, version: string): Promise<VersionState> {
    let runtime: ModelRuntime | undefined;
    try {
      const bytes = await this.source.readModel(name, version);
      const manifestText = await this.source.readManifest(name, version);
      const manifest = manifestText === undefined ? {} : parseManifest(manifestText);
      runtime = await this.loadRuntime(bytes, this.options);
      const schema = describeModel(runtime.signature, runtime.graphLabels, manifest);
      this.log.info({ model: name, version }, 'model loaded');
      return { state: 'READY', model: { name, version, runtime, schema } };
    } catch (err) {
      await runtime?.dispose();
      const reason = loadFailureReason(err);
      this.log.warn({ model: name, version, reason }, 'model failed to load');
      return { state: 'UNAVAILABLE', reason };
    }
  }

  async unload(name: string): Promise<void> {
    const versions = this.models.get(name);
    if (!versions) throw modelNotFound(name);
    for (const [version, state] of versions) {
      versions.set(version, { state: 'UNLOADED' });
      if (state.state === 'READY') await state.model.runtime.dispose();
    }
  }

  async close(): Promise<void> {
    for (const name of this.models.keys()) await this.unload(name);
  }

  list(): ModelStatus[] {
    return [...this.models.keys()].sort().map((name) => this.status(name));
  }

  status(name: string): ModelStatus {
    const versions = this.models.get(name);
    if (!versions) throw modelNotFound(name);
    return {
      name,
      versions: byVersion(versions).map(([version, s]) => ({ version, state: s.state, ...(s.state === 'UNAVAILABLE' ? { reason: s.reason } : {}) })),
    };
  }

  /** Every READY version of a model, oldest first. */
  readyVersions(name: string): ReadyModel[] {
    const versions = this.models.get(name);
    if (!versions) throw modelNotFound(name);
    return byVersion(versions).flatMap(([, s]) => (s.state === 'READY' ? [s.model] : []));
  }

  /** A ready version, or the newest ready one when no version is given. */
  get(name: string, version?: string): ReadyModel {
    const versions = this.models.get(name);
    if (!versions) throw modelNotFound(name);
    if (version !== undefined) {
      const state = versions.get(version);
      if (!state) throw versionNotFound(name, version);
      if (state.state === 'READY') return state.model;
      throw modelUnavailable(name, version, state.state === 'UNAVAILABLE' ? state.reason : state.state === 'LOADING' ? 'still loading' : 'unloaded');
    }
    // The hot path: one pass for the newest ready version, no sorting or copying.
    let newest: ReadyModel | undefined;
    for (const [v, s] of versions) {
      if (s.state === 'READY' && (!newest || Number(v) > Number(newest.version))) newest = s.model;
    }
    if (newest) return newest;
    const [latest, state] = byVersion(versions).at(-1) ?? ['1', { state: 'UNLOADED' } as VersionState];
    throw modelUnavailable(name, latest, state.state === 'UNAVAILABLE' ? state.reason : 'not loaded');
  }
}
