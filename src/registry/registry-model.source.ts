import type { ModelSourcePort, ModelSourceScan, ModelVersionRow } from '../storage/ports.js';
import { pages } from './pages.js';
import type { ArtifactCache } from './artifact-cache.js';
import type { ModelRegistryService } from './model-registry.service.js';

/** A model from the `--models` folder that the registry refused, kept visible with the reason. */
export interface RefusedImport {
  name: string;
  version: string;
  reason: string;
}

const PAGE = 1000;


/**
 * The models of one registry space (the default one) as the ModelManager's source, so every
 * protocol serves registry models by name. Files come through the ArtifactCache. Each scan first
 * runs `mirror` (the `--models` folder import), so a version dropped into the folder is served
 * after a repository load. What the import refused is reported: a model with no version in the
 * registry by that version number is listed with it, and its load fails with the reason
 * (UNAVAILABLE, as a broken file in a plain folder would be); when the number is taken, the
 * refusal is reported as a failed reload while the registry's version keeps serving.
 */
export class RegistryModelSource implements ModelSourcePort {
  readonly location: string;
  /** Refused versions of models the registry does not hold, listed in their place. */
  private placeholders: RefusedImport[] = [];
  private lastRefused: RefusedImport[] = [];

  constructor(
    private readonly registry: ModelRegistryService,
    private readonly cache: ArtifactCache,
    private readonly space: string,
    private readonly mirror: () => Promise<RefusedImport[]>,
  ) {
    this.location = `registry space '${space}'`;
  }

  async scan(options: { sync?: boolean } = {}): Promise<ModelSourceScan> {
    // Without the import, what it refused last time stays reported.
    const refused = options.sync === false ? this.lastRefused : (this.lastRefused = await this.mirror());
    const result: ModelSourceScan = { models: [], skipped: [], refused: [] };
    for await (const model of pages((cursor) => this.registry.listModels(this.space, { limit: PAGE, cursor }))) {
      const versions: string[] = [];
      for await (const v of pages((cursor) => this.registry.listVersions(this.space, model.name, { limit: PAGE, cursor }))) {
        if (v.status === 'ready') versions.push(String(v.version));
      }
      if (versions.length) result.models.push({ name: model.name, versions });
    }
    const placeholders: RefusedImport[] = [];
    // A refused version takes its folder number when the registry has no version by that number.
    for (const r of refused) {
      const listed = result.models.find((m) => m.name === r.name);
      if (listed?.versions.includes(r.version)) {
        result.refused!.push(r);
        continue;
      }
      placeholders.push(r);
      if (listed) listed.versions.push(r.version);
      else result.models.push({ name: r.name, versions: [r.version] });
    }
    this.placeholders = placeholders;
    result.models.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return result;
  }

  private async version(name: string, version: string): Promise<ModelVersionRow> {
    const refused = this.placeholders.find((r) => r.name === name && r.version === version);
    if (refused) throw new Error(refused.reason);
    return this.registry.getVersion(this.space, name, Number(version));
  }

  async modelFile(name: string, version: string): Promise<string> {
    return this.cache.modelFile(await this.version(name, version));
  }

  async modelDigest(name: string, version: string): Promise<string | undefined> {
    return (await this.version(name, version)).sha256;
  }

  async readManifest(name: string, version: string): Promise<string | undefined> {
    const row = await this.version(name, version);
    // The stored manifest is JSON, and JSON is YAML: the manager parses it as it parses model.yaml.
    return row.manifest === null ? undefined : JSON.stringify(row.manifest);
  }
}
