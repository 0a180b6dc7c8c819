import type { Manifest } from '../core/manifest.js';
import { PlinthError, printable, versionNotFound } from '../core/errors.js';
import type { ServedDeployment, ServedDeployments, VersionSelector } from '../inference/inference.types.js';
import type { LazyModel } from '../runtime/lazy-model.js';
import type { OpenVersion } from '../runtime/version-loader.js';
import type { ExecutionOverrides } from '../runtime/execution-settings.js';
import type { DeploymentRow } from '../storage/ports.js';
import type { CanaryRouter } from './canary-router.js';
import type { ArtifactCache } from './artifact-cache.js';
import type { ResolvedDeploymentVersions } from './deployment.service.js';
import type { ResolvedVersion } from './registry.types.js';

/** A deployment's runtime settings for where it runs (they win over the manifest's instance_group). */
function executionOf(runtime: DeploymentRow['runtime']): ExecutionOverrides {
  return {
    ...(runtime.execution !== undefined && { execution: runtime.execution }),
    ...(runtime.instances !== undefined && { instances: runtime.instances }),
    ...(runtime.maxQueueSize !== undefined && { maxQueueSize: runtime.maxQueueSize }),
    ...(runtime.queueTimeoutMs !== undefined && { queueTimeoutMs: runtime.queueTimeoutMs }),
  };
}

/** Loads a session for a version (the app's openModelVersion with its runtime and budget). */
export type VersionOpener = (spec: OpenVersion, label: string) => Promise<LazyModel>;

interface Slot {
  /** Registry version row id + runtime settings: equal keys share a session across reloads. */
  key: string;
  model: LazyModel;
}

class Served implements ServedDeployment {
  constructor(
    readonly id: string,
    readonly name: string,
    readonly spaceId: string,
    public authMode: DeploymentRow['authMode'],
    readonly primary: Slot,
    readonly canary: Slot | undefined,
    private readonly router: CanaryRouter,
  ) {}

  choose(selector: VersionSelector, count: boolean): LazyModel {
    if (selector !== undefined && selector !== 'latest') {
      const wanted = /^[0-9]{1,9}$/.test(selector) ? String(Number(selector)) : selector;
      if (this.primary.model.version === wanted) return this.primary.model;
      if (this.canary?.model.version === wanted) return this.canary.model;
      throw versionNotFound(this.name, printable(selector, 20));
    }
    if (!this.canary) return this.primary.model;
    if (!count) return this.primary.model;
    return this.router.pick(this.id).side === 'canary' ? this.canary.model : this.primary.model;
  }

  versions(): string[] {
    return [this.primary.model.version, ...(this.canary ? [this.canary.model.version] : [])];
  }

  slots(): Slot[] {
    return [this.primary, ...(this.canary ? [this.canary] : [])];
  }
}

/**
 * The serving half of online deployments: the sessions each deployment serves, found by the
 * deployment's id or name. Its `load` is the DeploymentService's loader: it loads the new
 * versions first, then switches the deployment over in one synchronous step, then closes the
 * sessions no longer used (after their runs in flight), so requests never see a gap.
 */
export class DeploymentPool implements ServedDeployments {
  private readonly byId = new Map<string, Served>();
  private readonly byName = new Map<string, Set<string>>();

  constructor(
    private readonly cache: ArtifactCache,
    private readonly open: VersionOpener,
    private readonly router: CanaryRouter,
    private readonly defaultThreads: number,
  ) {}

  find(nameOrId: string): ServedDeployment | undefined {
    const byId = this.byId.get(nameOrId);
    if (byId) return byId;
    const ids = this.byName.get(nameOrId);
    if (!ids) return undefined;
    if (ids.size > 1) {
      throw new PlinthError('CONFLICT', `${ids.size} deployments in different spaces are named '${printable(nameOrId)}': name the deployment by its id (${[...ids].join(', ')})`);
    }
    return this.byId.get(ids.values().next().value!);
  }

  /** Who may call a served deployment: its space and whether it is public (undefined when not served). */
  accessOf(nameOrId: string): { spaceId: string; public: boolean } | undefined {
    const served = this.find(nameOrId) as Served | undefined;
    return served && { spaceId: served.spaceId, public: served.authMode === 'public' };
  }

  /** Keeps a served deployment's auth mode current after an update that loads nothing. */
  readonly updated = (row: DeploymentRow): void => {
    const served = this.byId.get(row.id);
    if (served) served.authMode = row.authMode;
  };

  readonly load = async (row: DeploymentRow, versions: ResolvedDeploymentVersions): Promise<void> => {
    const old = this.byId.get(row.id);
    const reusable = new Map((old?.slots() ?? []).map((s) => [s.key, s]));
    const opened: Slot[] = [];
    const slotFor = async (resolved: ResolvedVersion): Promise<Slot> => {
      const key = `${resolved.version.id}:${JSON.stringify(row.runtime)}`;
      const existing = reusable.get(key) ?? opened.find((s) => s.key === key);
      if (existing) return existing;
      const slot = { key, model: await this.openVersion(row, resolved) };
      opened.push(slot);
      return slot;
    };
    let next: Served;
    try {
      const primary = await slotFor(versions.primary);
      const canary = versions.canary ? await slotFor(versions.canary.version) : undefined;
      next = new Served(row.id, row.name, row.spaceId, row.authMode, primary, canary, this.router);
    } catch (err) {
      for (const slot of opened) await slot.model.close();
      throw err;
    }
    // The switch: one synchronous step, so each request sees either the old versions or the new.
    this.forgetName(row.id);
    this.byId.set(row.id, next);
    this.byName.set(row.name, (this.byName.get(row.name) ?? new Set()).add(row.id));
    this.router.configure(row.id, {
      primary: { version: versions.primary.version.version },
      ...(versions.canary && { canary: { version: versions.canary.version.version.version, percent: versions.canary.percent } }),
    });
    const kept = new Set(next.slots());
    for (const slot of old?.slots() ?? []) if (!kept.has(slot)) await slot.model.close();
  };

  /** The model file of every session the deployments serve (reloaded from it when the budget evicted it). */
  *modelFiles(): Iterable<string> {
    for (const served of this.byId.values()) for (const slot of served.slots()) if (slot.model.source) yield slot.model.source.file;
  }

  /** Stops serving a deployment (deleted) and closes its sessions. */
  async drop(deploymentId: string): Promise<void> {
    const served = this.byId.get(deploymentId);
    if (!served) return;
    this.forgetName(deploymentId);
    this.byId.delete(deploymentId);
    for (const slot of served.slots()) await slot.model.close();
  }

  async close(): Promise<void> {
    for (const id of [...this.byId.keys()]) await this.drop(id);
  }

  private forgetName(id: string): void {
    const name = this.byId.get(id)?.name;
    if (name === undefined) return;
    const ids = this.byName.get(name);
    ids?.delete(id);
    if (ids?.size === 0) this.byName.delete(name);
  }

  private async openVersion(row: DeploymentRow, resolved: ResolvedVersion): Promise<LazyModel> {
    const version = String(resolved.version.version);
    return this.open(
      {
        name: row.name,
        version,
        file: await this.cache.modelFile(resolved.version),
        // Validated against the graph when the version was registered.
        manifest: (resolved.version.manifest ?? {}) as Manifest,
        options: { intraOpThreads: row.runtime.intraOpThreads ?? this.defaultThreads },
        maxBatchSize: row.runtime.maxBatchSize,
        execution: executionOf(row.runtime),
        digest: resolved.version.sha256,
      },
      `deployment ${row.name} (${resolved.model.name} ${version})`,
    );
  }
}
