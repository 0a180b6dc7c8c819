import { loadFailureReason, modelNotFound, modelUnavailable, PlinthError, versionNotFound } from '../core/errors.js';
import { parseManifest } from '../core/manifest.js';
import type { ModelSourcePort, ModelSourceScan } from '../storage/ports.js';
import type { LazyModel } from './lazy-model.js';
import type { ReadyModel, RuntimeOptions } from './model-runtime.js';
import type { SessionBudget } from './session-budget.js';
import { openModelVersion, type RuntimeLoader } from './version-loader.js';

export type { RuntimeLoader };

export type { ReadyModel };

export type VersionState =
  | { state: 'READY'; model: LazyModel }
  | { state: 'LOADING' }
  | { state: 'UNAVAILABLE'; reason: string }
  | { state: 'UNLOADED' };

export interface VersionStatus {
  version: string;
  state: VersionState['state'];
  /** For READY: false while the memory budget has evicted its session (the next request reloads it). */
  loaded?: boolean;
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
    private readonly budget: SessionBudget,
  ) {}

  get location(): string {
    return this.source.location;
  }

  /** The model file of every READY version (loaded, or evicted by the budget and reloaded from it on demand). */
  *modelFiles(): Iterable<string> {
    for (const versions of this.models.values()) {
      for (const state of versions.values()) if (state.state === 'READY' && state.model.source) yield state.model.source.file;
    }
  }

  /** Rescans the source and loads every model it holds that is not loaded yet. */
  async loadAll(): Promise<void> {
    const names = await this.rescan();
    for (const name of names) {
      // One model's refused reload must not stop the others from loading.
      await this.loadScanned(name).catch((err: unknown) => this.log.warn({ model: name, reason: loadFailureReason(err) }, 'model reload refused'));
    }
  }

  /** Rescans and reports every model in the source with its state (V2 repository index). */
  async index(): Promise<ModelStatus[]> {
    const names = await this.rescan();
    for (const name of names) if (!this.models.has(name)) this.models.set(name, new Map());
    return this.list();
  }

  /** Versions the last scan could not take, for models that have others. */
  private refused: NonNullable<ModelSourceScan['refused']> = [];

  private async rescan(sync = true): Promise<string[]> {
    const scan = await this.source.scan({ sync });
    for (const s of scan.skipped) this.log.warn(s, 'model repository entry skipped');
    this.scanned = new Map(scan.models.map((m) => [m.name, m.versions]));
    this.refused = scan.refused ?? [];
    return scan.models.map((m) => m.name);
  }

  /** Loads (or reloads) every version of one model. */
  async load(name: string): Promise<ModelStatus> {
    await this.rescan(); // picks up what changed in the source (a file dropped into --models)
    return this.loadScanned(name);
  }

  private async loadScanned(name: string): Promise<ModelStatus> {
    const versions = this.scanned.get(name);
    if (!versions) throw modelNotFound(name);
    const states = this.models.get(name) ?? new Map<string, VersionState>();
    this.models.set(name, states);
    for (const [version, state] of [...states]) {
      if (versions.includes(version)) continue;
      states.delete(version);
      if (state.state === 'READY') await state.model.close();
    }
    // A version already serving keeps serving until its replacement has loaded, and goes on
    // serving if the replacement fails; the failure is reported to the caller.
    const failedReloads = this.refused.filter((r) => r.name === name).map((r) => `version ${r.version}: ${r.reason}`);
    for (const version of versions) {
      const old = states.get(version);
      if (old?.state !== 'READY') states.set(version, { state: 'LOADING' });
      const next = await this.loadVersion(name, version);
      if (old?.state === 'READY' && next.state === 'UNAVAILABLE') {
        failedReloads.push(`version ${version}: ${next.reason}`);
        continue;
      }
      states.set(version, next);
      if (old?.state === 'READY') await old.model.close();
    }
    if (failedReloads.length) {
      throw new PlinthError('LOAD_FAILED', `model '${name}' could not be reloaded (${failedReloads.join('; ')}); the previously loaded model keeps serving`);
    }
    return this.status(name);
  }

  /**
   * Loads the versions the source has that are not loaded yet and forgets the ones it no longer
   * has, leaving every loaded version alone (after an upload or a deleted version).
   */
  async refresh(name: string): Promise<void> {
    // No folder import here: a model just deleted through the API must not come straight back.
    await this.rescan(false);
    const versions = this.scanned.get(name) ?? [];
    const states = this.models.get(name) ?? new Map<string, VersionState>();
    for (const [version, state] of [...states]) {
      if (versions.includes(version)) continue;
      states.delete(version);
      if (state.state === 'READY') await state.model.close();
    }
    if (versions.length === 0) {
      this.models.delete(name);
      return;
    }
    this.models.set(name, states);
    for (const version of versions) {
      if (states.get(version)?.state === 'READY') continue;
      states.set(version, { state: 'LOADING' });
      states.set(version, await this.loadVersion(name, version));
    }
  }

  private async loadVersion(name: string, version: string): Promise<VersionState> {
    try {
      const file = await this.source.modelFile(name, version);
      const manifestText = await this.source.readManifest(name, version);
      const manifest = manifestText === undefined ? {} : parseManifest(manifestText);
      const digest = await this.source.modelDigest?.(name, version);
      const model = await openModelVersion({ name, version, file, manifest, options: this.options, ...(digest && { digest }) }, this.loadRuntime, this.budget, `model ${name} ${version}`);
      this.log.info({ model: name, version }, 'model loaded');
      return { state: 'READY', model };
    } catch (err) {
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
      if (state.state === 'READY') await state.model.close();
    }
  }

  async close(): Promise<void> {
    for (const name of this.models.keys()) await this.unload(name);
  }

  /** Whether the manager knows the model (loaded, loading, failed or unloaded). */
  has(name: string): boolean {
    return this.models.has(name);
  }

  list(): ModelStatus[] {
    return [...this.models.keys()].sort().map((name) => this.status(name));
  }

  status(name: string): ModelStatus {
    const versions = this.models.get(name);
    if (!versions) throw modelNotFound(name);
    return {
      name,
      versions: byVersion(versions).map(([version, s]) => ({
        version,
        state: s.state,
        ...(s.state === 'READY' && { loaded: s.model.loaded }),
        ...(s.state === 'UNAVAILABLE' && { reason: s.reason }),
      })),
    };
  }

  /** Every READY version of a model, oldest first (loaded or evicted). */
  readyVersions(name: string): LazyModel[] {
    const versions = this.models.get(name);
    if (!versions) throw modelNotFound(name);
    return byVersion(versions).flatMap(([, s]) => (s.state === 'READY' ? [s.model] : []));
  }

  /** A ready version, or the newest ready one when no version is given; reloads it if evicted. */
  acquire(name: string, version?: string): ReadyModel | Promise<ReadyModel> {
    return this.pick(name, version).acquire();
  }

  /** The version that would serve, without loading it. */
  pick(name: string, version?: string): LazyModel {
    const versions = this.models.get(name);
    if (!versions) throw modelNotFound(name);
    if (version !== undefined) {
      const state = versions.get(version);
      if (!state) throw versionNotFound(name, version);
      if (state.state === 'READY') return state.model;
      throw modelUnavailable(name, version, state.state === 'UNAVAILABLE' ? state.reason : state.state === 'LOADING' ? 'still loading' : 'unloaded');
    }
    // The hot path: one pass for the newest ready version, no sorting or copying.
    let newest: LazyModel | undefined;
    for (const [v, s] of versions) {
      if (s.state === 'READY' && (!newest || Number(v) > Number(newest.version))) newest = s.model;
    }
    if (newest) return newest;
    const [latest, state] = byVersion(versions).at(-1) ?? ['1', { state: 'UNLOADED' } as VersionState];
    throw modelUnavailable(name, latest, state.state === 'UNAVAILABLE' ? state.reason : 'not loaded');
  }
}
