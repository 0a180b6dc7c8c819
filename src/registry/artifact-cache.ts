import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ModelVersionRow } from '../storage/ports.js';
import type { ModelRegistryService } from './model-registry.service.js';

const COMPLETE = '.complete';

/**
 * The serving side's local copy of registry versions: each version's bundle is written once
 * into `<dir>/<digest of its blob key>/` with its original file names, so ONNX Runtime can load
 * model.onnx by path and find external data files beside it. The blob store stays the source of
 * truth (S3 with many replicas: each replica fills its own cache). A copy is built in a temporary
 * folder and renamed into place, so a crash never leaves a half-written copy that looks complete.
 */
export class ArtifactCache {
  private readonly building = new Map<string, Promise<string>>();

  private readonly dir: string;

  constructor(
    private readonly registry: ModelRegistryService,
    dir: string,
  ) {
    this.dir = resolve(dir);
  }

  /** The local path of the version's model.onnx, copying the bundle first if needed. */
  modelFile(version: ModelVersionRow): Promise<string> {
    const key = createHash('sha256').update(version.blobKey).digest('hex').slice(0, 32);
    const target = join(this.dir, key);
    let pending = this.building.get(key);
    if (!pending) {
      pending = this.materialize(version, target).finally(() => this.building.delete(key));
      this.building.set(key, pending);
    }
    return pending;
  }

  private async materialize(version: ModelVersionRow, target: string): Promise<string> {
    const modelFile = join(target, 'model.onnx');
    if (await stat(join(target, COMPLETE)).then(() => true, () => false)) return modelFile;
    await mkdir(this.dir, { recursive: true });
    const staging = await mkdtemp(join(this.dir, '.tmp-'));
    try {
      for (const file of await this.registry.listArtifacts(version)) {
        // Paths were checked at intake; check again that none leaves the folder.
        const path = resolve(staging, ...file.path.split('/'));
        if (!path.startsWith(staging + sep)) throw new Error(`artifact path '${file.path}' leaves the model folder`);
        await mkdir(dirname(path), { recursive: true });
        await pipeline(await this.registry.openArtifact(version, file.path), createWriteStream(path));
      }
      await writeFile(join(staging, COMPLETE), '');
      await rm(target, { recursive: true, force: true });
      await rename(staging, target);
    } catch (err) {
      await rm(staging, { recursive: true, force: true });
      throw err;
    }
    return modelFile;
  }
}
