import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isValidModelName } from '../core/model-name.js';
import type { ModelSourcePort, ModelSourceScan } from './ports.js';

export interface Located {
  /** model.onnx, or `<name>.onnx` for a single-file model. */
  model: string;
  /** model.yaml, or the `<name>.yaml` sidecar. */
  manifest?: string;
  /** true for the `<name>/<version>/` layout, whose folder may hold other artifacts. */
  inFolder: boolean;
}

const VERSION = /^[0-9]{1,9}$/;

async function exists(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

/**
 * A model repository folder: `<name>.onnx` (version 1, optional `<name>.yaml` beside it) or
 * `<name>/<version>/model.onnx` with an optional `model.yaml`. Paths come only from directory
 * listings, never from a caller's string, so no request can reach outside the folder.
 */
export class ModelFolderSource implements ModelSourcePort {
  readonly location: string;
  private located = new Map<string, Located>();

  constructor(root: string) {
    this.location = resolve(root);
  }

  async scan(): Promise<ModelSourceScan> {
    const located = new Map<string, Located>();
    const result: ModelSourceScan = { models: [], skipped: [] };
    const entries = await readdir(this.location, { withFileTypes: true });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.')) continue;
      const path = join(this.location, entry.name);
      if (entry.isFile() && entry.name.endsWith('.onnx')) {
        const name = entry.name.slice(0, -'.onnx'.length);
        if (!this.accept(name, entry.name, result)) continue;
        const sidecar = join(this.location, `${name}.yaml`);
        located.set(`${name}/1`, { model: path, manifest: (await exists(sidecar)) ? sidecar : undefined, inFolder: false });
        result.models.push({ name, versions: ['1'] });
      } else if (entry.isDirectory()) {
        if (!this.accept(entry.name, entry.name, result)) continue;
        const versions: string[] = [];
        for (const v of await readdir(path, { withFileTypes: true })) {
          if (!v.isDirectory() || !VERSION.test(v.name)) continue;
          const model = join(path, v.name, 'model.onnx');
          if (!(await exists(model))) {
            result.skipped.push({ entry: `${entry.name}/${v.name}`, reason: 'no model.onnx in the version folder' });
            continue;
          }
          const manifest = join(path, v.name, 'model.yaml');
          const version = String(Number(v.name));
          located.set(`${entry.name}/${version}`, { model, manifest: (await exists(manifest)) ? manifest : undefined, inFolder: true });
          versions.push(version);
        }
        if (versions.length === 0) {
          result.skipped.push({ entry: entry.name, reason: 'no numbered version folder holding model.onnx' });
          continue;
        }
        result.models.push({ name: entry.name, versions: versions.sort((a, b) => Number(a) - Number(b)) });
      }
    }
    this.located = located;
    return result;
  }

  private accept(name: string, entry: string, result: ModelSourceScan): boolean {
    const reason = !isValidModelName(name)
      ? 'not a valid model name'
      : result.models.some((m) => m.name === name)
        ? `another entry already serves the name '${name}'`
        : undefined;
    if (reason) result.skipped.push({ entry, reason });
    return reason === undefined;
  }

  /** The files of a version found by the last scan (for importing it into the registry). */
  find(name: string, version: string): Located {
    const found = this.located.get(`${name}/${version}`);
    if (!found) throw new Error(`model '${name}' version ${version} is not in the repository`);
    return found;
  }

  async modelFile(name: string, version: string): Promise<string> {
    return this.find(name, version).model;
  }

  async readManifest(name: string, version: string): Promise<string | undefined> {
    const { manifest } = this.find(name, version);
    return manifest ? readFile(manifest, 'utf8') : undefined;
  }
}
