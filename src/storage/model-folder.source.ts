import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isValidModelName } from '../core/model-name.js';
import type { ModelSourcePort, ModelSourceScan } from './ports.js';

export interface Located {
  /** model.onnx (or an XGBoost model.json), or `<name>.onnx` (`<name>.json`) for a single-file model. */
  model: string;
  /** model.yaml, or the `<name>.yaml` sidecar. */
  manifest?: string;
  /** true for the `<name>/<version>/` layout, whose folder may hold other artifacts. */
  inFolder: boolean;
}

const VERSION = /^[0-9]{1,9}$/;
/** The files a version folder's model may be, in order of preference. */
const MODEL_FILES = ['model.onnx', 'model.json'];

async function exists(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

/**
 * Whether a JSON file is an XGBoost model (Booster.save_model): an object with a `learner`
 * object. XGBoost writes `learner` first and its trees after it, so the key shows within the
 * first bytes; only those are read, so no other JSON in the folder is parsed or taken for a model.
 */
async function isXgboostJson(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const text = head.toString('utf8', 0, bytesRead);
    return /^\s*\{/.test(text) && /"learner"\s*:\s*\{/.test(text);
  } finally {
    await handle.close();
  }
}

/**
 * A model repository folder: `<name>.onnx` (version 1, optional `<name>.yaml` beside it) or
 * `<name>/<version>/model.onnx` with an optional `model.yaml`; an XGBoost JSON model may stand
 * as `<name>.json` or `<name>/<version>/model.json` (the ONNX file wins where both are). Paths come
 * only from directory listings, never from a caller's string, so no request can reach outside
 * the folder.
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
    const entries = (await readdir(this.location, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    // `<name>.json` files last, so that a folder or .onnx file of the same name wins.
    const json = (e: { name: string }) => e.name.endsWith('.json');
    for (const entry of [...entries.filter((e) => !json(e)), ...entries.filter(json)]) {
      if (entry.name.startsWith('.')) continue;
      const path = join(this.location, entry.name);
      const single = entry.isFile() && (entry.name.endsWith('.onnx') || (json(entry) && (await isXgboostJson(path))));
      if (single) {
        const name = entry.name.slice(0, entry.name.lastIndexOf('.'));
        if (!this.accept(name, entry.name, result)) continue;
        const sidecar = join(this.location, `${name}.yaml`);
        located.set(`${name}/1`, { model: path, manifest: (await exists(sidecar)) ? sidecar : undefined, inFolder: false });
        result.models.push({ name, versions: ['1'] });
      } else if (entry.isDirectory()) {
        if (!this.accept(entry.name, entry.name, result)) continue;
        const versions: string[] = [];
        for (const v of await readdir(path, { withFileTypes: true })) {
          if (!v.isDirectory() || !VERSION.test(v.name)) continue;
          let model: string | undefined;
          for (const file of MODEL_FILES) if (!model && (await exists(join(path, v.name, file)))) model = join(path, v.name, file);
          if (!model) {
            result.skipped.push({ entry: `${entry.name}/${v.name}`, reason: 'no model.onnx (or XGBoost model.json) in the version folder' });
            continue;
          }
          const manifest = join(path, v.name, 'model.yaml');
          const version = String(Number(v.name));
          located.set(`${entry.name}/${version}`, { model, manifest: (await exists(manifest)) ? manifest : undefined, inFolder: true });
          versions.push(version);
        }
        if (versions.length === 0) {
          result.skipped.push({ entry: entry.name, reason: 'no numbered version folder holding model.onnx (or model.json)' });
          continue;
        }
        result.models.push({ name: entry.name, versions: versions.sort((a, b) => Number(a) - Number(b)) });
      }
    }
    this.located = located;
    result.models.sort((a, b) => a.name.localeCompare(b.name));
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
